import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, parseRunConfig, runKeys, type MetricEvent, type StoredRun } from '@atomizer/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricsFollower, readQueuePrefix, summarizeMetrics } from './run-data.js';

let dir: string;
let store: LocalStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-run-data-'));
  store = new LocalStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const key = runKeys('r').metrics;
const round = (r: number, loss: number): MetricEvent => ({
  type: 'round',
  time: new Date(Date.UTC(2030, 0, 1, 0, 0, r)).toISOString(),
  round: r,
  loss,
  lr: 1e-3,
  samples: 64,
  atoms: 640,
  wallMs: 1000,
  slowestComputeMs: 900,
  overheadMs: 100,
  aggregateMs: 10,
  samplesPerSecond: 64,
  bytesMoved: 1,
  received: 2,
  slices: 2,
  late: [],
  failed: r === 1 ? [1] : [],
  rejected: [],
  gradNorm: 1,
  workers: ['w'],
});
const lines = (events: MetricEvent[]): string => events.map((e) => `${JSON.stringify(e)}\n`).join('');

describe('MetricsFollower', () => {
  it('reads appended lines only, waits for a partial last line, and starts over when the file is rewritten', async () => {
    const f = new MetricsFollower(store, 'r');
    expect(await f.update()).toBe(false);
    await store.put(key, Buffer.from(lines([round(0, 2), round(1, 1.5)])));
    expect(await f.update()).toBe(true);
    expect(f.events.map((e) => e.type === 'round' && e.loss)).toEqual([2, 1.5]);
    expect(await f.update()).toBe(false);

    // The coordinator rewrites the object with one more line; a half-written line is not read yet.
    const third = JSON.stringify(round(2, 1.2));
    await store.put(key, Buffer.from(lines([round(0, 2), round(1, 1.5)]) + third.slice(0, 20)));
    expect(await f.update()).toBe(false);
    await store.put(key, Buffer.from(`${lines([round(0, 2), round(1, 1.5)])}${third}\n`));
    expect(await f.update()).toBe(true);
    expect(f.events.map((e) => e.type === 'round' && e.loss)).toEqual([2, 1.5, 1.2]);

    // Rewritten with different earlier content (e.g. a resumed run), longer than before: read again from the start.
    await store.put(key, Buffer.from(lines([round(0, 9), round(1, 8), round(2, 7), round(3, 6)])));
    expect(await f.update()).toBe(true);
    expect(f.events.map((e) => e.type === 'round' && e.loss)).toEqual([9, 8, 7, 6]);

    // Shorter: read again from the start.
    await store.put(key, Buffer.from(lines([round(0, 5)])));
    expect(await f.update()).toBe(true);
    expect(f.events.map((e) => e.type === 'round' && e.loss)).toEqual([5]);

    // Deleted: nothing.
    await store.delete(key);
    expect(await f.update()).toBe(true);
    expect(f.events).toEqual([]);
  });
});

describe('summarizeMetrics', () => {
  it('keeps one point per round (a re-run round replaces the earlier one) and lists incidents newest first', () => {
    const m = summarizeMetrics('r', [
      round(0, 2),
      round(1, 1.5),
      round(1, 1.4),
      { type: 'rejected', time: '2030-01-01T00:00:09Z', round: 1, job: 0, reason: 'NaN in update' },
    ]);
    expect(m.rounds.map((r) => [r.round, r.loss])).toEqual([
      [0, 2],
      [1, 1.4],
    ]);
    expect(m.incidents.map((i) => [i.round, i.kind, i.job, i.reason])).toEqual([
      [1, 'rejected', 0, 'NaN in update'],
      [1, 'failed', 1, undefined],
    ]);
  });
});

describe('readQueuePrefix', () => {
  it("reads the run config's queues.prefix from the stored run, and nothing from a run without a readable config", async () => {
    const stored: StoredRun = {
      format: 'atomizer-run/1',
      config: parseRunConfig({ run: 'r', queues: { prefix: 'team-a' } }),
      manifestKey: 'datasets/d/manifest.json',
      model: {},
      modalities: { train: [], val: [], test: [] },
      params: 1,
      created: '2030-01-01T00:00:00Z',
    };
    await store.put(runKeys('r').config, new TextEncoder().encode(JSON.stringify(stored)));
    expect(await readQueuePrefix(store, 'r')).toBe('team-a');
    expect(await readQueuePrefix(store, 'missing')).toBeUndefined();
    await store.put(runKeys('bad').config, new TextEncoder().encode('{'));
    expect(await readQueuePrefix(store, 'bad')).toBeUndefined();
  });
});

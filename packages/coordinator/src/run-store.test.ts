import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, type RunStatus } from '@atomizer/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from './run-store.js';

let dir: string;
let store: LocalStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-runstore-'));
  store = new LocalStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RunStore', () => {
  it('reads what is missing as undefined and round-trips status, metrics and latest.json', async () => {
    const rs = new RunStore(store, 'a');
    expect(await rs.config()).toBeUndefined();
    expect(await rs.status()).toBeUndefined();
    expect(await rs.metrics()).toBeUndefined();
    expect(await rs.latest('advice')).toBeUndefined();
    const status: RunStatus = {
      run: 'a',
      state: 'running',
      round: 2,
      rounds: 5,
      startRound: 1,
      started: '2026-12-04T00:00:00Z',
      updated: '2026-12-04T00:00:01Z',
      mode: 'sync',
      dataset: 'd',
      params: 10,
    };
    await rs.writeStatus(status);
    expect(await rs.status()).toEqual(status);
    await rs.writeMetrics([{ type: 'checkpoint', time: '2026-12-04T00:00:02Z', round: 2, key: 'k' }]);
    expect((await rs.metrics())?.map((e) => e.type)).toEqual(['checkpoint']);
    await rs.writeLatest({ round: 2, key: rs.keys.checkpoint(2, 'state.safetensors'), sha256: 'x', time: 't' });
    expect((await rs.latest('advice'))?.round).toBe(2);
  });

  it('names the key and the store when an object is not what it should be, with the caller advice for latest.json', async () => {
    const rs = new RunStore(store, 'b');
    await store.put(rs.keys.status, new TextEncoder().encode('{not json'));
    await expect(rs.status()).rejects.toThrow(/runs\/b\/status\.json in file:.*: not JSON/);
    await store.put(rs.keys.status, new TextEncoder().encode('{"run":"b"}'));
    await expect(rs.status()).rejects.toThrow(/runs\/b\/status\.json in .*state/);
    await store.put(rs.keys.latestCheckpoint, new TextEncoder().encode('{"round":-1}'));
    await expect(rs.latest('pick one with --checkpoint <round>')).rejects.toThrow(
      /latest\.json is unreadable .*; pick one with --checkpoint <round>$/,
    );
  });

  it('lists checkpoint rounds, deletes folders, and lists the runs that have a config', async () => {
    const rs = new RunStore(store, 'c');
    for (const r of [10, 2, 30]) await store.put(rs.keys.checkpoint(r, 'state.safetensors'), new Uint8Array([1]));
    await store.put(rs.keys.checkpoint(40, 'partial.tmp'), new Uint8Array([1]));
    expect(await rs.checkpointRounds()).toEqual([2, 10, 30]);
    await rs.deletePrefix(rs.keys.checkpointPrefix(10));
    expect(await rs.checkpointRounds()).toEqual([2, 30]);
    await store.put(rs.keys.config, new TextEncoder().encode('{}'));
    await store.put(new RunStore(store, 'aa').keys.config, new TextEncoder().encode('{}'));
    expect(await RunStore.runs(store)).toEqual(['aa', 'c']);
  });
});

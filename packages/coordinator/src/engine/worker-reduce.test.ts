import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '@atomizer/model';
import { FLAT_CHUNK_BYTES, LocalStore, encodeFlat, parseRunConfig, runKeys, type RunConfigInput } from '@atomizer/protocol';
import { SeededRng, dataPath } from '@atomizer/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessExecutor } from './executor.js';
import { OrderedFold } from './ordered-fold.js';
import { RangeReducers } from './range-reducers.js';
import type { AcceptedTrainResult } from './results.js';
import { putAccepted } from './testing/accepted-result.js';
import { train } from './trainer.js';
import { WorkerReduce } from './worker-reduce.js';

// train.reduce: workers. The reduce jobs run through the worker's own job code (the
// in-process executor), against a real folder store: the ranges' means must be the bits
// the coordinator's own fold gives, each reducer reading only the chunks of its range; a
// chunk whose hash no longer matches refuses its result; a range output that does not
// check is refused and its reduce job run again; and a whole run trains to the same weights
// either way.

/** A folder store that counts ranged reads per key and can corrupt the first read of keys it is told. */
class WatchedStore extends LocalStore {
  readonly ranged = new Map<string, number[]>();
  corruptOnce = new Set<string>();
  override async getRange(key: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    const list = this.ranged.get(key) ?? [];
    list.push(end - start);
    this.ranged.set(key, list);
    return super.getRange(key, start, end, into);
  }
  override async get(key: string): Promise<Uint8Array> {
    const bytes = await super.get(key);
    const hit = [...this.corruptOnce].find((k) => key.includes(k));
    if (hit === undefined) return bytes;
    this.corruptOnce.delete(hit);
    const bad = bytes.slice();
    bad[bad.length - 3]! ^= 0x40;
    return bad;
  }
}

let dir: string;
let store: WatchedStore;
beforeAll(async () => {
  await selectBackend('cpu', () => undefined);
  dir = await mkdtemp(join(tmpdir(), 'atomizer-worker-reduce-'));
  store = new WatchedStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
// Three hash chunks and a bit: planWorkerRanges gives 3 ranges for 4 results.
const P = Math.round(2.5 * (FLAT_CHUNK_BYTES / 4));
const JOBS = [0, 1, 2, 3];

function values(job: number): Float32Array {
  const rng = new SeededRng(500 + job);
  // Magnitudes from 1 to 1e3 by job: float64 sums in another order would differ in the last bits.
  return Float32Array.from({ length: P }, () => (rng.next() - 0.5) * 10 ** job);
}

function put(run: string, job: number, update = values(job)): Promise<AcceptedTrainResult> {
  return putAccepted(store, runKeys(run).result(1, job), job, update, { samples: 1 + (job % 3), loss: job / 7 });
}

function workerReduce(run: string, mean: Float32Array, attempts = 3, on: LocalStore = store): WorkerReduce {
  return new WorkerReduce({
    store: on,
    executor: new InProcessExecutor(on),
    keys: runKeys(run),
    run,
    round: 1,
    params: P,
    transport: 'f32',
    mean,
    ranges: 0,
    attempts,
  });
}

async function coordinatorMean(results: AcceptedTrainResult[]): Promise<Float32Array> {
  const reducers = new RangeReducers([{ from: 0, to: P }], P);
  try {
    const fold = new OrderedFold({ store, reducers, round: 1 });
    for (const r of results) fold.offer(r);
    return (await fold.finish(JOBS)).grads.slice();
  } finally {
    await reducers.close();
  }
}

describe('range reducer jobs (train.reduce: workers)', () => {
  it("give the coordinator fold's bits, each reducer reading only the chunks of its range", async () => {
    const results = await Promise.all(JOBS.map((j) => put('bits', j)));
    const want = await coordinatorMean(results);
    store.ranged.clear();
    const mean = new Float32Array(P);
    const wr = workerReduce('bits', mean);
    for (const r of [...results].reverse()) wr.offer(r);
    const got = await wr.finish(JOBS);
    expect(wr.plan?.where).toBe('workers');
    expect(wr.plan?.ranges).toHaveLength(3);
    expect(bits(got.grads).equals(bits(want))).toBe(true);
    expect(got.samples).toBe(1 + 2 + 3 + 1);
    // Every chunk of every result read exactly once over the 3 reducers, one chunk per read: no reducer read a result whole.
    for (const r of results) {
      const reads = store.ranged.get(r.reply.resultKey) ?? [];
      expect(reads).toHaveLength(3);
      expect(reads.reduce((a, b) => a + b, 0)).toBe(r.layout.payloadEnd - r.layout.payloadOffset);
      expect(Math.max(...reads)).toBeLessThanOrEqual(FLAT_CHUNK_BYTES);
    }
    // The coordinator read the ranges' outputs: P values and their headers, not N x P.
    expect(wr.stats.bytesRead).toBeGreaterThan(4 * P);
    expect(wr.stats.bytesRead).toBeLessThan(4 * P + 3 * 4096);
  }, 60_000);

  it('refuse a result whose chunk hash no longer matches; with it sent again, the same bits', async () => {
    const results = await Promise.all(JOBS.map((j) => put('bad-chunk', j)));
    const want = await coordinatorMean(results);
    // Result 2 changed in the store after it was accepted on its header: a value of its second chunk.
    const changed = values(2);
    changed[FLAT_CHUNK_BYTES / 4 + 5] = 42;
    const key = results[2]!.reply.resultKey;
    await store.put(key, encodeFlat({ kind: 'train-result', job: 2, samples: 3, loss: 2 / 7 }, { update: changed }));
    const mean = new Float32Array(P);
    const wr = workerReduce('bad-chunk', mean);
    for (const r of results) wr.offer(r);
    const problems = await wr.settle(JOBS, true);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.job).toBe(2);
    expect(problems[0]!.reason).toMatch(new RegExp(`${key} chunk 1 .*has sha256 [0-9a-f]{64}, the header says`));
    // Never a partial sum: the round cannot finish on what it has.
    await expect(wr.finish(JOBS)).rejects.toThrow(/jobs 2 accepted but never offered/);
    // The slice computed again: offered again, reduced again (a second plan), the coordinator's bits.
    wr.offer(await put('bad-chunk', 2));
    const got = await wr.finish(JOBS);
    expect(bits(got.grads).equals(bits(want))).toBe(true);
    expect(wr.stats.rebuilds).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('run a reducer job that throws again (the store failing once), and keep the bits', async () => {
    const results = await Promise.all(JOBS.map((j) => put('throws', j)));
    const want = await coordinatorMean(results);
    let failures = 0;
    const hiccup = new (class extends LocalStore {
      override async getRange(key: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
        if (failures === 0 && key.endsWith('/000002.bin')) {
          failures++;
          throw new Error('store hiccup');
        }
        return super.getRange(key, start, end, into);
      }
    })(dir);
    const wr = workerReduce('throws', new Float32Array(P), 2, hiccup);
    for (const r of results) wr.offer(r);
    const got = await wr.finish(JOBS);
    expect(failures).toBe(1);
    expect(bits(got.grads).equals(bits(want))).toBe(true);
  }, 60_000);

  it('refuse a range output that does not hash to what its reducer wrote, run that reducer again, and keep the bits', async () => {
    const results = await Promise.all(JOBS.map((j) => put('bad-output', j)));
    const want = await coordinatorMean(results);
    const mean = new Float32Array(P);
    const wr = workerReduce('bad-output', mean);
    for (const r of results) wr.offer(r);
    store.corruptOnce.add('/reduce-g1-range-1.bin');
    const got = await wr.finish(JOBS);
    expect(store.corruptOnce.size).toBe(0);
    expect(wr.stats.reducerRestarts).toBe(1);
    expect(bits(got.grads).equals(bits(want))).toBe(true);
    // Corrupted on every read: refused as often as the attempts allow, then the round fails naming the range.
    const again = workerReduce('bad-output-2', new Float32Array(P), 2);
    for (const r of results) again.offer(r);
    const always = new (class extends WatchedStore {
      override async get(k: string): Promise<Uint8Array> {
        if (k.includes('range-0')) store.corruptOnce.add('range-0');
        return store.get(k);
      }
    })(dir);
    const failing = workerReduce('bad-output-3', new Float32Array(P), 2, always);
    for (const r of results) failing.offer(r);
    await expect(failing.finish(JOBS)).rejects.toThrow(/range 0 \[0, \d+\): output refused 2 time\(s\); last: .*sha256/);
    store.corruptOnce.clear();
  }, 60_000);
});

describe('a run with train.reduce workers', () => {
  const cfg = (run: string, over: RunConfigInput['train'] = {}) =>
    parseRunConfig({
      run,
      dataset: { name: 'statlog-small', source: `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`, shardSize: 1000 },
      model: { preset: 'tiny' },
      train: { rounds: 3, slices: 3, sliceSamples: 16, lr: 3e-3, warmupRounds: 1, maxAtoms: 36, ...over },
      checkpoint: { every: 0 },
      eval: { maxSamples: 32, sliceSamples: 32 },
    });

  it('trains to the same weights as the coordinator fold (sync, local, bf16), with reducer ranges forced inside a chunk', async () => {
    const s = new LocalStore(join(dir, 'runs'));
    for (const over of [{}, { mode: 'local', localSteps: 2 }, { transport: 'bf16' }] as const) {
      const name = Object.values(over).join('-') || 'sync';
      const coord = await train({ store: s, executor: new InProcessExecutor(s), config: cfg(`c-${name}`, over) });
      const work = await train({
        store: s,
        executor: new InProcessExecutor(s),
        config: cfg(`w-${name}`, { ...over, reduce: 'workers', reduceRanges: 3 }),
      });
      expect(bits(work.weights).equals(bits(coord.weights)), name).toBe(true);
      expect(work.loss).toBe(coord.loss);
      const events = new TextDecoder()
        .decode(await s.get(runKeys(`w-${name}`).metrics))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; aggregation?: { where?: string; ranges?: number; bytesRead?: number } });
      const rounds = events.filter((e) => e.type === 'round');
      expect(rounds.map((e) => [e.aggregation?.where, e.aggregation?.ranges])).toEqual(Array.from({ length: 3 }, () => ['workers', 3]));
    }
  }, 120_000);

  it('refuses an unknown train.reduce with one line naming the field', () => {
    expect(() => cfg('x', { reduce: 'everywhere' as 'workers' })).toThrow(/train\.reduce/);
  });
});

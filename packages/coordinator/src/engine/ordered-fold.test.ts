import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accumulateGradients, float32ToBFloat16Bits, bfloat16BitsToFloat32 } from '@atomizer/model';
import { FLAT_CHUNK_BYTES, LocalStore, encodeFlat, type FlatArray } from '@atomizer/protocol';
import { SeededRng } from '@atomizer/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoundFailedError } from './executor.js';
import { OrderedFold } from './ordered-fold.js';
import type { ParamRange } from '@atomizer/protocol';
import { RangeReducers } from './range-reducers.js';
import type { AcceptedTrainResult } from './results.js';
import { putAccepted } from './testing/accepted-result.js';

let dir: string;
let store: LocalStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-fold-'));
  store = new LocalStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function values(job: number, P: number, seed = 1000): Float32Array {
  const rng = new SeededRng(seed + job);
  // Magnitudes from 1 to 1e4 by job: float64 sums in another order would differ in the last bits.
  return Float32Array.from({ length: P }, () => (rng.next() - 0.5) * 10 ** (job % 5));
}
const samplesOf = (job: number): number => 1 + (job % 3);

/** Write job `job`'s result (version 2) and accept it on its header, as the check does. */
function put(prefix: string, job: number, update: FlatArray, fmt: 'f32' | 'bf16' = 'f32', P = update.length): Promise<AcceptedTrainResult> {
  return putAccepted(store, `${prefix}/${job}.bin`, job, update, { samples: samplesOf(job), loss: job / 7 }, fmt, P);
}

function reference(jobs: number[], P: number, decode: (a: Float32Array) => Float32Array = (a) => a) {
  return accumulateGradients(
    [...jobs].sort((a, b) => a - b).map((j) => ({ grads: decode(values(j, P)), samples: samplesOf(j), loss: j / 7 })),
  );
}

function shuffled(n: number, seed: number): number[] {
  const rng = new SeededRng(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function withReducers<T>(ranges: ParamRange[], P: number, f: (r: RangeReducers) => Promise<T>): Promise<T> {
  const reducers = new RangeReducers(ranges, P);
  try {
    return await f(reducers);
  } finally {
    await reducers.close();
  }
}

describe('OrderedFold over range reducers', () => {
  it('gives the bits of the sorted sum whatever the arrival order, for 1 to 3 ranges (ranges inside one chunk, too)', async () => {
    const P = 257;
    const n = 13;
    const results = await Promise.all(Array.from({ length: n }, (_, j) => put('small', j, values(j, P))));
    for (const [seed, ranges] of [
      [1, [{ from: 0, to: P }]],
      [
        2,
        [
          { from: 0, to: 100 },
          { from: 100, to: P },
        ],
      ],
      [
        3,
        [
          { from: 0, to: 1 },
          { from: 1, to: 200 },
          { from: 200, to: P },
        ],
      ],
    ] as const) {
      await withReducers([...ranges], P, async (reducers) => {
        const fold = new OrderedFold({ store, reducers, round: 1 });
        const order = shuffled(n, seed);
        await Promise.all(
          order.map(async (j, i) => {
            await new Promise((res) => setTimeout(res, i % 3));
            fold.offer(results[j]!);
          }),
        );
        const mean = await fold.finish(order);
        const want = reference(order, P);
        expect(bits(mean.grads).equals(bits(want.grads))).toBe(true);
        expect([mean.samples, mean.loss]).toEqual([want.samples, want.loss]);
        expect(fold.stats.folded).toBe(n);
        expect(fold.stats.rereads).toBe(0);
      });
    }
  });

  it("reads each range's own chunks of a multi-chunk result (f32 and bf16), the sum bit-identical", async () => {
    const P = FLAT_CHUNK_BYTES / 4 + 12_345; // two chunks at f32, one at bf16
    const n = 3;
    const f32 = await Promise.all(Array.from({ length: n }, (_, j) => put('big', j, values(j, P))));
    await withReducers(
      [
        { from: 0, to: FLAT_CHUNK_BYTES / 4 },
        { from: FLAT_CHUNK_BYTES / 4, to: P },
      ],
      P,
      async (reducers) => {
        const fold = new OrderedFold({ store, reducers, round: 1 });
        for (const j of [2, 0, 1]) fold.offer(f32[j]!);
        const mean = await fold.finish([0, 1, 2]);
        expect(bits(mean.grads).equals(bits(reference([0, 1, 2], P).grads))).toBe(true);
        // One read of each result's payload, no more: each range its own chunk.
        expect(fold.stats.bytesRead).toBe(n * 4 * P);
      },
    );
    const bf = await Promise.all(Array.from({ length: n }, (_, j) => put('bf16', j, float32ToBFloat16Bits(values(j, P)), 'bf16', P)));
    await withReducers(
      [
        { from: 0, to: 1000 },
        { from: 1000, to: P },
      ],
      P,
      async (reducers) => {
        const fold = new OrderedFold({ store, reducers, round: 1 });
        for (const j of [1, 2, 0]) fold.offer(bf[j]!);
        const mean = await fold.finish([0, 1, 2]);
        const want = reference([0, 1, 2], P, (a) => bfloat16BitsToFloat32(float32ToBFloat16Bits(a)));
        expect(bits(mean.grads).equals(bits(want.grads))).toBe(true);
      },
    );
  });

  it('folds past a slice that never came (closed on quorum), still in job order', async () => {
    const P = 64;
    const results = await Promise.all(Array.from({ length: 5 }, (_, j) => put('gap', j, values(j, P))));
    await withReducers(
      [
        { from: 0, to: 30 },
        { from: 30, to: P },
      ],
      P,
      async (reducers) => {
        const fold = new OrderedFold({ store, reducers, round: 1 });
        const accepted = [4, 0, 3, 1]; // slice 2 late
        for (const j of accepted) fold.offer(results[j]!);
        expect(await fold.settle(accepted, false)).toEqual([]);
        const mean = await fold.finish(accepted);
        expect(bits(mean.grads).equals(bits(reference(accepted, P).grads))).toBe(true);
      },
    );
  });

  it('refuses a result whose chunk hash no longer matches and a NaN at their turn, naming them; the sum is rebuilt without them and the round commits only the retried results', async () => {
    const P = 300;
    const results = await Promise.all(Array.from({ length: 4 }, (_, j) => put('bad', j, values(j, P))));
    // Job 1 changes in the store after it was accepted; job 3's values hold a NaN.
    await store.put(
      results[1]!.reply.resultKey,
      encodeFlat(results[1]!.meta as unknown as Record<string, unknown>, { update: values(1, P, 7) }),
    );
    const nan = values(3, P);
    nan[250] = Number.NaN;
    const nanResult = await put('bad', 3, nan);
    await withReducers(
      [
        { from: 0, to: 200 },
        { from: 200, to: P },
      ],
      P,
      async (reducers) => {
        const fold = new OrderedFold({ store, reducers, round: 9 });
        for (const r of [results[0]!, results[1]!, results[2]!, nanResult]) fold.offer(r);
        const refused = await fold.settle([0, 1, 2, 3], true);
        expect(refused.map((p) => p.job)).toEqual([1]);
        expect(refused[0]!.reason).toMatch(/bad\/1\.bin chunk 0 \(bytes \d+-\d+\) has sha256 [0-9a-f]{64}, the header says [0-9a-f]{64}/);
        // Its slice retried: the fold rebuilds in order and finds job 3's NaN.
        const retried = await put('bad', 1, values(1, P));
        fold.offer(retried);
        const second = await fold.settle([0, 1, 2, 3], true);
        expect(second).toEqual([{ job: 3, reason: 'bad/3.bin: value 250 is NaN (NaN/Inf gradient refused)' }]);
        // Committing with job 3 still named accepted is refused: never a partial sum.
        await expect(fold.finish([0, 1, 2, 3])).rejects.toThrow(RoundFailedError);
        fold.offer(await put('bad', 3, values(3, P)));
        const mean = await fold.finish([0, 1, 2, 3]);
        expect(bits(mean.grads).equals(bits(reference([0, 1, 2, 3], P).grads))).toBe(true);
        expect(fold.stats.rebuilds).toBeGreaterThanOrEqual(1);
        // Job 0 was folded before each refusal and read again in each rebuild.
        expect(fold.stats.rereads).toBeGreaterThanOrEqual(2);
      },
    );
  });

  it('a refused first result leaves nothing in the sum: the retried one gives the bits of the sorted sum', async () => {
    const P = 40;
    const bad = values(0, P);
    bad[17] = Number.NaN;
    const first = await put('first', 0, bad);
    const second = await put('first', 1, values(1, P));
    await withReducers([{ from: 0, to: P }], P, async (reducers) => {
      const fold = new OrderedFold({ store, reducers, round: 1 });
      fold.offer(first);
      fold.offer(second);
      expect((await fold.settle([0, 1], true)).map((p) => p.job)).toEqual([0]);
      fold.offer(await put('first', 0, values(0, P)));
      const mean = await fold.finish([0, 1]);
      expect(bits(mean.grads).equals(bits(reference([0, 1], P).grads))).toBe(true);
    });
  });

  it('rides out a reducer thread that dies (started again, the sum rebuilt, bit-identical); past its retries the round fails naming the range', async () => {
    const P = FLAT_CHUNK_BYTES / 4 + 100;
    const results = await Promise.all(Array.from({ length: 3 }, (_, j) => put('crash', j, values(j, P))));
    const ranges = [
      { from: 0, to: FLAT_CHUNK_BYTES / 4 },
      { from: FLAT_CHUNK_BYTES / 4, to: P },
    ];
    const logs: string[] = [];
    await withReducers(ranges, P, async (reducers) => {
      const fold = new OrderedFold({ store, reducers, round: 4, log: (m) => logs.push(m) });
      fold.offer(results[0]!);
      fold.offer(results[1]!);
      await reducers.terminate(0); // while job 0 or 1 is in range 0's thread, or between
      fold.offer(results[2]!);
      const mean = await fold.finish([0, 1, 2]);
      expect(bits(mean.grads).equals(bits(reference([0, 1, 2], P).grads))).toBe(true);
      expect(reducers.restarts).toBe(1);
    });
    await withReducers(ranges, P, async (reducers) => {
      const fold = new OrderedFold({ store, reducers, round: 5, reducerRetries: 0 });
      fold.offer(results[0]!);
      const folding = fold.finish([0, 1]);
      await reducers.terminate(1);
      fold.offer(results[1]!);
      await expect(folding).rejects.toThrow(
        /round 5: range 1 \[\d+, \d+\): reducer thread exited with code \d+ while folding job [01]; 1 reducer failures this round, more than the 0 it rides out/,
      );
    });
  });

  it('refuses a job accepted twice and a sum that differs from the accepted set', async () => {
    const P = 16;
    const r0 = await put('twice', 0, values(0, P));
    await withReducers([{ from: 0, to: P }], P, async (reducers) => {
      const twice = new OrderedFold({ store, reducers, round: 2 });
      twice.offer(r0);
      twice.offer(r0);
      await expect(twice.finish([0])).rejects.toThrow(/round 2: job 0 was accepted twice/);
      const missing = new OrderedFold({ store, reducers, round: 3 });
      missing.offer(r0);
      await expect(missing.finish([0, 1])).rejects.toThrow(/round 3: the sum holds jobs 0 but the round accepted 0,1/);
    });
  });
});

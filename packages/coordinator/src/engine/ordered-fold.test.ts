import { GradientAccumulator, accumulateGradients } from '@atomizer/model';
import { SeededRng } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { OrderedFold, foldBudget } from './ordered-fold.js';
import type { AcceptedTrainResult } from './results.js';

const P = 257;
const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function part(job: number): { result: AcceptedTrainResult; update: Float32Array } {
  const rng = new SeededRng(1000 + job);
  const update = Float32Array.from({ length: P }, () => (rng.next() - 0.5) * 10 ** (job % 5));
  const samples = 1 + (job % 3);
  return {
    result: {
      job,
      payloadSha256: `sha-${job}`,
      reply: {} as AcceptedTrainResult['reply'],
      meta: { samples, loss: job / 7 } as AcceptedTrainResult['meta'],
    },
    update,
  };
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

function reference(jobs: number[]) {
  return accumulateGradients([...jobs].sort((a, b) => a - b).map((j) => ({ grads: part(j).update, samples: part(j).result.meta.samples, loss: part(j).result.meta.loss })));
}

describe('OrderedFold', () => {
  it('gives the bits of the sorted sum whatever the arrival order, re-reading what the window let go', async () => {
    for (const [seed, windowResults] of [
      [1, 0],
      [2, 1],
      [3, 4],
      [4, 100],
    ] as const) {
      const n = 17;
      const reread: number[] = [];
      const fold = new OrderedFold({
        accumulator: new GradientAccumulator(P),
        windowBytes: windowResults * P * 4,
        reread: async (r) => {
          reread.push(r.job);
          await new Promise((res) => setTimeout(res, 1));
          return part(r.job).update;
        },
      });
      const order = shuffled(n, seed);
      await Promise.all(order.map(async (j, i) => {
        await new Promise((res) => setTimeout(res, i % 3));
        const p = part(j);
        await fold.offer(p.result, p.update);
      }));
      const mean = await fold.finish(order);
      const want = reference(order);
      expect(bits(mean.grads).equals(bits(want.grads))).toBe(true);
      expect(mean.samples).toBe(want.samples);
      expect(mean.loss).toBe(want.loss);
      expect(fold.stats.folded).toBe(n);
      expect(fold.stats.rereads).toBe(reread.length);
      expect(fold.stats.peakHeldBytes).toBeLessThanOrEqual(Math.max(windowResults, 1) * P * 4 + P * 4);
      if (windowResults >= n) expect(reread).toEqual([]);
      if (windowResults === 0) expect(reread.length).toBeGreaterThan(0);
    }
  });

  it('folds past a slice that never came (closed on quorum) at finish, still in job order', async () => {
    const fold = new OrderedFold({ accumulator: new GradientAccumulator(P), windowBytes: 1e9, reread: async () => { throw new Error('not expected'); } });
    const accepted = [4, 0, 3, 1]; // slice 2 late
    for (const j of accepted) await fold.offer(part(j).result, part(j).update);
    expect(fold.stats.folded).toBe(2); // 0 and 1; 3 and 4 wait behind the gap
    const mean = await fold.finish(accepted);
    expect(bits(mean.grads).equals(bits(reference(accepted).grads))).toBe(true);
  });

  it('refuses a result that changed in the store after its check, a job accepted twice and a sum that differs from the accepted set', async () => {
    const changed = new OrderedFold({
      accumulator: new GradientAccumulator(P),
      windowBytes: 0,
      reread: async (r) => {
        throw new Error(`${r.job} changed in the store after it was accepted`);
      },
    });
    await changed.offer(part(1).result, part(1).update);
    await changed.offer(part(0).result, part(0).update);
    await expect(changed.finish([0, 1])).rejects.toThrow(/1 changed in the store/);

    const twice = new OrderedFold({ accumulator: new GradientAccumulator(P), windowBytes: 1e9, reread: async (r) => part(r.job).update });
    await twice.offer(part(0).result, part(0).update);
    await twice.offer(part(0).result, part(0).update);
    await expect(twice.finish([0])).rejects.toThrow(/job 0 was accepted twice/);

    const missing = new OrderedFold({ accumulator: new GradientAccumulator(P), windowBytes: 1e9, reread: async (r) => part(r.job).update });
    await missing.offer(part(0).result, part(0).update);
    await expect(missing.finish([0, 1])).rejects.toThrow(/holds jobs 0 but the round accepted 0,1/);
  });

  it('sizes its window and the reads in flight from the result size', () => {
    expect(foldBudget(60_245_395)).toEqual({ windowBytes: 256 * 2 ** 20, checksAtOnce: 1 });
    expect(foldBudget(1_000_000).checksAtOnce).toBe(8);
    expect(foldBudget(20_000_000).checksAtOnce).toBe(3);
  });
});

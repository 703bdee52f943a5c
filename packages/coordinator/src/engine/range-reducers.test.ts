import { Adam } from '@atomizer/model';
import { parseRunConfig } from '@atomizer/protocol';
import { SeededRng } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { makeOptimizers, optimizerStep } from './optimizers.js';
import { RangeReducers } from './range-reducers.js';

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('RangeReducers: the optimizer step per range', () => {
  it('AdamW stepped by 3 reducer threads over shared memory has the bits of Adam.update, step after step, clipping and decay ranges included', async () => {
    const P = 1001;
    const cfg = parseRunConfig({ run: 'r', train: { clipNorm: 0.5, weightDecay: 0.1 } });
    const decay = [
      { offset: 10, length: 300 },
      { offset: 500, length: 200 },
    ];
    const rng = new SeededRng(3);
    const init = Float32Array.from({ length: P }, () => rng.next() - 0.5);
    const plain = { weights: init.slice(), opt: makeOptimizers(cfg, P, decay) };
    const shared = { weights: new Float32Array(new SharedArrayBuffer(4 * P)), opt: makeOptimizers(cfg, P, decay, true) };
    shared.weights.set(init);
    const reducers = new RangeReducers(
      [
        { from: 0, to: 7 },
        { from: 7, to: 505 },
        { from: 505, to: P },
      ],
      P,
    );
    try {
      for (let round = 1; round <= 4; round++) {
        const grad = Float32Array.from({ length: P }, () => (rng.next() - 0.5) * round);
        const n1 = await optimizerStep(cfg, plain.opt, plain.weights, grad.slice(), 1e-2, round);
        // The mean lives in the reducers' shared memory, as after a fold.
        reducers.mean.set(grad);
        const n2 = await optimizerStep(cfg, shared.opt, shared.weights, reducers.mean, 1e-2, round, reducers);
        expect(n2).toBe(n1);
        expect(bits(shared.weights).equals(bits(plain.weights))).toBe(true);
      }
      const a = plain.opt.adam!.getState();
      const b = shared.opt.adam!.getState();
      expect(b.step).toBe(4);
      expect(bits(b.m).equals(bits(a.m)) && bits(b.v).equals(bits(a.v))).toBe(true);
      // A step that makes a weight non-finite is refused naming it, whichever range holds it.
      reducers.mean.fill(0);
      reducers.mean[700] = Number.POSITIVE_INFINITY;
      const noClip = parseRunConfig({ run: 'r', train: { clipNorm: 0 } });
      await expect(optimizerStep(noClip, shared.opt, shared.weights, reducers.mean, 1e-2, 9, reducers)).rejects.toThrow(
        /round 9: the update made weight 700 non-finite/,
      );
    } finally {
      await reducers.close();
    }
  });

  it('refuses weights or moments outside shared memory', async () => {
    const reducers = new RangeReducers([{ from: 0, to: 4 }], 4);
    try {
      const adam = new Adam(4);
      await expect(reducers.adamStep(adam.planStep(0.1), new Float32Array(4), adam.moments())).rejects.toThrow(
        /must be whole arrays in shared memory/,
      );
    } finally {
      await reducers.close();
    }
  });
});

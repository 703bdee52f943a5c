import * as tf from './tfjs.js';
import { expect, it } from 'vitest';
import { attention, keyBias } from './attention.js';
import { attentionPool } from './attention-pool.js';
import { geglu, gelu } from './geglu.js';
import { layerNorm } from './layer-norm.js';
import { linear } from './linear.js';
import { matMul } from './matmul.js';
import { describeOnCpuBackends } from './testing/backend-suite.js';
import { checkGradients, seededTensor } from './testing/grad-check.js';

// Finite-difference gradient checks of every layer kind, on both CPU backends.
// Each scalar objective is sum(layer(x) * R) with a fixed random R, so every
// output element's gradient path is exercised with a different weight.

const TOL = 2e-2;

function objective(out: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(out, seededTensor(out.shape, seed)));
}

describeOnCpuBackends('layers', () => {
  it('matMul custom gradient equals finite differences, rank 2 and batched rank 3', () => {
    tf.tidy(() => {
      const r2 = checkGradients(
        (a, b) => objective(matMul(a as tf.Tensor2D, b as tf.Tensor2D), 1),
        [seededTensor([3, 4], 2), seededTensor([4, 5], 3)],
      );
      expect(r2.worst, r2.where).toBeLessThan(TOL);
      const r3 = checkGradients(
        (a, b) => objective(matMul(a as tf.Tensor3D, b as tf.Tensor3D), 4),
        [seededTensor([2, 3, 4], 5), seededTensor([2, 4, 2], 6)],
      );
      expect(r3.worst, r3.where).toBeLessThan(TOL);
    });
  });

  it('matMul forward equals the built-in matMul and rejects mismatched shapes', () => {
    tf.tidy(() => {
      const a = seededTensor([2, 3, 4], 8) as tf.Tensor3D;
      const b = seededTensor([2, 4, 5], 9) as tf.Tensor3D;
      const diff = tf.max(tf.abs(tf.sub(matMul(a, b), tf.matMul(a, b)))).dataSync()[0]!;
      expect(diff).toBeLessThan(1e-6);
      expect(() => matMul(a, seededTensor([2, 5, 4], 1) as tf.Tensor3D)).toThrow(/do not match/);
    });
  });

  it('linear (rank-3 input, bias) gradient', () => {
    tf.tidy(() => {
      const r = checkGradients(
        (x, w, b) => objective(linear(x!, w as tf.Tensor2D, b as tf.Tensor1D), 10),
        [seededTensor([2, 3, 5], 11), seededTensor([5, 4], 12), seededTensor([4], 13)],
      );
      expect(r.worst, r.where).toBeLessThan(TOL);
      expect(() => linear(seededTensor([2, 6], 1), seededTensor([5, 4], 2) as tf.Tensor2D)).toThrow(/6 features/);
    });
  });

  it('layerNorm normalises (mean 0, variance 1 before the affine part) and its gradient checks', () => {
    tf.tidy(() => {
      const x = seededTensor([3, 7], 20, 3);
      const y = layerNorm(x, { gamma: tf.ones([7]), beta: tf.zeros([7]) });
      const { mean, variance } = tf.moments(y, -1);
      expect(Math.max(...Array.from(tf.abs(mean).dataSync()))).toBeLessThan(1e-5);
      for (const v of variance.dataSync()) expect(v).toBeCloseTo(1, 3);
      const r = checkGradients(
        (xx, g, b) => objective(layerNorm(xx!, { gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }), 21),
        [seededTensor([2, 3, 6], 22), tf.add(1, seededTensor([6], 23, 0.5)), seededTensor([6], 24)],
      );
      expect(r.worst, r.where).toBeLessThan(TOL);
    });
  });

  it('gelu matches its definition x*Phi(x) at known points', () => {
    tf.tidy(() => {
      // Phi(1) = 0.841344746, Phi(-1) = 0.158655254 (standard normal CDF tables).
      const y = gelu(tf.tensor1d([0, 1, -1])).dataSync();
      expect(y[0]).toBeCloseTo(0, 6);
      expect(y[1]).toBeCloseTo(0.841344746, 5);
      expect(y[2]).toBeCloseTo(-0.158655254, 5);
    });
  });

  it('GEGLU gradient', () => {
    tf.tidy(() => {
      const r = checkGradients(
        (x, w1, b1, w2, b2) =>
          objective(geglu(x!, { w1: w1 as tf.Tensor2D, b1: b1 as tf.Tensor1D, w2: w2 as tf.Tensor2D, b2: b2 as tf.Tensor1D }), 30),
        [seededTensor([2, 3, 4], 31), seededTensor([4, 12], 32), seededTensor([12], 33), seededTensor([6, 4], 34), seededTensor([4], 35)],
      );
      expect(r.worst, r.where).toBeLessThan(TOL);
    });
  });

  for (const heads of [1, 2]) {
    it(`attention with a padding mask, ${heads} head(s): gradient, and padded keys have no influence`, () => {
      tf.tidy(() => {
        const B = 2;
        const N = 5;
        const mask = tf.tensor2d([1, 1, 1, 0, 0, 1, 1, 1, 1, 0], [B, N]);
        const bias = keyBias(mask);
        const inner = heads * 3;
        const params = [
          seededTensor([4, inner], 41),
          seededTensor([6, inner], 42),
          seededTensor([6, inner], 43),
          seededTensor([inner, 4], 44),
          seededTensor([4], 45),
        ];
        const run = (xq: tf.Tensor, xkv: tf.Tensor, ps: tf.Tensor[]) =>
          attention(
            xq as tf.Tensor3D,
            xkv as tf.Tensor3D,
            {
              wq: ps[0] as tf.Tensor2D,
              wk: ps[1] as tf.Tensor2D,
              wv: ps[2] as tf.Tensor2D,
              wo: ps[3] as tf.Tensor2D,
              bo: ps[4] as tf.Tensor1D,
            },
            heads,
            3,
            bias,
          );
        const xq = seededTensor([B, 3, 4], 46);
        const xkv = seededTensor([B, N, 6], 47, 2);
        const r = checkGradients((q, kv, ...ps) => objective(run(q!, kv!, ps), 48), [xq, xkv, ...params]);
        expect(r.worst, r.where).toBeLessThan(TOL);
        // Changing what sits in the padded key slots changes nothing.
        const padMask = tf.reshape(tf.sub(1, mask), [B, N, 1]);
        const garbage = tf.add(xkv, tf.mul(padMask, seededTensor([B, N, 6], 49, 50)));
        const d = tf.max(tf.abs(tf.sub(run(xq, xkv, params), run(xq, garbage, params)))).dataSync()[0]!;
        expect(d).toBeLessThan(1e-6);
      });
    });
  }

  it('attention pooling gradient', () => {
    tf.tidy(() => {
      const r = checkGradients(
        (z, q, wk, wv) =>
          objective(attentionPool(z as tf.Tensor3D, { query: q as tf.Tensor2D, wk: wk as tf.Tensor2D, wv: wv as tf.Tensor2D }), 50),
        [seededTensor([2, 4, 5], 51), seededTensor([5, 1], 52), seededTensor([5, 5], 53), seededTensor([5, 5], 54)],
      );
      expect(r.worst, r.where).toBeLessThan(TOL);
    });
  });
});

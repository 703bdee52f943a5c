import * as tf from './tfjs.js';
import { expect, it } from 'vitest';
import { geglu, gegluGate, gelu } from './geglu.js';
import { describeOnCpuBackends, maxAbsDiff } from './testing/backend-suite.js';
import { checkGradients, seededTensor } from './testing/grad-check.js';

// The GEGLU gate's hand-written gradient must equal tfjs's autograd through the
// textbook formulation (tf.split + gelu + product), and finite differences.

function referenceGate(h: tf.Tensor): tf.Tensor {
  const [a, g] = tf.split(h, 2, -1) as [tf.Tensor, tf.Tensor];
  return tf.mul(a, gelu(g));
}

describeOnCpuBackends('GEGLU gate', () => {
  it('equals split + gelu + product: values and gradient, rank 2 and 3', () => {
    tf.tidy(() => {
      for (const shape of [
        [5, 8],
        [2, 3, 6],
      ]) {
        // Spread over [-3, 3] so both GELU tails and the middle are exercised.
        const h = tf.mul(seededTensor(shape, 1), 3);
        const out = [...shape.slice(0, -1), shape[shape.length - 1]! / 2];
        const R = seededTensor(out, 2);
        expect(gegluGate(h).shape).toEqual(out);
        expect(maxAbsDiff(gegluGate(h), referenceGate(h))).toBeLessThan(1e-5);
        const got = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(gegluGate(x), R)))(h);
        const want = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(referenceGate(x), R)))(h);
        expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
      }
    });
  });

  it('gate and whole GEGLU gradients equal finite differences', () => {
    tf.tidy(() => {
      const R = seededTensor([3, 4], 3);
      const r = checkGradients((h) => tf.sum(tf.mul(gegluGate(h!), R)), [tf.mul(seededTensor([3, 8], 4), 2)]);
      expect(r.worst, r.where).toBeLessThan(2e-2);
      const R2 = seededTensor([2, 3, 4], 5);
      const r2 = checkGradients(
        (x, w1, b1, w2, b2) =>
          tf.sum(tf.mul(geglu(x!, { w1: w1 as tf.Tensor2D, b1: b1 as tf.Tensor1D, w2: w2 as tf.Tensor2D, b2: b2 as tf.Tensor1D }), R2)),
        [seededTensor([2, 3, 4], 6), seededTensor([4, 10], 7), seededTensor([10], 8), seededTensor([5, 4], 9), seededTensor([4], 10)],
      );
      expect(r2.worst, r2.where).toBeLessThan(2e-2);
    });
  });

  it('rejects an odd gate width, naming the shape', () => {
    tf.tidy(() => {
      expect(() => gegluGate(tf.zeros([2, 5]))).toThrow(/\[2,5\].*even/);
    });
  });
});

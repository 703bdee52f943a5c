import * as tf from './tfjs.js';
import { expect, it } from 'vitest';
import { layerNorm } from './layer-norm.js';
import { describeOnCpuBackends, maxAbsDiff } from './testing/backend-suite.js';
import { checkGradients, seededTensor } from './testing/grad-check.js';

// The fused LayerNorm (hand-written gradient) must be the same function as the
// textbook one built from tf.moments with tfjs's autograd: same values, same
// gradients of x, gamma and beta; and its gradient must match finite differences.

/** The LayerNorm as it was before the fused one: tf.moments + autograd. */
function referenceLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

describeOnCpuBackends('fused layerNorm', () => {
  for (const shape of [
    [2, 5, 7],
    [6, 9],
  ]) {
    it(`equals the moments + autograd LayerNorm, values and gradients, input [${shape}]`, () => {
      tf.tidy(() => {
        const d = shape[shape.length - 1]!;
        // Offset and scale the input so the mean/variance really matter.
        const x = tf.add(tf.mul(seededTensor(shape, 1), 3), 0.7);
        const gamma = seededTensor([d], 2);
        const beta = seededTensor([d], 3);
        const R = seededTensor(shape, 4);
        const fused = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(layerNorm(a, { gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }), R));
        const ref = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(referenceLayerNorm(a, g, b), R));
        expect(
          maxAbsDiff(layerNorm(x, { gamma: gamma as tf.Tensor1D, beta: beta as tf.Tensor1D }), referenceLayerNorm(x, gamma, beta)),
        ).toBeLessThan(1e-5);
        const gf = tf.grads(fused)([x, gamma, beta]);
        const gr = tf.grads(ref)([x, gamma, beta]);
        expect(gf.map((g) => g.shape)).toEqual([shape, [d], [d]]);
        gf.forEach((g, i) => expect(maxAbsDiff(g, gr[i]!), `gradient of input ${i}`).toBeLessThan(1e-5));
      });
    });
  }

  it('gradient equals finite differences (x, gamma, beta)', () => {
    tf.tidy(() => {
      const R = seededTensor([3, 4, 6], 5);
      const r = checkGradients(
        (x, g, b) => tf.sum(tf.mul(layerNorm(x!, { gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }), R)),
        [tf.mul(seededTensor([3, 4, 6], 6), 2), seededTensor([6], 7), seededTensor([6], 8)],
      );
      expect(r.worst, r.where).toBeLessThan(2e-2);
    });
  });

  it('normalises each row to mean 0 and variance 1 before the affine part', () => {
    tf.tidy(() => {
      const y = layerNorm(tf.add(tf.mul(seededTensor([4, 10], 9), 5), -2), { gamma: tf.ones([10]), beta: tf.zeros([10]) });
      const { mean, variance } = tf.moments(y, -1);
      expect(tf.max(tf.abs(mean)).dataSync()[0]).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(tf.sub(variance, 1))).dataSync()[0]).toBeLessThan(1e-3);
    });
  });

  it('rejects gamma/beta of the wrong width, naming the shapes', () => {
    tf.tidy(() => {
      expect(() => layerNorm(tf.zeros([2, 5]), { gamma: tf.ones([4]), beta: tf.zeros([4]) })).toThrow(/5 features.*\[4\]/);
    });
  });
});

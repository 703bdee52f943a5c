import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { matMul } from './matmul.js';
import { matMulFastGrad, transposedProductLeft, transposedProductRight } from './matmul-fast-grad.js';
import { checkGradients, seededTensor } from './testing/grad-check.js';

// matMulFastGrad must be matmul.ts's matMul with the same gradients, whichever
// transposition route each gradient takes. The shapes below force each route:
//   tall A [40,12] x narrow B [12,3]: dB = (dC^T A)^T (moves 40*3+12*3 < 40*12), dA plain route;
//   short A [2,50] x wide B [50,40]:  dA = (B dC^T)^T (moves 2*40+2*50 < 50*40), dB plain route.

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const scale = Math.max(1, tf.max(tf.abs(b)).dataSync()[0]!);
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / scale;
  });
}

const CASES: Array<[string, number[], number[]]> = [
  ['tall x narrow (rank 2)', [40, 12], [12, 3]],
  ['short x wide (rank 2)', [2, 50], [50, 40]],
  ['batched tall x narrow (rank 3)', [3, 30, 9], [3, 9, 2]],
  ['batched short x wide (rank 3)', [2, 3, 20], [2, 20, 16]],
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`matMulFastGrad on ${backend}`, () => {
    let before = 0;
    beforeAll(async () => {
      await selectBackend(backend);
      before = tf.memory().numTensors;
    });
    afterAll(() => {
      expect(tf.memory().numTensors).toBe(before);
    });

    for (const [name, sa, sb] of CASES) {
      it(`${name}: values and both gradients equal matmul.ts`, () => {
        tf.tidy(() => {
          const a = seededTensor(sa, 1);
          const b = seededTensor(sb, 2);
          const outShape = [...sa.slice(0, -1), sb[sb.length - 1]!];
          const R = seededTensor(outShape, 3);
          type M = (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D;
          const f = (mm: M) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x as tf.Tensor2D, y as tf.Tensor2D), R)) as tf.Scalar;
          expect(maxRelDiff(matMulFastGrad(a as tf.Tensor2D, b as tf.Tensor2D), matMul(a as tf.Tensor2D, b as tf.Tensor2D))).toBeLessThan(1e-6);
          const [gaRef, gbRef] = tf.grads(f(matMul))([a, b]);
          const [ga, gb] = tf.grads(f(matMulFastGrad))([a, b]);
          expect(maxRelDiff(ga!, gaRef!)).toBeLessThan(1e-5);
          expect(maxRelDiff(gb!, gbRef!)).toBeLessThan(1e-5);
          // The objective is linear in each input, so central differences are exact for
          // any step: a large one keeps float32 round-off of f out of the comparison.
          const r = checkGradients(f(matMulFastGrad), [a, b], { eps: 0.5 });
          expect(r.worst, r.where).toBeLessThan(2e-2);
        });
      });
    }

    it('transposed products equal X^T Y and Y X^T from the transpose flags on both routes', () => {
      tf.tidy(() => {
        for (const [sx, sy] of [[[40, 12], [40, 3]], [[2, 50], [2, 40]]]) {
          const x = seededTensor(sx!, 4);
          const y = seededTensor(sy!, 5);
          expect(maxRelDiff(transposedProductLeft(x, y), tf.matMul(x, y, true, false))).toBeLessThan(1e-6);
        }
        for (const [sy, sx] of [[[40, 3], [12, 3]], [[2, 40], [50, 40]]]) {
          const y = seededTensor(sy!, 6);
          const x = seededTensor(sx!, 7);
          expect(maxRelDiff(transposedProductRight(y, x), tf.matMul(y, x, false, true))).toBeLessThan(1e-6);
        }
      });
    });

    it('rejects mismatched shapes naming them', () => {
      tf.tidy(() => {
        expect(() => matMulFastGrad(seededTensor([2, 3], 1) as tf.Tensor2D, seededTensor([4, 5], 2) as tf.Tensor2D)).toThrow(/\[2,3\] x \[4,5\]/);
      });
    });
  });
}

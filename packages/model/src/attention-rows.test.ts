import * as tf from './tfjs.js';
import { expect, it } from 'vitest';
import { attention, keyBias, type AttentionParams } from './attention.js';
import { attentionCoreRows, attentionRows } from './attention-rows.js';
import { describeOnCpuBackends, maxAbsDiff } from './testing/backend-suite.js';
import { checkGradients, seededTensor } from './testing/grad-check.js';

// attentionRows must be the same function as attention() (one head): same
// values and same gradients with respect to every input and parameter, with
// padded keys behind the mask; and its hand-written backward must agree with
// finite differences on its own.

const B = 2;
const L = 3;
const N = 7;
const dh = 4;
const dq = 5;
const dkv = 6;
const dOut = 5;

function params(seed: number): AttentionParams {
  return {
    wq: seededTensor([dq, dh], seed, 0.5) as tf.Tensor2D,
    wk: seededTensor([dkv, dh], seed + 1, 0.5) as tf.Tensor2D,
    wv: seededTensor([dkv, dh], seed + 2, 0.5) as tf.Tensor2D,
    wo: seededTensor([dh, dOut], seed + 3, 0.5) as tf.Tensor2D,
    bo: seededTensor([dOut], seed + 4, 0.5) as tf.Tensor1D,
  };
}

/** Sample 0 has all 7 keys, sample 1 only its first 4 (3 padded). */
function mask(): tf.Tensor2D {
  return tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], [B, N]);
}

describeOnCpuBackends('attentionRows', () => {
  it('equals attention() with one head: values and gradients of every input and parameter', () => {
    tf.tidy(() => {
      const xq = seededTensor([B, L, dq], 1) as tf.Tensor3D;
      const xkv = seededTensor([B, N, dkv], 2) as tf.Tensor3D;
      const p = params(10);
      const bias = keyBias(mask());
      const R = seededTensor([B, L, dOut], 3);
      const inputs = [xq, xkv, p.wq, p.wk, p.wv, p.wo, p.bo];
      const loss =
        (f: typeof attention) =>
        (...xs: tf.Tensor[]) => {
          const [a, b, wq, wk, wv, wo, bo] = xs as [
            tf.Tensor3D,
            tf.Tensor3D,
            tf.Tensor2D,
            tf.Tensor2D,
            tf.Tensor2D,
            tf.Tensor2D,
            tf.Tensor1D,
          ];
          return tf.sum(tf.mul(f(a, b, { wq, wk, wv, wo, bo }, 1, dh, bias), R)) as tf.Scalar;
        };
      const ref = attention(xq, xkv, p, 1, dh, bias);
      const got = attentionRows(xq, xkv, p, 1, dh, bias);
      expect(got.shape).toEqual([B, L, dOut]);
      expect(maxAbsDiff(got, ref)).toBeLessThan(1e-5);
      const gRef = tf.grads(loss(attention))(inputs);
      const gGot = tf.grads(loss(attentionRows))(inputs);
      gRef.forEach((g, i) => {
        const scale = Math.max(1, tf.max(tf.abs(g)).dataSync()[0]!);
        expect(maxAbsDiff(gGot[i]!, g) / scale, `gradient of input ${i}`).toBeLessThan(1e-5);
      });
    });
  });

  it('padded keys change nothing, and their keys and values get zero gradient', () => {
    tf.tidy(() => {
      const q = seededTensor([B, L, dh], 4) as tf.Tensor3D;
      const k = seededTensor([B, N, dh], 5) as tf.Tensor3D;
      const v = seededTensor([B, N, dh], 6) as tf.Tensor3D;
      const bias = keyBias(mask());
      // Overwrite sample 1's padded keys/values (atoms 4..6) with large junk.
      const junk = tf.tensor3d(
        Float32Array.from({ length: B * N * dh }, (_, i) => (Math.floor(i / dh) % N >= 4 && i >= N * dh ? 50 : 0)),
        [B, N, dh],
      );
      const a = attentionCoreRows(q, k, v, bias);
      const b = attentionCoreRows(q, tf.add(k, junk) as tf.Tensor3D, tf.add(v, junk) as tf.Tensor3D, bias);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
      const [, dk, dv] = tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) =>
        tf.sum(attentionCoreRows(qq as tf.Tensor3D, kk as tf.Tensor3D, vv as tf.Tensor3D, bias)),
      )([q, k, v]);
      const padded = tf.slice(dk!, [1, 4, 0], [1, 3, dh]);
      const paddedV = tf.slice(dv!, [1, 4, 0], [1, 3, dh]);
      expect(tf.max(tf.abs(padded)).dataSync()[0]).toBe(0);
      expect(tf.max(tf.abs(paddedV)).dataSync()[0]).toBe(0);
    });
  });

  it('hand-written backward agrees with finite differences', () => {
    tf.tidy(() => {
      const bias = keyBias(mask());
      const R = seededTensor([B, L, dh], 7);
      const r = checkGradients(
        (q, k, v) => tf.sum(tf.mul(attentionCoreRows(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, bias), R)) as tf.Scalar,
        [seededTensor([B, L, dh], 8), seededTensor([B, N, dh], 9), seededTensor([B, N, dh], 10)],
      );
      expect(r.worst, r.where).toBeLessThan(2e-2);
    });
  });

  it('rejects mismatched shapes with the shapes in the message', () => {
    tf.tidy(() => {
      const q = seededTensor([B, L, dh], 1) as tf.Tensor3D;
      const k = seededTensor([B, N, dh + 1], 2) as tf.Tensor3D;
      expect(() => attentionCoreRows(q, k, k)).toThrow(/k \[2,7,5\]/);
      const bad = tf.zeros([B, 1, N + 1]) as tf.Tensor3D;
      const kk = seededTensor([B, N, dh], 3) as tf.Tensor3D;
      expect(() => attentionCoreRows(q, kk, kk, bad)).toThrow(/mask bias has shape \[2,1,8\]/);
    });
  });
});

import * as tf from '@tensorflow/tfjs';
import { attention, checkAttentionWeights, type AttentionParams } from './attention.js';
import { linear } from './linear.js';

// Single-head attention of a few queries (the L latents) over many keys (the N
// atoms), with every large product laid out with the atoms on the ROWS.
//
// Why: tfjs-backend-wasm 4.22 runs a batched matMul fast when its left operand
// has many rows (XNNPACK fully-connected: A [M, K] x packed W [K, n]) and very
// slowly when the right operand is the wide one. The straightforward
// scores = q [B,L,dh] x k^T [B,dh,N] is the slow case, and its backward
// (dProbs = dOut x v^T, dk^T = q^T x dScores) twice more: those three products
// were the largest kernels of a small-preset training step (about 40% of it,
// docs/benchmarks.md "Model: TensorFlow.js vs PyTorch"). Here the scores are
// computed as s^T = k [B,N,dh] x q^T [B,dh,L] and transposed once, the softmax
// stays on the last axis (the wasm Softmax kernel), and the hand-written
// backward uses only products with N rows (or a K = N reduction), plus four
// transposes of [B,N,L].
//
// k and v stay two [tokenDim, dh] projections: packing them into one
// [tokenDim, 2*dh] product was measured slower on wasm 4.22 (one cross-attention
// forward+backward 62.9 -> 66.2 ms CPU): the weight gradient then transposes one
// [B*N, 2*dh] dY, and the wasm Transpose kernel is superlinear in width ([8192,64]
// 7.9 ms vs 2 x 1.8 ms for two [8192,32]), and the packed tensor needs two
// last-axis slices forward and a last-axis concat backward (0.6 + 0.6 + 1.8 ms).
//
// Same mathematics as attention.ts with one head (ATOMIZER.md section 3:
// softmax(q k^T / sqrt(dh) + mask bias) v); tested equal, values and gradients.

/**
 * softmax(q k^T + bias) v for one head: q [B,L,dh] (already scaled), k and v
 * [B,N,dh], bias [B,1,N] (0 or a large negative for padded keys) -> [B,L,dh].
 */
export function attentionCoreRows(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, bias?: tf.Tensor3D): tf.Tensor3D {
  const [B, L, dh] = q.shape;
  const N = k.shape[1];
  if (k.shape[0] !== B || v.shape[0] !== B || k.shape[2] !== dh || v.shape[1] !== N) {
    throw new Error(`attentionCoreRows: shapes q [${q.shape}], k [${k.shape}], v [${v.shape}]; expected q [B,L,dh], k [B,N,dh], v [B,N,dv]`);
  }
  if (bias !== undefined && (bias.shape[0] !== B || bias.shape[1] !== 1 || bias.shape[2] !== N)) {
    throw new Error(`attentionCoreRows: mask bias has shape [${bias.shape}], expected [${B}, 1, ${N}]`);
  }
  const core = tf.customGrad((qi, ki, vi, save) => {
    const qq = qi as tf.Tensor3D;
    const kk = ki as tf.Tensor3D;
    const vv = vi as tf.Tensor3D;
    const sT = tf.matMul(kk, tf.transpose(qq, [0, 2, 1])); // [B,N,L]: N rows
    let s = tf.transpose(sT, [0, 2, 1]) as tf.Tensor3D;
    if (bias !== undefined) s = tf.add(s, bias) as tf.Tensor3D;
    const p = tf.softmax(s) as tf.Tensor3D; // [B,L,N]
    (save as tf.GradSaveFunc)([qq, kk, vv, p]);
    return {
      value: tf.matMul(p, vv), // [B,L,dv]: a K = N reduction
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        const dout = dy as tf.Tensor3D;
        // dP = dOut v^T, computed as (v dOut^T)^T: N rows.
        const dp = tf.transpose(tf.matMul(sv, tf.transpose(dout, [0, 2, 1])), [0, 2, 1]);
        // Softmax backward on the last axis: dS = P * (dP - sum(dP * P)).
        const ds = tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true))) as tf.Tensor3D;
        const dsT = tf.transpose(ds, [0, 2, 1]);
        const dq = tf.matMul(ds, sk); // [B,L,dh]: K = N reduction
        const dk = tf.matMul(dsT, sq); // [B,N,dh]: N rows
        const dv = tf.matMul(tf.transpose(sp, [0, 2, 1]), dout); // [B,N,dv]: N rows
        return [dq, dk, dv];
      },
    };
  });
  return core(q, k, v) as tf.Tensor3D;
}

/**
 * Drop-in for attention() (same parameters, same result): one head goes
 * through attentionCoreRows, several heads fall back to attention().
 */
export function attentionRows(
  xq: tf.Tensor3D,
  xkv: tf.Tensor3D,
  p: AttentionParams,
  heads: number,
  headDim: number,
  bias?: tf.Tensor3D,
): tf.Tensor3D {
  if (heads !== 1) return attention(xq, xkv, p, heads, headDim, bias);
  checkAttentionWeights('attentionRows', p, heads, headDim);
  return tf.tidy(() => {
    const q = tf.mul(linear(xq, p.wq), 1 / Math.sqrt(headDim)) as tf.Tensor3D;
    const k = linear(xkv, p.wk) as tf.Tensor3D;
    const v = linear(xkv, p.wv) as tf.Tensor3D;
    return linear(attentionCoreRows(q, k, v, bias), p.wo, p.bo) as tf.Tensor3D;
  });
}

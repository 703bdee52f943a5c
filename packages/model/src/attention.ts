import * as tf from './tfjs.js';
import { linear } from './linear.js';
import { matMul } from './matmul.js';

/** Multi-head attention weights: q/k/v without bias, output with bias (docs/model.md section 3). */
export interface AttentionParams {
  /** [dq, heads*headDim] */
  wq: tf.Tensor2D;
  /** [dkv, heads*headDim] */
  wk: tf.Tensor2D;
  /** [dkv, heads*headDim] */
  wv: tf.Tensor2D;
  /** [heads*headDim, dOut] */
  wo: tf.Tensor2D;
  /** [dOut] */
  bo: tf.Tensor1D;
}

/**
 * Large negative added to the scores of padded keys. Not -Infinity: a row whose
 * keys are all padding would give NaN; -1e9 gives exp(..) = 0 in float32 for
 * any real score, which is the same thing for every row with one real key.
 */
export const MASKED_SCORE = -1e9;

/** mask [B,N] (1 real, 0 padded) -> additive key bias [B,1,N]: 0 or MASKED_SCORE. */
export function keyBias(mask: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => tf.reshape(tf.mul(tf.sub(1, mask), MASKED_SCORE), [mask.shape[0], 1, mask.shape[1]]));
}

/**
 * Throws unless wq, wk, wv are [*, heads*headDim], xkv has xq's batch size and
 * the mask bias is [B, 1, N] (`who` names the caller in the message).
 */
export function checkAttentionInputs(
  who: string,
  xq: tf.Tensor3D,
  xkv: tf.Tensor3D,
  p: AttentionParams,
  heads: number,
  headDim: number,
  bias: tf.Tensor3D | undefined,
): void {
  const inner = heads * headDim;
  for (const [name, w] of [
    ['wq', p.wq],
    ['wk', p.wk],
    ['wv', p.wv],
  ] as const) {
    if (w.shape[1] !== inner) {
      throw new Error(`${who}: ${name} has shape [${w.shape}], expected [*, ${inner}] for ${heads} heads of ${headDim}`);
    }
  }
  const [B] = xq.shape;
  const N = xkv.shape[1];
  if (xkv.shape[0] !== B) throw new Error(`${who}: query batch ${B} != key batch ${xkv.shape[0]}`);
  if (bias !== undefined && (bias.shape[0] !== B || bias.shape[1] !== 1 || bias.shape[2] !== N)) {
    throw new Error(`${who}: mask bias has shape [${bias.shape}], expected [${B}, 1, ${N}]`);
  }
}

/**
 * Scaled dot-product attention of queries xq [B,Lq,dq] over keys/values
 * xkv [B,N,dkv] -> [B,Lq,dOut]. `bias` [B,1,N] (from keyBias) masks padded keys.
 * Every product is a rank-3 matMul with the explicit-transpose gradient.
 */
export function attention(
  xq: tf.Tensor3D,
  xkv: tf.Tensor3D,
  p: AttentionParams,
  heads: number,
  headDim: number,
  bias?: tf.Tensor3D,
): tf.Tensor3D {
  const [B, Lq] = xq.shape;
  const N = xkv.shape[1];
  const inner = heads * headDim;
  checkAttentionInputs('attention', xq, xkv, p, heads, headDim, bias);
  return tf.tidy(() => {
    // Fold 1/sqrt(dh) into q: it is smaller than the score matrix.
    const q = tf.mul(linear(xq, p.wq), 1 / Math.sqrt(headDim));
    const k = linear(xkv, p.wk);
    const v = linear(xkv, p.wv);
    let out: tf.Tensor;
    if (heads === 1) {
      // One head (the cross-attention default): no head transposes at all.
      const kT = tf.transpose(k, [0, 2, 1]) as tf.Tensor3D;
      let scores: tf.Tensor3D = matMul(q as tf.Tensor3D, kT);
      if (bias !== undefined) scores = tf.add(scores, bias);
      out = matMul(tf.softmax(scores) as tf.Tensor3D, v as tf.Tensor3D);
    } else {
      const qh = tf.reshape(tf.transpose(tf.reshape(q, [B, Lq, heads, headDim]), [0, 2, 1, 3]), [B * heads, Lq, headDim]);
      const kT = tf.reshape(tf.transpose(tf.reshape(k, [B, N, heads, headDim]), [0, 2, 3, 1]), [B * heads, headDim, N]);
      const vh = tf.reshape(tf.transpose(tf.reshape(v, [B, N, heads, headDim]), [0, 2, 1, 3]), [B * heads, N, headDim]);
      let scores: tf.Tensor = matMul(qh as tf.Tensor3D, kT as tf.Tensor3D);
      if (bias !== undefined) {
        scores = tf.reshape(tf.add(tf.reshape(scores, [B, heads, Lq, N]), tf.reshape(bias, [B, 1, 1, N])), [B * heads, Lq, N]);
      }
      const o = matMul(tf.softmax(scores) as tf.Tensor3D, vh as tf.Tensor3D);
      out = tf.reshape(tf.transpose(tf.reshape(o, [B, heads, Lq, headDim]), [0, 2, 1, 3]), [B, Lq, inner]);
    }
    return linear(out, p.wo, p.bo) as tf.Tensor3D;
  });
}

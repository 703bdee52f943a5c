import * as tf from './tfjs.js';
import { linear } from './linear.js';
import { matMul } from './matmul.js';

/** One learned query attending over the latents (docs/model.md section 3, AttentionPool). */
export interface AttentionPoolParams {
  /** The learned query, stored as a column [d, 1] so scores are one linear(). */
  query: tf.Tensor2D;
  /** [d, d] */
  wk: tf.Tensor2D;
  /** [d, d] */
  wv: tf.Tensor2D;
}

/** z [B,L,d] -> [B,d]: softmax_l(<query, z_l Wk> / sqrt(d)) weighted sum of z_l Wv. */
export function attentionPool(z: tf.Tensor3D, p: AttentionPoolParams): tf.Tensor2D {
  const [B, L, d] = z.shape;
  if (p.query.shape[0] !== d || p.query.shape[1] !== 1) {
    throw new Error(`attentionPool: query has shape [${p.query.shape}], expected [${d}, 1]`);
  }
  return tf.tidy(() => {
    const k = linear(z, p.wk);
    const scores = tf.reshape(tf.mul(linear(k, p.query), 1 / Math.sqrt(d)), [B, 1, L]);
    const w = tf.softmax(scores) as tf.Tensor3D;
    const v = linear(z, p.wv) as tf.Tensor3D;
    return tf.reshape(matMul(w, v), [B, d]) as tf.Tensor2D;
  });
}

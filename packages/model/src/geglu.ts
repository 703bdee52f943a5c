import * as tf from '@tensorflow/tfjs';
import { linear } from './linear.js';

/** Parameters of the GEGLU feed-forward: d -> 2*mult*d -> gate -> mult*d -> d. */
export interface GegluParams {
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

/** Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default F.gelu). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/**
 * GEGLU feed-forward (ATOMIZER.md section 3): h = x W1 + b1 split in two halves
 * [a | g] along the last axis, y = (a * gelu(g)) W2 + b2.
 */
export function geglu(x: tf.Tensor, p: GegluParams): tf.Tensor {
  const hidden = p.w1.shape[1];
  if (hidden % 2 !== 0 || p.w2.shape[0] !== hidden / 2) {
    throw new Error(`geglu: w1 [${p.w1.shape}] must output twice w2's input width [${p.w2.shape}]`);
  }
  return tf.tidy(() => {
    const h = linear(x, p.w1, p.b1);
    const [a, g] = tf.split(h, 2, -1) as [tf.Tensor, tf.Tensor];
    return linear(tf.mul(a, gelu(g)), p.w2, p.b2);
  });
}

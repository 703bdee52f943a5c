import * as tf from '@tensorflow/tfjs';

/** Parameters of a LayerNorm over the last axis. */
export interface LayerNormParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

/**
 * LayerNorm over the last axis (pre-LN of ATOMIZER.md section 3):
 * (x - mean) / sqrt(var + eps) * gamma + beta, with the biased variance as in PyTorch.
 */
export function layerNorm(x: tf.Tensor, p: LayerNormParams, eps = 1e-5): tf.Tensor {
  const last = x.shape[x.rank - 1];
  if (p.gamma.shape[0] !== last || p.beta.shape[0] !== last) {
    throw new Error(`layerNorm: input has ${String(last)} features (shape [${x.shape}]) but gamma/beta have [${p.gamma.shape}]/[${p.beta.shape}]`);
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(xhat, p.gamma), p.beta);
  });
}

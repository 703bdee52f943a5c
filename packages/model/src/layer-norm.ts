import * as tf from './tfjs.js';
import { nativeKernelsActive } from './native-kernels.js';

/** Parameters of a LayerNorm over the last axis. */
export interface LayerNormParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

// LayerNorm with a hand-written gradient. Why: built from tf.moments and
// autograd, one LayerNorm was ~30 small kernels forward + backward on the wasm
// backend, and a small-preset step runs 14 of them; each kernel costs 20-50 us
// of JS dispatch whatever its size (docs/benchmarks.md, "What closes the gap").
// Here: 9 kernels forward, 11 backward.
//
// Backward of y = xhat * gamma + beta, xhat = (x - mean) * r, r = 1/sqrt(var + eps),
// with g = dy * gamma and means over the last axis (the standard LayerNorm
// derivative, e.g. Ba et al. 2016; same as PyTorch's):
//   dx     = r * (g - mean(g) - xhat * mean(g * xhat))
//   dgamma = sum over all leading axes of dy * xhat
//   dbeta  = sum over all leading axes of dy

const fused = new Map<number, (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor>();

function fusedLayerNorm(eps: number): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  let f = fused.get(eps);
  if (f !== undefined) return f;
  f = tf.customGrad((xi, gi, bi, save) => {
    const x = xi as tf.Tensor;
    const gamma = gi as tf.Tensor;
    const beta = bi as tf.Tensor;
    const xc = tf.sub(x, tf.mean(x, -1, true));
    const r = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), -1, true), eps));
    const xhat = tf.mul(xc, r);
    (save as tf.GradSaveFunc)([xhat, r, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const lead = Array.from({ length: dy.rank - 1 }, (_, i) => i);
        const g = tf.mul(dy, sg);
        const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sx, tf.mean(tf.mul(g, sx), -1, true)));
        return [tf.mul(inner, sr), tf.sum(tf.mul(dy, sx), lead), tf.sum(dy, lead)];
      },
    };
  }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
  fused.set(eps, f);
  return f;
}

// With @atomizer/wasm-native's kernels the same forward and backward are one native
// kernel each (AtomizerLayerNorm, AtomizerLayerNormGrad: the 9 + 11 kernels above in
// one pass over the rows, sums in double), ~20 fewer kernel dispatches per LayerNorm.
const nativeFused = new Map<number, (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor>();

function nativeLayerNorm(eps: number): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  let f = nativeFused.get(eps);
  if (f !== undefined) return f;
  f = tf.customGrad((xi, gi, bi, save) => {
    const gamma = gi as tf.Tensor;
    const [y, xhat, r] = tf
      .engine()
      .runKernel('AtomizerLayerNorm', { x: xi as tf.Tensor, gamma, beta: bi as tf.Tensor }, { epsilon: eps }) as tf.Tensor[];
    (save as tf.GradSaveFunc)([xhat as tf.Tensor, r as tf.Tensor, gamma]);
    return {
      value: y as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel('AtomizerLayerNormGrad', { dy, xhat: sx, r: sr, gamma: sg }, {}) as tf.Tensor[];
      },
    };
  }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
  nativeFused.set(eps, f);
  return f;
}

/**
 * LayerNorm over the last axis (pre-LN of docs/model.md section 3):
 * (x - mean) / sqrt(var + eps) * gamma + beta, with the biased variance as in PyTorch.
 */
export function layerNorm(x: tf.Tensor, p: LayerNormParams, eps = 1e-5): tf.Tensor {
  const last = x.shape[x.rank - 1];
  if (p.gamma.shape[0] !== last || p.beta.shape[0] !== last) {
    throw new Error(
      `layerNorm: input has ${String(last)} features (shape [${x.shape}]) but gamma/beta have [${p.gamma.shape}]/[${p.beta.shape}]`,
    );
  }
  if (nativeKernelsActive() && tf.getKernel('AtomizerLayerNorm', 'wasm') !== undefined) return nativeLayerNorm(eps)(x, p.gamma, p.beta);
  return fusedLayerNorm(eps)(x, p.gamma, p.beta);
}

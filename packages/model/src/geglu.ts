import * as tf from './tfjs.js';
import { linear } from './linear.js';
import { nativeKernelsActive } from './native-kernels.js';

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

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

// The gate h = [a | g] -> a * gelu(g) as one custom-gradient op. Why: through
// tfjs's autograd the split, GELU and product took ~20 small kernels forward +
// backward per feed-forward; on the wasm backend each kernel costs 20-50 us of
// dispatch whatever its size (docs/benchmarks.md, "What closes the gap").
// Forward keeps Phi(g); backward (gelu'(g) = Phi(g) + g phi(g), phi the normal density):
//   da = dy * g Phi(g),  dg = dy * a * (Phi(g) + g phi(g)),  dh = [da | dg]
const gate = tf.customGrad((hi, save) => {
  const h = hi as tf.Tensor;
  const [a, g] = tf.split(h, 2, -1) as [tf.Tensor, tf.Tensor];
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(g, Math.SQRT1_2)), 1), 0.5);
  const gel = tf.mul(g, cdf);
  (save as tf.GradSaveFunc)([a, g, cdf, gel]);
  return {
    value: tf.mul(a, gel),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sg, scdf, sgel] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(sg), -0.5)), INV_SQRT_2PI);
      const dgelu = tf.add(scdf, tf.mul(sg, pdf));
      return tf.concat([tf.mul(dy, sgel), tf.mul(tf.mul(dy, sa), dgelu)], -1);
    },
  };
}) as (h: tf.Tensor) => tf.Tensor;

/** [a | g] (last axis, two equal halves) -> a * gelu(g), with the hand-written gradient above. */
export function gegluGate(h: tf.Tensor): tf.Tensor {
  const w = h.shape[h.rank - 1] as number;
  if (w % 2 !== 0) throw new Error(`gegluGate: last axis of [${h.shape}] must have an even width (two halves [a | g])`);
  return gate(h);
}

// With @atomizer/wasm-native's kernels the bias add of x W1 and the gate above are one
// native kernel each way (AtomizerGegluGate/-Grad: the same float32 operations in the
// same order, so the same bits), which saves ~20 kernels and their passes over the
// [rows, 2 mult d] hidden activations, and keeps less for the backward pass: x W1 and
// Phi(g) instead of x W1 (which the bias Add kept for its shape), a, g, Phi(g) and gelu(g).
const nativeGate = tf.customGrad((xi, bi, save) => {
  const x = xi as tf.Tensor;
  const bias = bi as tf.Tensor;
  const [y, cdf] = tf.engine().runKernel('AtomizerGegluGate', { x, bias }, {}) as tf.Tensor[];
  (save as tf.GradSaveFunc)([x, bias, cdf as tf.Tensor]);
  return {
    value: y as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sb, scdf] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      return tf.engine().runKernel('AtomizerGegluGateGrad', { dy, x: sx, bias: sb, cdf: scdf }, {}) as tf.Tensor[];
    },
  };
}) as (x: tf.Tensor, bias: tf.Tensor) => tf.Tensor;

/** True when the fused native gate (with the bias of its product) is registered and the native kernels are on. */
export function nativeGegluActive(): boolean {
  return nativeKernelsActive() && tf.getKernel('AtomizerGegluGate', 'wasm') !== undefined;
}

/**
 * GEGLU feed-forward (docs/model.md section 3): h = x W1 + b1 split in two halves
 * [a | g] along the last axis, y = (a * gelu(g)) W2 + b2.
 */
export function geglu(x: tf.Tensor, p: GegluParams): tf.Tensor {
  const hidden = p.w1.shape[1];
  if (hidden % 2 !== 0 || p.w2.shape[0] !== hidden / 2) {
    throw new Error(`geglu: w1 [${p.w1.shape}] must output twice w2's input width [${p.w2.shape}]`);
  }
  return tf.tidy(() => {
    const gated = nativeGegluActive() ? nativeGate(linear(x, p.w1), p.b1) : gegluGate(linear(x, p.w1, p.b1));
    return linear(gated, p.w2, p.b2);
  });
}

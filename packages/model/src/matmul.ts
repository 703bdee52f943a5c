import * as tf from './tfjs.js';
import { nativeKernelsActive } from './native-kernels.js';

// Matrix products with a hand-written gradient that only ever calls plain
// (non-transposed) matMul on explicitly transposed operands.
//
// Why: tfjs's built-in MatMul gradient uses matMul(dy, b, false, true) and
// matMul(a, dy, true, false). On tfjs-backend-wasm 4.22 (XNNPACK, SIMD, one thread)
// the transpose flags take a slow path. Measured on this machine (2-core x64,
// Node 20, machine shared with other jobs), ms per product (mean of 10 after a
// warm-up), plain vs transposeB vs transposeA vs explicit tf.transpose + plain:
//   [4096x64]x[64x256]    25 |  85 | 173 | 15
//   [256x4096]x[4096x64]  3.7 | 45 |  72 | 14
//   [1024x256]x[256x1024] 21 | 194 | 885 | 28
// i.e. transposeB is 3-12x and transposeA 7-40x slower than transposing first.

/** Swaps the last two axes (rank 2 or 3). */
function swapLast(t: tf.Tensor): tf.Tensor {
  return t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [0, 2, 1]);
}

const product = tf.customGrad((a, b, save) => {
  const x = a as tf.Tensor;
  const y = b as tf.Tensor;
  (save as tf.GradSaveFunc)([x, y]);
  return {
    value: tf.matMul(x, y),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      // Native kernels (OpenBLAS): the transpose flags cost nothing, no explicit transposes.
      if (nativeKernelsActive()) return [tf.matMul(dy, sb, false, true), tf.matMul(sa, dy, true, false)];
      // d(a b)/da = dy b^T, d(a b)/db = a^T dy. For db, transpose the narrower of
      // a [m,k] and dy [m,n]: when n < k, db = (dy^T a)^T, whose final transpose is
      // only k x n. In a dense layer over B*N atoms (k = 84 token features, n = 32)
      // this transposes [B*N, 32] instead of [B*N, 84]: the transposes of the tokens
      // were ~11% of a small-preset training step (docs/benchmarks.md, "Model: network").
      const k = sa.shape[sa.rank - 1] as number;
      const n = dy.shape[dy.rank - 1] as number;
      // Rank 2 only: in the batched attention products the alternative's left operand
      // would be the short one ([B,n,m] x [B,m,k] with k = N atoms), wasm's slow shape.
      const db = sa.rank === 2 && n < k ? swapLast(tf.matMul(swapLast(dy), sa)) : tf.matMul(swapLast(sa), dy);
      return [tf.matMul(dy, swapLast(sb)), db];
    },
  };
});

/**
 * a [m,k] x b [k,n] -> [m,n], or batched a [B,m,k] x b [B,k,n] -> [B,m,n]
 * (same batch size on both sides), with the fast gradient described above.
 */
export function matMul<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T): T {
  if (a.rank !== b.rank || (a.rank !== 2 && a.rank !== 3)) {
    throw new Error(`matMul expects two rank-2 or two rank-3 tensors; got shapes [${a.shape}] and [${b.shape}]`);
  }
  const k = a.shape[a.rank - 1];
  if (k !== b.shape[b.rank - 2] || (a.rank === 3 && a.shape[0] !== b.shape[0])) {
    throw new Error(`matMul shapes do not match: [${a.shape}] x [${b.shape}]`);
  }
  return product(a, b) as T;
}

import * as tf from '@tensorflow/tfjs';

// matMul whose gradient transposes whichever operands are cheapest to move.
//
// matmul.ts computes the gradient of C = A B with plain matMuls on explicitly
// transposed operands (the transpose-flag variants are 3-40x slower on
// tfjs-backend-wasm 4.22): dA = dC B^T, dB = A^T dC. When A is the tall
// activation of a linear layer ([B*N, in], e.g. LayerNorm(tokens) [8192, 84])
// and the layer is narrow (out = 32), transposing A moves m*k elements, while
// the equivalent dB = (dC^T A)^T moves only m*n + n*k. The wasm Transpose
// kernel costs about 20 ns per element on our machine, so for the token k/v
// projections this is 14.6 ms vs 3.1 ms of CPU per weight gradient (measured by
// packages/model/bench/matmul-fast-grad.bench.ts; docs/benchmarks.md). The same
// choice is made for dA. Same values as matmul.ts (tested), fewer bytes moved.

/** Swaps the last two axes (rank 2 or 3). */
function swapLast(t: tf.Tensor): tf.Tensor {
  return t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [0, 2, 1]);
}

/**
 * X^T Y for X [.., m, k], Y [.., m, n] -> [.., k, n], transposing X (m*k
 * elements) or Y and the result (m*n + k*n), whichever moves fewer.
 */
export function transposedProductLeft(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const m = x.shape[x.rank - 2]!;
  const k = x.shape[x.rank - 1]!;
  const n = y.shape[y.rank - 1]!;
  if (m * n + k * n < m * k) return swapLast(tf.matMul(swapLast(y), x));
  return tf.matMul(swapLast(x), y);
}

/**
 * Y X^T for Y [.., m, n], X [.., k, n] -> [.., m, k], transposing X (k*n
 * elements) or Y and the result (m*n + m*k), whichever moves fewer.
 */
export function transposedProductRight(y: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const m = y.shape[y.rank - 2]!;
  const n = y.shape[y.rank - 1]!;
  const k = x.shape[x.rank - 2]!;
  if (m * n + m * k < k * n) return swapLast(tf.matMul(x, swapLast(y)));
  return tf.matMul(y, swapLast(x));
}

const product = tf.customGrad((a, b, save) => {
  const x = a as tf.Tensor;
  const y = b as tf.Tensor;
  (save as tf.GradSaveFunc)([x, y]);
  return {
    value: tf.matMul(x, y),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      // dA = dC B^T, dB = A^T dC (plain backprop), each in its cheaper layout.
      return [transposedProductRight(dy, sb), transposedProductLeft(sa, dy)];
    },
  };
});

/**
 * Same contract as matmul.ts's matMul: a [m,k] x b [k,n] -> [m,n], or batched
 * a [B,m,k] x b [B,k,n] -> [B,m,n]; gradient through transposedProduct*.
 */
export function matMulFastGrad<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T): T {
  if (a.rank !== b.rank || (a.rank !== 2 && a.rank !== 3)) {
    throw new Error(`matMulFastGrad expects two rank-2 or two rank-3 tensors; got shapes [${a.shape}] and [${b.shape}]`);
  }
  const k = a.shape[a.rank - 1];
  if (k !== b.shape[b.rank - 2] || (a.rank === 3 && a.shape[0] !== b.shape[0])) {
    throw new Error(`matMulFastGrad shapes do not match: [${a.shape}] x [${b.shape}]`);
  }
  return product(a, b) as T;
}

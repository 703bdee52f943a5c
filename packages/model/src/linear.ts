import * as tf from './tfjs.js';
import { matMul } from './matmul.js';

// A dense layer y = x W (+ b). Inputs of any rank are flattened to one rank-2
// product ([B,N,d] -> [B*N,d]): one large matMul is the fastest shape for the
// wasm backend, and its gradient (dW = X^T dY, dX = dY W^T) goes through
// matMul's explicit-transpose custom gradient (see matmul.ts for the figures).

/**
 * x [..., in] times w [in, out], plus b [out] when given -> [..., out].
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const [inDim, outDim] = w.shape;
  const last = x.shape[x.rank - 1];
  if (last !== inDim) {
    throw new Error(`linear: input has ${String(last)} features (shape [${x.shape}]) but the weight expects ${inDim} ([${w.shape}])`);
  }
  if (b !== undefined && b.shape[0] !== outDim) {
    throw new Error(`linear: bias has shape [${b.shape}], expected [${outDim}]`);
  }
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, inDim]) as tf.Tensor2D);
  let y: tf.Tensor2D = matMul(x2, w);
  if (b !== undefined) y = tf.add(y, b);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

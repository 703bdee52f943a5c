import * as tf from './tfjs.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeReadSquares } from './native-host.js';

// A float32 tensor's values for reading once, without the copy dataSync makes on the
// wasm backend (readSync slices the heap into a new buffer): a view over the wasm heap,
// valid until the next tensor is created (heap growth replaces the buffer). The
// gradient read-back copies each gradient straight into the flat array with it
// (training.ts): 60 M floats per step on the paper preset. Other backends: dataSync.

/** The values of a float32 tensor; on wasm a view over the heap to copy from at once, never to keep. */
export function float32Values(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`float32Values: a float32 tensor expected, got ${t.dtype}`);
  if (tf.getBackend() === 'wasm') return (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
}

/**
 * Copies float32 tensors into `out` at `offsets`, one after the other, and returns the
 * float64 sum of the squares of what it copied, in that order: the bits globalNorm
 * (clip-grad-norm.ts) computes over `out` when the tensors fill it in order. The addon
 * does both in one pass over the wasm heap; elsewhere the values are copied and the sum
 * is left to the caller (undefined).
 */
export function readWithSquares(
  tensors: readonly tf.Tensor[],
  offsets: readonly number[],
  out: Float32Array,
  squares = true,
): number | undefined {
  // (the fused loop runs at the pace of its float64 sum, slower than a plain copy: only when the sum is wanted)
  const fused = squares && tf.getBackend() === 'wasm' ? nativeReadSquares() : undefined;
  if (fused === undefined) {
    tensors.forEach((t, i) => out.set(float32Values(t), offsets[i]));
    return undefined;
  }
  const backend = tf.backend() as BackendWasm;
  let sq = 0;
  tensors.forEach((t, i) => {
    if (t.dtype !== 'float32') throw new Error(`readWithSquares: a float32 tensor expected, got ${t.dtype}`);
    const at = backend.dataIdMap.get(t.dataId)?.memoryOffset;
    if (at === undefined) throw new Error('readWithSquares: tensor data is not on the wasm heap');
    const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
    sq = fused(heap, at, out, offsets[i] as number, t.size, sq);
  });
  return sq;
}

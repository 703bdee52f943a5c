import * as tf from './tfjs.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

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

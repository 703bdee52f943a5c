import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeSgemm } from './addon.js';

// PROTOTYPE (benchmarks only, off by default): the wasm backend's BatchMatMul
// kernel replaced by OpenBLAS cblas_sgemm through the N-API addon, reading the
// operands in place on the wasm heap (Float32Array views over the heap are
// handed to the addon; no copies) and taking the transpose flags as cblas flags.
// Registered with tf.registerKernel like src/wasm-slice.ts; uninstall() restores
// the original kernel. Not used by the model (see docs/benchmarks.md for what
// shipping it would take).

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

/** Installs the native BatchMatMul for 'wasm'; returns a function restoring the original kernel. */
export function installNativeBatchMatMul(addon: NativeSgemm): () => void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (original === undefined) throw new Error('installNativeBatchMatMul: the wasm BatchMatMul kernel is not registered');
  const kernel = (args: KernelArgs): tf.TensorInfo => {
    const a = args.inputs['a'] as tf.TensorInfo;
    const b = args.inputs['b'] as tf.TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as BackendWasm;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length !== 3 || b.shape.length !== 3) {
      return original.kernelFunc(args) as tf.TensorInfo;
    }
    const [ba, a1, a2] = a.shape as [number, number, number];
    const [bb, b1, b2] = b.shape as [number, number, number];
    const m = transposeA ? a2 : a1;
    const k = transposeA ? a1 : a2;
    const n = transposeB ? b1 : b2;
    if ((transposeB ? b2 : b1) !== k || (ba !== bb && ba !== 1 && bb !== 1)) return original.kernelFunc(args) as tf.TensorInfo;
    const batch = Math.max(ba, bb);
    // makeOutput may grow the heap (detaching views): take the views after it.
    const out = backend.makeOutput([batch, m, n], 'float32');
    const av = backend.typedArrayFromHeap(a) as Float32Array;
    const bv = backend.typedArrayFromHeap(b) as Float32Array;
    const ov = backend.typedArrayFromHeap(out) as Float32Array;
    for (let i = 0; i < batch; i++) {
      const ao = (ba === 1 ? 0 : i) * m * k;
      const bo = (bb === 1 ? 0 : i) * k * n;
      addon.sgemm(av.subarray(ao, ao + m * k), bv.subarray(bo, bo + k * n), ov.subarray(i * m * n, (i + 1) * m * n), m, k, n, transposeA, transposeB);
    }
    return out;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: kernel as unknown as tf.KernelFunc });
  return () => {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel(original);
  };
}

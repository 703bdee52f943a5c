import * as tf from './tfjs.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

// Slice, SplitV and Unpack kernels for tfjs-backend-wasm that read their input
// in place on the wasm heap.
//
// Why: the wasm backend's own Slice kernel (4.22) starts with
// backend.readSync(x), which COPIES the whole input tensor out of the heap into
// a new ArrayBuffer before copying the slice; SplitV and Unpack call it once per
// output. Splitting a [8192, 32] tensor into 8 samples therefore copied 8 MB and
// allocated 8 buffers of 1 MB (3-10 ms, plus garbage-collector work), the
// largest kernel of a small-preset training step after the per-sample attention
// core started splitting its inputs (docs/benchmarks.md). These kernels copy
// only the slice, from a Float32Array view over the heap. Strings keep the
// original kernel. Same results: the output is the same elements in the same order.

interface SliceAttrs {
  begin: number | number[];
  size?: number | number[];
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

/** Copies the box [begin, begin + size) of a row-major `shape` array into `out`. */
function copyBox(
  x: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> },
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: { set(a: ArrayLike<number>, offset: number): void },
): void {
  const rank = shape.length;
  if (rank === 0) {
    out.set(x.subarray(0, 1), 0);
    return;
  }
  const strides = tf.util.computeStrides([...shape]);
  const inner = size[rank - 1] as number;
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= size[d] as number;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let off = begin[rank - 1] as number;
    for (let d = 0; d < rank - 1; d++) off += ((begin[d] as number) + (idx[d] as number)) * (strides[d] as number);
    out.set(x.subarray(off, off + inner), o);
    o += inner;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (size[d] as number)) break;
      idx[d] = 0;
    }
  }
}

function sliceInPlace(x: tf.TensorInfo, begin: number[], size: number[], backend: BackendWasm): tf.TensorInfo {
  // makeOutput may grow the heap, which detaches earlier views: take the views after it.
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const at = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    ov.set(xv.subarray(at, at + tf.util.sizeFromShape(size)));
  } else {
    copyBox(xv, x.shape, begin, size, ov);
  }
  return out;
}

let installed = false;

/** Replaces the wasm backend's Slice, SplitV and Unpack kernels (idempotent). Call after the wasm backend package is loaded. */
export function installWasmSliceKernels(): void {
  if (installed) return;
  const original = (name: string) => tf.getKernel(name, 'wasm');
  const slice0 = original('Slice');
  const split0 = original('SplitV');
  const unpack0 = original('Unpack');
  if (slice0 === undefined || split0 === undefined || unpack0 === undefined) {
    throw new Error('installWasmSliceKernels: the wasm backend kernels are not registered (import @tensorflow/tfjs-backend-wasm first)');
  }
  const slice = (args: KernelArgs): tf.TensorInfo => {
    const x = args.inputs['x'] as tf.TensorInfo;
    if (x.dtype === 'string') return slice0.kernelFunc(args) as tf.TensorInfo;
    const attrs = args.attrs as unknown as SliceAttrs;
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
    return sliceInPlace(x, begin!, size!, args.backend as BackendWasm);
  };
  const splitV = (args: KernelArgs): tf.TensorInfo[] => {
    const x = args.inputs['x'] as tf.TensorInfo;
    if (x.dtype === 'string') return split0.kernelFunc(args) as tf.TensorInfo[];
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[ax] = s;
      const out = sliceInPlace(x, [...begin], size, args.backend as BackendWasm);
      begin[ax] = (begin[ax] as number) + s;
      return out;
    });
  };
  const unpack = (args: KernelArgs): tf.TensorInfo[] => {
    const value = args.inputs['value'] as tf.TensorInfo;
    if (value.dtype === 'string') return unpack0.kernelFunc(args) as tf.TensorInfo[];
    const rank = value.shape.length;
    let axis = (args.attrs as unknown as { axis: number }).axis;
    if (axis < 0) axis += rank;
    const outShape = value.shape.filter((_, i) => i !== axis);
    const size = [...value.shape];
    size[axis] = 1;
    return Array.from({ length: value.shape[axis] as number }, (_, i) => {
      const begin = new Array<number>(rank).fill(0);
      begin[axis] = i;
      const { dataId, dtype } = sliceInPlace(value, begin, size, args.backend as BackendWasm);
      return { dataId, dtype, shape: outShape };
    });
  };
  for (const [name, kernelFunc] of [
    ['Slice', slice],
    ['SplitV', splitV],
    ['Unpack', unpack],
  ] as const) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  installed = true;
}

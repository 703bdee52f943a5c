import * as tf from './tfjs.js';

// Whether the wasm backend currently runs the native kernels of
// @atomizer/wasm-native (set by selectBackend). With them the layout choices
// made for the stock wasm kernels no longer pay: OpenBLAS takes the transpose
// flags of a product for free (the stock wasm BatchMatMul is 3-40x slower with
// them, hence the explicit transposes of matmul.ts), and batched products are
// as fast as rank-2 ones (hence the per-sample row blocks of attention-rows.ts).

let active = false;

/** Called by selectBackend after turning the native kernels on or off. */
export function setNativeKernelsActive(on: boolean): void {
  active = on;
}

/** True when the active tfjs backend is wasm with the native kernels in place. */
export function nativeKernelsActive(): boolean {
  return active && tf.getBackend() === 'wasm';
}

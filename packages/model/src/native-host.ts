// Host loops of a training step that @atomizer/wasm-native's addon runs natively once
// selectBackend has turned the native kernels on: the Adam step over the flat weights
// (optimizer.ts; 60 M parameters of the paper preset took ~0.5 s per step in
// JavaScript). The addon's loop does applyAdamRange's float64 operations in the same
// order, so the result has the same bits wherever it runs (optimizer-native.test.ts):
// a process without the addon stays bit-compatible with one that has it.

/** One Adam step on [from, to) of params, grads, m, v: the arguments of applyAdamRange, flattened. */
export type NativeAdamRange = (
  params: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  beta1: number,
  beta2: number,
  eps: number,
  stepSize: number,
  bc2Sqrt: number,
  l2: number,
  keep: number,
) => void;

let adam: NativeAdamRange | undefined;

/** Called by selectBackend: the addon's Adam loop, or undefined for the JavaScript one. */
export function setNativeAdam(fn: NativeAdamRange | undefined): void {
  adam = fn;
}

/** The native Adam loop when the addon is loaded and enabled, else undefined. */
export function nativeAdam(): NativeAdamRange | undefined {
  return adam;
}

// Host loops of a training step that @atomizer/wasm-native's addon runs natively once
// selectBackend has turned the native kernels on: the Adam step over the flat weights
// (optimizer.ts; 60 M parameters of the paper preset took ~0.45 s per step in
// JavaScript, 0.1 s in the addon) and the sum of squares of the gradient's global norm
// (clip-grad-norm.ts), also taken while the gradient is read back from the heap
// (tensor-view.ts: one pass instead of a copy and a second pass). The addon's loops do
// the JavaScript loops' float64 operations in the same order, so the results have the
// same bits wherever they run (optimizer-native.test.ts, clip-grad-norm-native.test.ts):
// a process without the addon stays bit-compatible with one that has it.

import type { NativeAddon } from '@atomizer/wasm-native';

/** One Adam step on [from, to) of params, grads, m, v: the arguments of applyAdamRange, flattened. */
export type NativeAdamRange = NativeAddon['adam'];

/** init + the sum of x[i]^2 over [from, to), in float64, index order. */
export type NativeSumSquares = NativeAddon['sumSquares'];

/** Copies n floats at srcOff of the wasm heap to dst[dstIndex..]; returns init + their sum of squares (NativeSumSquares' order). */
export type NativeReadSquares = NativeAddon['readSquares'];

/** The loops the addon provides (an older addon may lack some). */
export interface NativeHostLoops {
  adam?: NativeAdamRange;
  sumSquares?: NativeSumSquares;
  readSquares?: NativeReadSquares;
}

let loops: NativeHostLoops = {};

/** Called by selectBackend: the addon's loops, or {} for the JavaScript ones. */
export function setNativeHostLoops(l: NativeHostLoops): void {
  loops = { ...l };
}

/** Replaces the Adam loop only (A/B benchmarks and tests). */
export function setNativeAdam(fn: NativeAdamRange | undefined): void {
  loops = { ...loops, adam: fn };
}

/** The native Adam loop when the addon is loaded and enabled, else undefined. */
export function nativeAdam(): NativeAdamRange | undefined {
  return loops.adam;
}

/** Replaces the sum-of-squares loop only (tests). */
export function setNativeSumSquares(fn: NativeSumSquares | undefined): void {
  loops = { ...loops, sumSquares: fn };
}

/** The native sum of squares when the addon is loaded and enabled, else undefined. */
export function nativeSumSquares(): NativeSumSquares | undefined {
  return loops.sumSquares;
}

/** Replaces the fused read-back loop only (tests). */
export function setNativeReadSquares(fn: NativeReadSquares | undefined): void {
  loops = { ...loops, readSquares: fn };
}

/** The native read-back with the sum of squares when the addon is loaded and enabled, else undefined. */
export function nativeReadSquares(): NativeReadSquares | undefined {
  return loops.readSquares;
}

// @atomizer/wasm-native: native CPU kernels (OpenBLAS + C, through an N-API addon
// built at install time) for TensorFlow.js's wasm backend. Optional: when the
// addon is missing, enableNativeKernels() says why and changes nothing.
export { addonPath, loadAddon, nativeDisabledByEnv, type AddonLoad, type NativeAddon } from './addon.js';
export {
  broadcastPlan,
  collapsePermutation,
  FUSED_KERNELS,
  NATIVE_KERNELS,
  reductionBlock,
  registerNativeKernels,
  type FusedKernelName,
  type InstalledKernels,
  type NativeKernelName,
} from './kernels.js';
export {
  disableNativeKernels,
  enableNativeKernels,
  nativeKernelCounts,
  nativeKernelsEnabled,
  type NativeOptions,
  type NativeStatus,
} from './native.js';

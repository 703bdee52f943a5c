// The TensorFlow.js the model runs on, and what every module of this package imports as `tf`:
// @tensorflow/tfjs-core's ops, the gradient of every op and the chained tensor methods
// (x.reshape(), ...; tfjs-core alone registers neither), and the pure-JavaScript cpu backend,
// all registered once, on first import. The wasm backend and the native ones (tfjs-node,
// tfjs-node-gpu) are loaded by selectBackend (backend.ts) when chosen.
//
// This replaces the @tensorflow/tfjs umbrella, which registered the same things, in the same
// order, but also brought layers, converter, data and webgl (unused here; 240 MB installed).
// tfjs-core comes first, so its engine and Tensor class (on the global namespace) are the ones
// the registrations and the backend attach to (scripts/bundle-tfjs-registrations.ts).
export * from '@tensorflow/tfjs-core';
import '../vendor/tfjs-registrations.js';
import '@tensorflow/tfjs-backend-cpu';
// The chained methods' types (module augmentations of Tensor); at run time they come from the bundle.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

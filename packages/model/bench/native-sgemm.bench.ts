// Products at the benchmark's shapes through tf.matMul on the wasm backend: the
// stock wasm BatchMatMul (XNNPACK; operands pre-transposed on the host, its fast
// layout) against the native kernel of @atomizer/wasm-native (OpenBLAS sgemm in
// place on the wasm heap, transposes as sgemm flags), one thread each, same
// process. Checks both give the same product. Prints best CPU ms and GFLOP/s.
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/native-sgemm.bench.ts

import { SeededRng } from '@atomizer/tokenizer';
import { disableNativeKernels, enableNativeKernels } from '@atomizer/wasm-native';
import * as tf from '../src/tfjs.js';
import { selectBackend } from '../src/backend.js';
import { timed } from './clock.js';

function random(n: number, seed: number): Float32Array {
  const rng = new SeededRng(seed);
  return Float32Array.from({ length: n }, () => rng.next() - 0.5);
}

function best(fn: () => void, calls: number, repeats = 5): number {
  fn();
  let b = Infinity;
  for (let r = 0; r < repeats; r++)
    b = Math.min(
      b,
      timed(() => {
        for (let i = 0; i < calls; i++) fn();
      }).cpuMs / calls,
    );
  return b;
}

await selectBackend('wasm', undefined, { native: false });
const probe = enableNativeKernels();
if (!probe.enabled) {
  console.log(`native kernels unavailable, nothing to compare: ${probe.reason}`);
  process.exit(0);
}
disableNativeKernels();
// [m, k, n, transA, what]
const shapes: Array<[number, number, number, boolean, string]> = [
  [1024, 1024, 1024, false, 'peak'],
  [8192, 84, 32, false, 'token k/v projection'],
  [84, 8192, 32, true, 'its weight gradient X^T dY'],
  [8192, 32, 84, false, 'its input gradient dY W^T'],
  [256, 64, 512, false, 'GEGLU in'],
  [32, 32, 1024, false, 'one sample: q k^T'],
  [1024, 32, 32, false, 'one sample: k q^T'],
];
console.log(`node ${process.version}, ${probe.detail}, best CPU ms per product`);
console.log('| product | use | native (OpenBLAS, flags) | GFLOP/s | stock wasm (plain layout) | GFLOP/s | native / wasm |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const [m, k, n, transA, what] of shapes) {
  const a = tf.tensor2d(random(m * k, 1), transA ? [k, m] : [m, k]);
  const b = tf.tensor2d(random(k * n, 2), [k, n]);
  const calls = m * k * n > 1e8 ? 3 : 20;
  enableNativeKernels();
  const nativeMs = best(() => tf.matMul(a, b, transA, false).dispose(), calls);
  const got = tf.matMul(a, b, transA, false).dataSync();
  disableNativeKernels();
  // The stock kernel gets the operand already in the layout it multiplies fastest (transposed first).
  const aPlain = transA ? tf.transpose(a) : a;
  const wasmMs = best(() => tf.matMul(aPlain, b).dispose(), calls);
  const ref = tf.matMul(aPlain, b).dataSync();
  let diff = 0;
  for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
  if (diff > 1e-3) throw new Error(`native product differs from the stock one by ${diff} at [${m}x${k}]x[${k}x${n}]`);
  tf.dispose([a, aPlain, b]);
  const f = 2 * m * k * n;
  console.log(
    `| [${m}x${k}]${transA ? '^T' : ''} x [${k}x${n}] | ${what} | ${nativeMs.toFixed(3)} | ${(f / nativeMs / 1e6).toFixed(1)} | ` +
      `${wasmMs.toFixed(3)} | ${(f / wasmMs / 1e6).toFixed(1)} | ${(wasmMs / nativeMs).toFixed(1)}x |`,
  );
}

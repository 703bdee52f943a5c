// The native road, measured standalone (not wired into the model): an N-API
// addon over Debian's OpenBLAS (bench/native/sgemm.c, built here with gcc into
// a temp folder) multiplying Float32Arrays from Node, against tfjs-wasm's plain
// matMul, one thread each, at the benchmark's shapes. Checks both give the same
// product. Prints best CPU ms and GFLOP/s.
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/native-sgemm.bench.ts
//
// Needs gcc, Node's headers (/usr/include/node) and libopenblas0-pthread.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '@atomizer/tokenizer';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { timed } from './clock.js';
import { buildAddon } from './native/addon.js';

function random(n: number, seed: number): Float32Array {
  const rng = new SeededRng(seed);
  return Float32Array.from({ length: n }, () => rng.next() - 0.5);
}

function best(fn: () => void, calls: number, repeats = 5): number {
  fn();
  let b = Infinity;
  for (let r = 0; r < repeats; r++) b = Math.min(b, timed(() => { for (let i = 0; i < calls; i++) fn(); }).cpuMs / calls);
  return b;
}

const dir = mkdtempSync(join(tmpdir(), 'atomizer-native-sgemm-'));
try {
  const native = buildAddon(dir);
  await selectBackend('wasm');
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
  console.log(`node ${process.version}, one thread each, best CPU ms per product`);
  console.log('| product | use | OpenBLAS via N-API | GFLOP/s | tfjs-wasm plain matMul | GFLOP/s | native / wasm |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const [m, k, n, transA, what] of shapes) {
    const a = random(m * k, 1);
    const b = random(k * n, 2);
    const c = new Float32Array(m * n);
    const calls = m * k * n > 1e8 ? 3 : 20;
    const nativeMs = best(() => native.sgemm(a, b, c, m, k, n, transA, false), calls);
    // tfjs gets the operand already in the layout it multiplies fastest (transposed on the host).
    const aT = tf.tensor2d(a, transA ? [k, m] : [m, k]);
    const aPlain = transA ? tf.transpose(aT) : aT;
    const bT = tf.tensor2d(b, [k, n]);
    const wasmMs = best(() => tf.matMul(aPlain, bT).dispose(), calls);
    const ref = tf.matMul(aPlain, bT).dataSync();
    let diff = 0;
    for (let i = 0; i < c.length; i++) diff = Math.max(diff, Math.abs(c[i]! - ref[i]!));
    if (diff > 1e-3) throw new Error(`native sgemm differs from tfjs matMul by ${diff} at [${m}x${k}]x[${k}x${n}]`);
    tf.dispose([aT, aPlain, bT]);
    const f = 2 * m * k * n;
    console.log(
      `| [${m}x${k}]${transA ? '^T' : ''} x [${k}x${n}] | ${what} | ${nativeMs.toFixed(3)} | ${(f / nativeMs / 1e6).toFixed(1)} | ` +
        `${wasmMs.toFixed(3)} | ${(f / wasmMs / 1e6).toFixed(1)} | ${(wasmMs / nativeMs).toFixed(1)}x |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

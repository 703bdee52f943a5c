// Weight gradient dW = X^T dY of a tall, narrow linear layer (the token k/v
// projections: X = LayerNorm(tokens) [B*N, tokenDim], dY [B*N, heads*dh]) on
// tfjs-wasm, by the three routes: transpose X then plain matMul (matmul.ts),
// transpose dY then transpose the small result (matmul-fast-grad.ts), and the
// transposeA flag. Prints best CPU ms of each.
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/matmul-fast-grad.bench.ts [--rows 8192] [--in 84] [--out 32]

import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { selectBackend } from '../src/backend.js';
import { transposedProductLeft } from '../src/matmul-fast-grad.js';
import { timed } from './clock.js';

const opts = new Command().option('--rows <n>', 'B*N', '8192').option('--in <n>', 'input width', '84').option('--out <n>', 'output width', '32').parse().opts() as {
  rows: string;
  in: string;
  out: string;
};
const [m, k, n] = [opts.rows, opts.in, opts.out].map(Number) as [number, number, number];
await selectBackend('wasm');
const X = tf.randomNormal([m, k]);
const dY = tf.randomNormal([m, n]);
const routes = [
  ['transpose X, plain matMul (matmul.ts)', () => tf.matMul(tf.transpose(X), dY)],
  ['transposedProductLeft (matmul-fast-grad.ts)', () => transposedProductLeft(X, dY)],
  ['matMul transposeA flag', () => tf.matMul(X, dY, true, false)],
] as const;
for (const [name, f] of routes) {
  const run = () => tf.tidy(() => void f().dataSync());
  run();
  const r = Array.from({ length: 9 }, () => timed(run));
  console.log(`dW [${k}x${n}] from ${m} rows, ${name.padEnd(44)} best CPU ${Math.min(...r.map((x) => x.cpuMs)).toFixed(2)} ms, wall ${Math.min(...r.map((x) => x.wallMs)).toFixed(2)} ms`);
}

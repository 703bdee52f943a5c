// attention() vs attentionRows() (one head, the cross-attention), forward +
// backward at the benchmark's shapes on tfjs-wasm; prints best wall and CPU ms.
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/attention-rows.bench.ts [--batch 8] [--atoms 1024]

import * as tf from '../src/tfjs.js';
import { Command } from 'commander';
import { attention, keyBias, type AttentionParams } from '../src/attention.js';
import { attentionRows } from '../src/attention-rows.js';
import { selectBackend } from '../src/backend.js';
import { timed } from './clock.js';

const opts = new Command()
  .option('--batch <n>', 'samples', '8')
  .option('--atoms <n>', 'keys (atoms) per sample', '1024')
  .option('--latents <n>', 'queries (latents)', '32')
  .option('--head-dim <n>', 'head width', '32')
  .option('--repeats <n>', 'timed repeats', '5')
  .parse()
  .opts() as { batch: string; atoms: string; latents: string; headDim: string; repeats: string };
const [B, N, L, dh, repeats] = [opts.batch, opts.atoms, opts.latents, opts.headDim, opts.repeats].map(Number) as [
  number,
  number,
  number,
  number,
  number,
];
const dq = 64;
const dkv = 84;

await selectBackend('wasm');
const xq = tf.randomNormal([B, L, dq]) as tf.Tensor3D;
const xkv = tf.randomNormal([B, N, dkv]) as tf.Tensor3D;
const p: AttentionParams = {
  wq: tf.randomNormal([dq, dh], 0, 0.1),
  wk: tf.randomNormal([dkv, dh], 0, 0.1),
  wv: tf.randomNormal([dkv, dh], 0, 0.1),
  wo: tf.randomNormal([dh, dq], 0, 0.1),
  bo: tf.zeros([dq]),
};
const bias = keyBias(tf.ones([B, N]));
const inputs = [xq, xkv, p.wq, p.wk, p.wv, p.wo, p.bo];

for (const [name, f] of [
  ['attention (attention.ts)', attention],
  ['attentionRows (attention-rows.ts)', attentionRows],
] as const) {
  const step = () =>
    tf.tidy(() => {
      const g = tf.grads((...xs: tf.Tensor[]) => {
        const [a, b, wq, wk, wv, wo, bo] = xs as [
          tf.Tensor3D,
          tf.Tensor3D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor1D,
        ];
        return tf.sum(f(a, b, { wq, wk, wv, wo, bo }, 1, dh, bias));
      })(inputs);
      g.forEach((t) => t.dataSync());
    });
  step();
  const runs = Array.from({ length: repeats }, () => timed(step));
  const wall = Math.min(...runs.map((r) => r.wallMs));
  const cpu = Math.min(...runs.map((r) => r.cpuMs));
  console.log(
    `${name.padEnd(36)} forward+backward [${B}x${L} queries, ${N} keys, dh ${dh}]: best wall ${wall.toFixed(1)} ms, best CPU ${cpu.toFixed(1)} ms`,
  );
}

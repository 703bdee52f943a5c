// A/B of one change of the paper-preset speed work (issue 16) in one process: a training
// step (gradients() + Adam.update) with the change off (A) and on (B), alternated round
// by round, CPU time per step of each round, and the check that both give the same loss
// and gradient bits (every change here is meant to keep them).
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/speed-ab.bench.ts --change geglu|adam|recompute|plan \
//     [--preset paper] [--depth n] [--batch 1] [--atoms 512] [--rounds 3] [--steps 1] [--recomputed a,b] [--micro a,b]
//
//   geglu      the fused native GEGLU gate (AtomizerGegluGate) off / on
//   adam       Adam.update in JavaScript / in the addon
//   out        a fresh gradient array each step / one buffer for all steps (gradients' out)
//   recompute  --recomputed a,b: a layers recomputed (A) / b layers (B), e.g. 8,3
//   plan       --recomputed a,b and --micro a,b: two memory plans, e.g. the whole batch of 8 with
//              7 layers recomputed vs micro-batches of 2 with none (other bits: not compared)

import { Command } from 'commander';
import * as tf from '../src/tfjs.js';
import { selectBackend } from '../src/backend.js';
import { modelConfig } from '../src/config.js';
import { initParams } from '../src/init.js';
import { nativeAdam, setNativeAdam } from '../src/native-host.js';
import { Adam } from '../src/optimizer.js';
import { bigEarthNetBatch } from '../src/testing/bigearthnet-batch.js';
import { gradients } from '../src/training.js';
import { timed } from './clock.js';
import { loadavg } from 'node:os';

const opts = new Command()
  .requiredOption('--change <name>', 'geglu | adam | out | recompute | plan')
  .option('--preset <name>', 'model preset', 'paper')
  .option('--depth <n>', 'override the preset depth')
  .option('--batch <n>', 'samples per step', '1')
  .option('--atoms <n>', 'atoms per sample', '512')
  .option('--rounds <n>', 'alternated rounds', '3')
  .option('--steps <n>', 'steps per timing', '1')
  .option('--recomputed <a,b>', 'layers recomputed in A and B (recompute, plan), else both sides', '0,0')
  .option('--micro <a,b>', 'micro-batch of A and B (plan); default the whole batch')
  .parse()
  .opts() as {
  change: string;
  preset: string;
  depth?: string;
  batch: string;
  atoms: string;
  rounds: string;
  steps: string;
  recomputed: string;
  micro?: string;
};

const backend = await selectBackend('wasm');
if (!backend.native) {
  console.log(`native kernels unavailable, nothing to compare: ${backend.detail}`);
  process.exit(0);
}
const cfg = modelConfig(opts.preset, opts.depth !== undefined ? { depth: Number(opts.depth) } : {});
const [ra, rb] = opts.recomputed.split(',').map(Number) as [number, number];
const [ma, mb] = (opts.micro ?? `${opts.batch},${opts.batch}`).split(',').map(Number) as [number, number];
const { batch, labels } = await bigEarthNetBatch(Number(opts.batch), Number(opts.atoms), 42);
const w0 = initParams(cfg, 42);
const loop = nativeAdam();
const gate = tf.getKernel('AtomizerGegluGate', 'wasm');
if (gate === undefined) throw new Error('the fused GEGLU gate is not registered');

/** Switches the change on (B) or off (A); returns the layers to recompute and the micro-batch of that side. */
function side(on: boolean): { recomputedLayers: number; microBatch?: number } {
  if (opts.change === 'plan') return { recomputedLayers: on ? rb : ra, microBatch: on ? mb : ma };
  return { recomputedLayers: sideOf(on) };
}

function sideOf(on: boolean): number {
  if (opts.change === 'geglu') {
    if (on && tf.getKernel('AtomizerGegluGate', 'wasm') === undefined) tf.registerKernel(gate!);
    if (!on && tf.getKernel('AtomizerGegluGate', 'wasm') !== undefined) tf.unregisterKernel('AtomizerGegluGate', 'wasm');
    return ra;
  }
  if (opts.change === 'adam') {
    setNativeAdam(on ? loop : undefined);
    return ra;
  }
  if (opts.change === 'out') return ra;
  if (opts.change === 'recompute') return on ? rb : ra;
  throw new Error(`--change: unknown change '${opts.change}'`);
}

/** Steps from the same weights and a fresh optimizer: CPU ms per step, the last loss and gradient. */
function measure(on: boolean): { cpuMs: number; loss: number; grads: Float32Array } {
  const plan = side(on);
  const w = Float32Array.from(w0);
  const adam = new Adam(w.length, { kind: 'adam', weightDecay: 0 });
  const out = new Float32Array(w.length); // one gradient buffer, as localSteps
  let last: { loss: number; grads: Float32Array } = { loss: Number.NaN, grads: new Float32Array(0) };
  const e = timed(() => {
    for (let i = 0; i < Number(opts.steps); i++) {
      const g = gradients(w, batch, labels, cfg, { ...plan, out: opts.change === 'out' && !on ? undefined : out });
      adam.update(w, g.grads, 1e-4);
      last = { loss: g.loss, grads: g.grads };
    }
  });
  return { cpuMs: e.cpuMs / Number(opts.steps), loss: last.loss, grads: Float32Array.from(last.grads) };
}

console.log(
  `${new Date().toISOString()} load(1m) ${loadavg()[0]?.toFixed(2)}; ${opts.preset} depth ${cfg.depth}, batch ${opts.batch} x ${opts.atoms}; ` +
    `change ${opts.change}${opts.change === 'recompute' || opts.change === 'plan' ? ` ${ra} -> ${rb} layers recomputed` : ''}` +
    `${opts.change === 'plan' ? `, micro-batch ${ma} -> ${mb}` : ''}; ${opts.steps} step(s) per timing; ${backend.detail}`,
);
measure(false); // warm-up of both sides (kernel setup, heap growth)
measure(true);
const runs: { a: number[]; b: number[] } = { a: [], b: [] };
let same = true;
for (let r = 0; r < Number(opts.rounds); r++) {
  // A then B in even rounds, B then A in odd ones.
  const [first, second] = [r % 2 === 1, r % 2 === 0].map((on) => ({ on, m: measure(on) }));
  for (const { on, m } of [first!, second!]) (on ? runs.b : runs.a).push(m.cpuMs);
  same &&= first!.m.loss === second!.m.loss && Buffer.from(first!.m.grads.buffer).equals(Buffer.from(second!.m.grads.buffer));
}
side(true);
const best = (xs: number[]) => Math.min(...xs);
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
console.log(`  A (off) CPU ms per step: best ${best(runs.a).toFixed(0)} (${fmt(runs.a)})`);
console.log(`  B (on)  CPU ms per step: best ${best(runs.b).toFixed(0)} (${fmt(runs.b)})  -> ${(best(runs.a) / best(runs.b)).toFixed(3)}x`);
const heap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength ?? 0;
console.log(
  `  same loss and gradient bits on both sides: ${same}${opts.change === 'plan' ? ' (other bits expected)' : ''}; ` +
    `wasm heap ${(heap / 2 ** 20).toFixed(0)} MiB, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load(1m) now ${loadavg()[0]?.toFixed(2)}`,
);

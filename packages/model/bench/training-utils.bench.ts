// Speed of the host-side training utilities on a paper-sized parameter vector:
// Adam/AdamW update, gradient accumulation, global-norm clipping, outer
// Nesterov step, float16/bfloat16 conversion, checkpoint encode/decode.
// Prints figures and the machine; asserts nothing.
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/training-utils.bench.ts [--params N]

import { cpus, totalmem } from 'node:os';
import { Adam } from '../src/optimizer.js';
import { GradientAccumulator } from '../src/gradient-accumulator.js';
import { clipByGlobalNorm } from '../src/clip-grad-norm.js';
import { OuterOptimizer } from '../src/outer-optimizer.js';
import { float32ToBFloat16Bits, float32ToFloat16Bits, float16BitsToFloat32 } from '../src/half-float.js';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint.js';
import { modelConfig } from '../src/config.js';
import { paramCount } from '../src/model-params.js';
import { timed } from './clock.js';

const arg = process.argv.indexOf('--params');
const n = arg > 0 ? Number(process.argv[arg + 1]) : paramCount(modelConfig('paper'));

const cpu = cpus()[0]?.model ?? 'unknown cpu';
console.log(`machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
console.log(`parameters: ${n.toLocaleString('en')} (${arg > 0 ? '--params' : 'paper preset'})`);

const params = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.02);
const grads = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.3) * 1e-3);

function report(what: string, fn: () => void, reps = 3): void {
  const runs = Array.from({ length: reps }, () => timed(fn));
  const best = runs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a));
  const nsPerParam = (best.cpuMs * 1e6) / n;
  console.log(
    `${what.padEnd(34)} ${best.cpuMs.toFixed(0).padStart(7)} ms cpu  ${best.wallMs.toFixed(0).padStart(7)} ms wall  ${nsPerParam.toFixed(2)} ns/param`,
  );
}

const adamw = new Adam(n, { kind: 'adamw', weightDecay: 0.05, decayRanges: [{ offset: 0, length: Math.floor(n * 0.9) }] });
report('AdamW update', () => adamw.update(params, grads, 1e-4));
const acc = new GradientAccumulator(n);
report('accumulate one part (float64)', () => acc.add({ grads, samples: 8 }));
report('accumulator result', () => acc.result());
report('clipByGlobalNorm (no clip)', () => clipByGlobalNorm(grads, 1e9));
const outer = new OuterOptimizer(n, { kind: 'nesterov' });
report('outer Nesterov step', () => outer.apply(params, grads));
report('float32 -> float16', () => float32ToFloat16Bits(params));
report('float32 -> bfloat16', () => float32ToBFloat16Bits(params));
const half = float32ToFloat16Bits(params);
report('float16 -> float32', () => float16BitsToFloat32(half));
let bytes: Uint8Array = new Uint8Array(0);
const weights = { flat: { dtype: 'F32' as const, shape: [n], data: params } };
report(
  'saveCheckpoint (weights + Adam)',
  () => {
    bytes = saveCheckpoint({ weights, optimizerState: adamw.toTensors() });
  },
  2,
);
console.log(`checkpoint size: ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB`);
report('loadCheckpoint', () => loadCheckpoint(bytes), 2);

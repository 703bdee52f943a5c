// A/B of the native CPU kernels (@atomizer/wasm-native) in one process: one
// training step's gradients() on tfjs-wasm with the stock kernels vs with the
// native ones (all, or the groups given) and the layouts the model picks with
// them (native-kernels.ts), alternated round by round, best CPU
// time of each side; checks both give the same loss and gradients. Prints why
// and exits 0 when the addon is not built.
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/native-step.bench.ts \
//     [--preset small] [--batch 8] [--atoms 1024] [--rounds 3] [--steps 5] [--kernels all|BatchMatMul,Transpose,...]

import { Command } from 'commander';
import {
  disableNativeKernels,
  enableNativeKernels,
  FUSED_KERNELS,
  NATIVE_KERNELS,
  nativeKernelCounts,
  type FusedKernelName,
  type NativeKernelName,
} from '@atomizer/wasm-native';
import { selectBackend } from '../src/backend.js';
import { modelConfig } from '../src/config.js';
import { setNativeKernelsActive } from '../src/native-kernels.js';
import { initParams } from '../src/init.js';
import { bigEarthNetBatch } from '../src/testing/bigearthnet-batch.js';
import { gradients } from '../src/training.js';
import { timed } from './clock.js';

const opts = new Command()
  .option('--preset <name>', 'model preset', 'small')
  .option('--batch <n>', 'samples per step', '8')
  .option('--atoms <n>', 'atoms per sample', '1024')
  .option('--rounds <n>', 'alternated rounds', '3')
  .option('--steps <n>', 'steps per timing', '5')
  .option('--kernels <list>', `native kernels to enable: all, or a comma list of ${[...NATIVE_KERNELS, ...FUSED_KERNELS].join(',')}`, 'all')
  .parse()
  .opts() as { preset: string; batch: string; atoms: string; rounds: string; steps: string; kernels: string };
const rounds = Number(opts.rounds);
const steps = Number(opts.steps);
const known: readonly string[] = [...NATIVE_KERNELS, ...FUSED_KERNELS];
const kernels = (opts.kernels === 'all' ? [...known] : opts.kernels.split(',')) as (NativeKernelName | FusedKernelName)[];
for (const k of kernels) if (!known.includes(k)) throw new Error(`--kernels: unknown kernel '${k}'; expected ${known.join(', ')}`);

await selectBackend('wasm', undefined, { native: false });
const probe = enableNativeKernels({ kernels });
if (!probe.enabled) {
  console.log(`native kernels unavailable, nothing to compare: ${probe.reason}`);
  process.exit(0);
}
disableNativeKernels();
const cfg = modelConfig(opts.preset);
const { batch, labels } = await bigEarthNetBatch(Number(opts.batch), Number(opts.atoms), 42);
const w = initParams(cfg, 42);
const run = () => gradients(w, batch, labels, cfg);
const time = () =>
  Math.min(
    ...Array.from(
      { length: 3 },
      () =>
        timed(() => {
          for (let i = 0; i < steps; i++) run();
        }).cpuMs / steps,
    ),
  );
for (let i = 0; i < 2; i++) run();
const ref = run();
const best = { wasm: Infinity, native: Infinity };
let worst = 0;
let lossDiff = 0;
let counts: Record<string, { native: number; stock: number }> = {};
for (let r = 0; r < rounds; r++) {
  best.wasm = Math.min(best.wasm, time());
  enableNativeKernels({ kernels });
  setNativeKernelsActive(true);
  try {
    for (let i = 0; i < 2; i++) run();
    const before = nativeKernelCounts();
    const g = run();
    const after = nativeKernelCounts();
    counts = Object.fromEntries(
      Object.entries(after).map(([k, c]) => [k, { native: c.native - (before[k]?.native ?? 0), stock: c.stock - (before[k]?.stock ?? 0) }]),
    );
    lossDiff = Math.max(lossDiff, Math.abs(g.loss - ref.loss) / Math.abs(ref.loss));
    let scale = 0;
    for (const v of ref.grads) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < g.grads.length; i++) worst = Math.max(worst, Math.abs(g.grads[i]! - ref.grads[i]!) / scale);
    best.native = Math.min(best.native, time());
  } finally {
    disableNativeKernels();
    setNativeKernelsActive(false);
  }
}
console.log(`${opts.preset}, batch ${opts.batch} x ${opts.atoms}, gradients() per step, best CPU ms over ${rounds} alternated rounds:`);
console.log(`  tfjs-wasm, stock kernels      ${best.wasm.toFixed(1)} ms`);
console.log(`  + native (${opts.kernels})`.padEnd(31) + `${best.native.toFixed(1)} ms  (${(best.wasm / best.native).toFixed(2)}x)`);
console.log(`  ${probe.detail}`);
console.log(
  `  loss ${ref.loss.toFixed(6)}, relative difference ${lossDiff.toExponential(1)}; gradients agree to ${worst.toExponential(1)} (relative to the largest)`,
);
console.log(
  `  calls per step, native/stock: ${Object.entries(counts)
    .map(([k, c]) => `${k} ${c.native}/${c.stock}`)
    .join(', ')}`,
);

// PROTOTYPE measurement: one small-preset training step on tfjs-wasm with the
// wasm BatchMatMul kernel vs the same step with BatchMatMul replaced by OpenBLAS
// through the N-API addon (native/batch-matmul-kernel.ts), alternated in one
// process; checks both give the same loss and gradient. Falls back (prints why,
// exits 0) when the addon cannot be built. Not used by the model.
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/native-step.bench.ts [--rounds 3] [--steps 5]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { selectBackend } from '../src/backend.js';
import { modelConfig } from '../src/config.js';
import { initParams } from '../src/init.js';
import { bigEarthNetBatch } from '../src/testing/bigearthnet-batch.js';
import { gradients } from '../src/training.js';
import { timed } from './clock.js';
import { buildAddon, type NativeSgemm } from './native/addon.js';
import { installNativeBatchMatMul } from './native/batch-matmul-kernel.js';

const opts = new Command().option('--rounds <n>', 'alternated rounds', '3').option('--steps <n>', 'steps per timing', '5').parse().opts() as {
  rounds: string;
  steps: string;
};
const rounds = Number(opts.rounds);
const steps = Number(opts.steps);
const dir = mkdtempSync(join(tmpdir(), 'atomizer-native-step-'));
try {
  let addon: NativeSgemm;
  try {
    addon = buildAddon(dir);
  } catch (err) {
    console.log(`native addon unavailable, nothing to compare: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    process.exit(0);
  }
  await selectBackend('wasm');
  const cfg = modelConfig('small');
  const { batch, labels } = await bigEarthNetBatch(8, 1024, 42);
  const w = initParams(cfg, 42);
  const run = () => gradients(w, batch, labels, cfg);
  const time = () => Math.min(...Array.from({ length: 3 }, () => timed(() => { for (let i = 0; i < steps; i++) run(); }).cpuMs / steps));
  for (let i = 0; i < 2; i++) run();
  const ref = run();
  const best = { wasm: Infinity, native: Infinity };
  let worst = 0;
  for (let r = 0; r < rounds; r++) {
    best.wasm = Math.min(best.wasm, time());
    const uninstall = installNativeBatchMatMul(addon);
    try {
      for (let i = 0; i < 2; i++) run();
      const g = run();
      if (Math.abs(g.loss - ref.loss) > 1e-5) throw new Error(`native loss ${g.loss} != wasm loss ${ref.loss}`);
      let scale = 0;
      for (const v of ref.grads) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < g.grads.length; i++) worst = Math.max(worst, Math.abs(g.grads[i]! - ref.grads[i]!) / scale);
      best.native = Math.min(best.native, time());
    } finally {
      uninstall();
    }
  }
  console.log(`small, batch 8 x 1024, gradients() per step, best CPU ms over ${rounds} alternated rounds:`);
  console.log(`  tfjs-wasm BatchMatMul          ${best.wasm.toFixed(1)} ms`);
  console.log(`  OpenBLAS BatchMatMul (N-API)   ${best.native.toFixed(1)} ms  (${(best.wasm / best.native).toFixed(2)}x)`);
  console.log(`  same loss (${ref.loss.toFixed(6)}); gradients agree to ${worst.toExponential(1)} (relative to the largest)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Where the time of one tfjs-wasm training step goes: per-kernel timings from
// tf.profile over one `gradients` call, grouped (matmul, transpose, softmax,
// layernorm, gather, elementwise, ...), plus the host-side parts of a step
// (the Adam update over the flat array, the rest of `gradients` outside kernels).
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/profile-step.ts [--preset small] [--batch 8] [--atoms 1024]
//     [--depth n] (the preset at another depth: a light proxy of a deep model's per-layer mix)
//     [--recomputed r] (the first r layers recomputed in the backward pass, as the memory plan does)

import * as tf from '../src/tfjs.js';
import { loadavg } from 'node:os';
import { Command } from 'commander';
import { selectBackend } from '../src/backend.js';
import { modelConfig } from '../src/config.js';
import { initParams } from '../src/init.js';
import { Adam } from '../src/optimizer.js';
import { gradients } from '../src/training.js';
import { bigEarthNetBatch } from '../src/testing/bigearthnet-batch.js';
import { kernelGroup, type KernelGroup } from './kernel-groups.js';

interface KernelRow {
  name: string;
  shapes: string;
  ms: number;
  calls: number;
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--preset <name>', 'model preset', 'small')
    .option('--batch <n>', 'samples per step', '8')
    .option('--atoms <n>', 'atoms per sample', '1024')
    .option('--steps <n>', 'profiled steps (kernel times are summed, then divided)', '3')
    .option('--top <n>', 'kernels listed', '20')
    .option('--depth <n>', 'override the preset depth')
    .option('--recomputed <n>', 'layers recomputed in the backward pass', '0')
    .parse()
    .opts() as { preset: string; batch: string; atoms: string; steps: string; top: string; depth?: string; recomputed: string };
  const B = Number(opts.batch);
  const N = Number(opts.atoms);
  const steps = Number(opts.steps);
  const cfg = modelConfig(opts.preset, opts.depth !== undefined ? { depth: Number(opts.depth) } : {});
  const gradOpts = { recomputedLayers: Number(opts.recomputed) };
  await selectBackend('wasm');
  const { batch, labels } = await bigEarthNetBatch(B, N, 42);
  const w = initParams(cfg, 42);
  const adam = new Adam(w.length, { kind: 'adam', weightDecay: 0 });

  // Warm-up (kernel setup, heap growth), then the plain step time without the profiler.
  for (let i = 0; i < 3; i++) adam.update(w, gradients(w, batch, labels, cfg, gradOpts).grads, 1e-4);
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  let grads: Float32Array = new Float32Array(0);
  for (let i = 0; i < steps; i++) grads = gradients(w, batch, labels, cfg, gradOpts).grads;
  const gradMs = (performance.now() - t0) / steps;
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000 / steps;
  const gradCpuMs = cpuMs(process.cpuUsage(c0));
  t0 = performance.now();
  c0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) adam.update(w, grads, 1e-4);
  const adamMs = (performance.now() - t0) / steps;
  const adamCpuMs = cpuMs(process.cpuUsage(c0));

  const byKernel = new Map<string, KernelRow>();
  const byGroup = new Map<KernelGroup, number>();
  let kernelMs = 0;
  let kernelCount = 0;
  for (let i = 0; i < steps; i++) {
    const info = await tf.profile(() => {
      gradients(w, batch, labels, cfg, gradOpts);
      return [];
    });
    for (const k of info.kernels) {
      // tf.customGrad functions are recorded as an 'unnamed scope' entry AND as the
      // kernels they ran: count the kernels only.
      if (k.name.includes('scope')) continue;
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const shapes = `${k.inputShapes.map((s) => `[${s?.join(',') ?? ''}]`).join(' ')} -> ${k.outputShapes.map((s) => `[${s?.join(',') ?? ''}]`).join(' ')}`;
      const key = `${k.name} ${shapes}`;
      const row = byKernel.get(key) ?? { name: k.name, shapes, ms: 0, calls: 0 };
      row.ms += ms / steps;
      row.calls += 1 / steps;
      byKernel.set(key, row);
      const g = kernelGroup(k.name);
      byGroup.set(g, (byGroup.get(g) ?? 0) + ms / steps);
      kernelMs += ms / steps;
      kernelCount += 1 / steps;
    }
  }

  const stepMs = gradMs + adamMs;
  console.log(
    `preset ${opts.preset} (depth ${cfg.depth}, ${gradOpts.recomputedLayers} recomputed), batch ${B} x ${N} atoms, tfjs-wasm, one thread`,
  );
  console.log(`training step ${stepMs.toFixed(1)} ms = gradients ${gradMs.toFixed(1)} ms + Adam (host) ${adamMs.toFixed(1)} ms (wall)`);
  console.log(
    `CPU time: ${(gradCpuMs + adamCpuMs).toFixed(1)} ms = gradients ${gradCpuMs.toFixed(1)} + Adam ${adamCpuMs.toFixed(1)}; ` +
      `load(1m) ${loadavg()[0]?.toFixed(2)} (the kernel times below are wall times of profiled runs)`,
  );
  console.log(`kernels per step: ${Math.round(kernelCount)}, summed kernel time ${kernelMs.toFixed(1)} ms (profiled runs)`);
  console.log(`outside kernels (tape, tensor upload/download, gradient accumulation in JS): ${(gradMs - kernelMs).toFixed(1)} ms\n`);
  console.log('| group | ms per step | share of step |');
  console.log('|---|---|---|');
  const groups = [...byGroup.entries()].sort((a, b) => b[1] - a[1]);
  for (const [g, ms] of groups) console.log(`| ${g} | ${ms.toFixed(2)} | ${((100 * ms) / stepMs).toFixed(1)}% |`);
  console.log(`| host: Adam | ${adamMs.toFixed(2)} | ${((100 * adamMs) / stepMs).toFixed(1)}% |`);
  console.log(`| host: other | ${(gradMs - kernelMs).toFixed(2)} | ${((100 * (gradMs - kernelMs)) / stepMs).toFixed(1)}% |`);
  console.log(`\ntop ${opts.top} kernels (ms per step, calls per step):`);
  const top = [...byKernel.values()].sort((a, b) => b.ms - a.ms).slice(0, Number(opts.top));
  for (const k of top) console.log(`${k.ms.toFixed(2).padStart(8)} ms ${k.calls.toFixed(0).padStart(3)}x ${k.name} ${k.shapes}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});

// Speed benchmark: the same Atomizer training step in TensorFlow.js (wasm
// backend, one thread) and in PyTorch (OpenBLAS, one thread), side by side, in
// one run, on the same real BigEarthNet batch and the same initial weights.
// Not a test: it prints figures (docs/benchmarks.md, "Model: TensorFlow.js vs PyTorch").
//
//   npx tsx --conditions=@atomizer/source packages/model/bench/train-vs-torch.ts \
//     [--preset small] [--batch 8] [--atoms 1024] [--steps 20] [--repeats 3] [--json]
//
// Timed region on both sides: one optimizer step = input encoding of the compact
// atom records (docs/model.md section 2) + forward + BCE loss + backward + Adam.
// Warm-up steps are excluded. The two sides run one after the other, never
// concurrently.

import { cpus, loadavg } from 'node:os';
import { Command } from 'commander';
import * as tf from '../src/tfjs.js';
import { selectBackend } from '../src/backend.js';
import { modelConfig, type ModelConfig } from '../src/config.js';
import { trainingStepFlops } from '../src/flops.js';
import { initParams } from '../src/init.js';
import { atomizerParamSpecs, tokenDim } from '../src/model-params.js';
import { Adam } from '../src/optimizer.js';
import { resolveInputEncoding, type InputEncoding } from '../src/host-input-stage.js';
import { gradients } from '../src/training.js';
import { planStepMemory } from '../src/memory-plan.js';
import { nativeGegluActive } from '../src/geglu.js';
import { bigEarthNetBatch } from '../src/testing/bigearthnet-batch.js';
import { timed } from './clock.js';
import { measureMatMul, type MatMulFigure } from './matmul-peak.js';
import { runTorch, type StepFigures, type TorchResult } from './torch-runner.js';

type SideResult = StepFigures;

function multiHot(labels: readonly (readonly number[])[], numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  labels.forEach((ls, i) => {
    for (const c of ls) out[i * numClasses + c] = 1;
  });
  return out;
}

async function main(): Promise<void> {
  const opts = new Command()
    .description('Train the same Atomizer config in TensorFlow.js (wasm) and PyTorch, one thread each')
    .option('--preset <name>', 'model preset (config.ts)', 'small')
    .option('--batch <n>', 'samples per step', '8')
    .option('--atoms <n>', 'atoms per sample', '1024')
    .option('--steps <n>', 'timed steps per repeat', '20')
    .option('--warmup <n>', 'untimed warm-up steps', '3')
    .option('--repeats <n>', 'timed repeats (best and spread reported)', '3')
    .option('--lr <x>', 'Adam learning rate', '1e-4')
    .option('--input-encoding <mode>', 'where the token encodings are computed: device, host or auto (host-input-stage.ts)', 'auto')
    .option('--no-torch', 'skip the PyTorch side')
    .option('--no-peaks', 'skip the matMul peak measurements')
    .option('--json', 'print one JSON object instead of the table')
    .parse()
    .opts() as {
    preset: string;
    batch: string;
    atoms: string;
    steps: string;
    warmup: string;
    repeats: string;
    lr: string;
    torch: boolean;
    peaks: boolean;
    json?: boolean;
    inputEncoding: string;
  };
  const int = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const B = int('batch', opts.batch);
  const N = int('atoms', opts.atoms);
  const steps = int('steps', opts.steps);
  const warmup = int('warmup', opts.warmup);
  const repeats = int('repeats', opts.repeats);
  const lr = Number(opts.lr);
  const inputEncoding = opts.inputEncoding as InputEncoding;
  resolveInputEncoding(inputEncoding); // rejects an unknown mode before any work
  const cfg: ModelConfig = modelConfig(opts.preset);
  if (cfg.task !== 'multi') throw new Error(`--preset ${opts.preset}: the benchmark trains BigEarthNet (task 'multi')`);
  const specs = atomizerParamSpecs(cfg);
  const T = tokenDim(cfg);
  const flops = trainingStepFlops(cfg, B, N);
  const log = (m: string) => {
    if (opts.json !== true) console.log(m);
  };

  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? '?'} x${cpus().length}`,
    loadavg1m: loadavg()[0],
  };
  log(`date ${machine.date}  node ${machine.node}  cpu ${machine.cpu}  load(1m) ${machine.loadavg1m?.toFixed(2)}`);

  const { batch, labels } = await bigEarthNetBatch(B, N, 42);
  const weights0 = initParams(cfg, 42);
  log(
    `config ${opts.preset}: L=${cfg.numLatents} d=${cfg.latentDim} depth=${cfg.depth} cross ${cfg.crossHeads}x${cfg.crossHeadDim} ` +
      `self ${cfg.selfHeads}x${cfg.selfHeadDim} ffMult=${cfg.ffMult} tokenDim=${T}; ${weights0.length.toLocaleString('en-US')} params; ` +
      `batch ${B} x ${N} atoms (real BigEarthNet S2); ${(flops / 1e9).toFixed(3)} GFLOP per training step (matmuls, 3 x forward)`,
  );

  // --- TensorFlow.js, wasm ---
  const backend = await selectBackend('wasm');
  const w = Float32Array.from(weights0);
  const adam = new Adam(w.length, { kind: 'adam', weightDecay: 0 }); // torch.optim.Adam defaults
  let tsFirst = Number.NaN;
  let tsLast = Number.NaN;
  // On the wasm heap (4 GiB) the step runs as the workers run it: plain when it fits, else
  // with layers recomputed, else micro-batched (memory-plan.ts).
  const plan = backend.name === 'wasm' ? planStepMemory(cfg, B, N, { fusedGate: nativeGegluActive() }) : undefined;
  if (plan !== undefined) {
    log(
      `memory plan: ${plan.recomputedLayers > 0 ? `${plan.recomputedLayers} of ${cfg.depth} layers recomputed` : 'plain'}, micro-batch ${plan.microBatch} of ${B}; ` +
        `estimated heap ${(plan.bytes / 2 ** 30).toFixed(2)} GiB (plain step ${(plan.plainBytes / 2 ** 30).toFixed(2)} GiB)`,
    );
  }
  const memory = plan === undefined ? {} : { microBatch: plan.microBatch, recomputedLayers: plan.recomputedLayers };
  // One gradient buffer for all steps, as the workers' local steps (localSteps) use.
  const out = new Float32Array(w.length);
  const step = (): number => {
    const g = gradients(w, batch, labels, cfg, { inputEncoding, ...memory, out });
    adam.update(w, g.grads, lr);
    return g.loss;
  };
  for (let i = 0; i < warmup; i++) {
    const loss = step();
    if (i === 0) tsFirst = loss;
  }
  const tsRuns: number[] = [];
  const tsCpuRuns: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const e = timed(() => {
      for (let i = 0; i < steps; i++) tsLast = step();
    });
    tsRuns.push(e.wallMs / steps);
    tsCpuRuns.push(e.cpuMs / steps);
  }
  const tsBest = Math.min(...tsRuns);
  const tsCpuBest = Math.min(...tsCpuRuns);
  // The wasm heap never shrinks: its size now is the peak of the steps (with growth slack).
  const wasmHeap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength;
  if (wasmHeap !== undefined) log(`wasm heap after the steps: ${(wasmHeap / 2 ** 20).toFixed(0)} MiB`);
  const ts: SideResult = {
    backend: `tfjs ${backend.name}${backend.native ? '+native' : ''} (${backend.detail})`,
    stepMs: tsBest,
    stepMsRuns: tsRuns,
    cpuStepMs: tsCpuBest,
    cpuStepMsRuns: tsCpuRuns,
    gflopsCpu: flops / (tsCpuBest * 1e6),
    samplesPerSec: (1000 * B) / tsBest,
    atomsPerSec: (1000 * B * N) / tsBest,
    gflops: flops / (tsBest * 1e6),
    firstLoss: tsFirst,
    lastLoss: tsLast,
    // This process has run nothing else yet (PyTorch runs in its own process, after).
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };

  const peaks: MatMulFigure[] = [];
  if (opts.peaks) {
    // 1024^3 plain is ~0.1 s on wasm; the transposed variants are 10-40x slower, so fewer calls.
    peaks.push(measureMatMul('plain', 1024, 1024, 1024, { calls: 3, repeats: 3 }));
    peaks.push(measureMatMul('transposeB', 1024, 1024, 1024, { calls: 1, repeats: 2 }));
    peaks.push(measureMatMul('transposeA', 1024, 1024, 1024, { calls: 1, repeats: 1 }));
    peaks.push(measureMatMul('explicitTransposeB', 1024, 1024, 1024, { calls: 3, repeats: 3 }));
    // The benchmark's biggest product: token k/v projection [B*N, T] x [T, heads*dh], and its dW = X^T dY.
    const ic = cfg.crossHeads * cfg.crossHeadDim;
    peaks.push(measureMatMul('plain', B * N, T, ic));
    peaks.push(measureMatMul('transposeA', T, B * N, ic, { calls: 2, repeats: 3 }));
    peaks.push(measureMatMul('plain', T, B * N, ic));
  }

  // --- PyTorch ---
  let torch: TorchResult | undefined;
  if (opts.torch) {
    torch = await runTorch({
      cfg,
      tokenDim: T,
      params: specs,
      weights: weights0,
      batch,
      targets: multiHot(labels, cfg.numClasses),
      warmup,
      steps,
      repeats,
      lr,
      flopsPerStep: flops,
    });
  }

  const wasmPeak = peaks.find((p) => p.variant === 'plain' && p.m === 1024)?.gflopsCpu;
  const corePeak = torch?.peakGflops;
  const checks = {
    paramsMatch: torch === undefined ? null : torch.paramCount === weights0.length,
    flopsMatch: torch === undefined ? null : torch.flopsPerStep === flops,
    firstLossRelDiff: torch === undefined ? null : Math.abs(torch.firstLoss - ts.firstLoss) / Math.abs(torch.firstLoss),
  };
  const result = {
    machine,
    config: {
      preset: opts.preset,
      batch: B,
      atoms: N,
      steps,
      warmup,
      repeats,
      lr,
      tokenDim: T,
      params: weights0.length,
      flopsPerStep: flops,
    },
    tfjs: ts,
    wasmHeapMiB: wasmHeap === undefined ? null : wasmHeap / 2 ** 20,
    torch: torch ?? null,
    ratio: torch === undefined ? null : torch.stepMs / ts.stepMs,
    ratioCpu: torch === undefined ? null : torch.cpuStepMs / ts.cpuStepMs,
    matMul: peaks,
    checks,
  };
  if (opts.json === true) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }

  const rows: string[][] = [
    [
      'backend',
      'samples/s',
      'atoms/s',
      'step ms wall (best; runs)',
      'step ms CPU (best; runs)',
      'GFLOP/s (CPU)',
      '% core peak',
      '% own matMul peak',
      'peak RSS MiB',
      'tfjs/torch wall (CPU)',
    ],
  ];
  const pct = (x: number, peak: number | undefined) => (peak === undefined ? '-' : `${((100 * x) / peak).toFixed(1)}%`);
  const runsText = (best: number, runs: number[]) => `${best.toFixed(1)}; ${runs.map((x) => x.toFixed(0)).join(' ')}`;
  const row = (r: SideResult | TorchResult, ownPeak: number | undefined, ratio: string) => [
    r.backend,
    r.samplesPerSec.toFixed(1),
    Math.round(r.atomsPerSec).toLocaleString('en-US'),
    runsText(r.stepMs, r.stepMsRuns),
    runsText(r.cpuStepMs, r.cpuStepMsRuns),
    `${r.gflops.toFixed(2)} (${r.gflopsCpu.toFixed(2)})`,
    pct(r.gflopsCpu, corePeak),
    pct(r.gflopsCpu, ownPeak),
    r.peakRssMiB.toFixed(0),
    ratio,
  ];
  rows.push(
    row(
      ts,
      wasmPeak,
      torch === undefined ? '-' : `${(torch.stepMs / ts.stepMs).toFixed(3)}x (${(torch.cpuStepMs / ts.cpuStepMs).toFixed(3)}x)`,
    ),
  );
  if (torch !== undefined) rows.push(row(torch, torch.peakGflops, '1x'));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log('');
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`);
    if (i === 0) console.log(`|${widths.map((wd) => '-'.repeat(wd + 2)).join('|')}|`);
  }
  console.log('');
  if (torch !== undefined) {
    console.log(
      `core peak: single-thread OpenBLAS sgemm (torch.mm 1024^3) ${torch.peakGflops.toFixed(1)} GFLOP/s by CPU time, ${torch.peakGflopsWall.toFixed(1)} by wall time`,
    );
    console.log(
      `checks: params ${checks.paramsMatch ? 'equal' : `DIFFER (torch ${torch.paramCount})`}, FLOP formula ${checks.flopsMatch ? 'equal' : `DIFFERS (torch ${torch.flopsPerStep})`}, ` +
        `first loss tfjs ${ts.firstLoss.toFixed(6)} vs torch ${torch.firstLoss.toFixed(6)} (rel. diff ${checks.firstLossRelDiff?.toExponential(1)}), ` +
        `last loss tfjs ${ts.lastLoss.toFixed(4)} vs torch ${torch.lastLoss.toFixed(4)}`,
    );
  }
  for (const p of peaks) {
    console.log(
      `tfjs-wasm matMul ${p.variant.padEnd(18)} [${p.m}x${p.k}]x[${p.k}x${p.n}]: wall ${p.bestMs.toFixed(2)} ms (${p.gflops.toFixed(2)} GFLOP/s), CPU ${p.bestCpuMs.toFixed(2)} ms (${p.gflopsCpu.toFixed(2)} GFLOP/s)`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AtomBatch } from '@atomizer/tokenizer';
import type { ModelConfig } from '../src/config.js';
import type { ParamSpec } from '../src/param-table.js';

// Runs the PyTorch twin (atomizer_torch.py) on exactly the TypeScript side's
// numbers: the config, the parameter table, the flat initial weights, the atom
// batch and the targets go through a temp folder; one BLAS thread; the script
// prints one JSON object, parsed here.

export const PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'atomizer_torch.py');

/** Figures of one side of the benchmark (the TypeScript side and the PyTorch twin report the same ones). */
export interface StepFigures {
  backend: string;
  /** Wall time per step (best, and each repeat). */
  stepMs: number;
  stepMsRuns: number[];
  /** CPU time of the process per step (best, and each repeat). */
  cpuStepMs: number;
  cpuStepMsRuns: number[];
  gflopsCpu: number;
  samplesPerSec: number;
  atomsPerSec: number;
  gflops: number;
  firstLoss: number;
  lastLoss: number;
  /** Peak resident set of the process that ran the side, MiB. */
  peakRssMiB: number;
}

export interface TorchResult extends StepFigures {
  paramCount: number;
  flopsPerStep: number;
  flopsPerStepTs: number | null;
  /** Single-thread OpenBLAS sgemm (torch.mm 1024^3) GFLOP/s by CPU time; peakGflopsWall by wall time. */
  peakGflops: number;
  peakGflopsWall: number;
  percentOfPeak: number;
}

export interface TorchRun {
  cfg: ModelConfig;
  tokenDim: number;
  params: readonly ParamSpec[];
  weights: Float32Array;
  batch: AtomBatch;
  /** Multi-hot targets [B * numClasses]. */
  targets: Float32Array;
  warmup: number;
  steps: number;
  repeats: number;
  lr: number;
  flopsPerStep: number;
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  // Typed arrays are little-endian on every platform Node runs on here (x64, arm64).
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export async function runTorch(run: TorchRun): Promise<TorchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'atomizer-torch-bench-'));
  try {
    const file = (name: string) => join(dir, name);
    const b = run.batch;
    await Promise.all([
      writeFile(file('weights.f32'), bytesOf(run.weights)),
      writeFile(file('targets.f32'), bytesOf(run.targets)),
      writeFile(file('value.f32'), bytesOf(b.value)),
      writeFile(file('x.f32'), bytesOf(b.x)),
      writeFile(file('y.f32'), bytesOf(b.y)),
      writeFile(file('mask.f32'), bytesOf(b.mask)),
      writeFile(file('band.i32'), bytesOf(b.band)),
    ]);
    const config = {
      model: run.cfg,
      tokenDim: run.tokenDim,
      params: run.params,
      weightsPath: file('weights.f32'),
      targetsPath: file('targets.f32'),
      batch: {
        batchSize: b.batchSize,
        maxAtoms: b.maxAtoms,
        bands: b.bands,
        doy: Array.from(b.doy, (d) => (Number.isFinite(d) ? d : null)),
        files: { value: file('value.f32'), x: file('x.f32'), y: file('y.f32'), mask: file('mask.f32'), band: file('band.i32') },
      },
      warmup: run.warmup,
      steps: run.steps,
      repeats: run.repeats,
      lr: run.lr,
      flopsPerStep: run.flopsPerStep,
    };
    await writeFile(file('config.json'), JSON.stringify(config));
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
      const child = spawn(PYTHON, [SCRIPT, file('config.json')], {
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => reject(new Error(`${PYTHON} ${SCRIPT}: could not start (${e.message}); install python3-torch`)));
      child.on('close', (c) => resolve({ stdout: out, stderr: err, code: c }));
    });
    if (code !== 0) throw new Error(`${SCRIPT} exited with code ${String(code)}:\n${stderr.trim()}`);
    const line = stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(line) as TorchResult;
    } catch {
      throw new Error(`${SCRIPT}: expected one JSON line on stdout, got: ${stdout.slice(0, 500)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TORCH_EXPORT_FORMAT,
  TORCH_MODULE_PATH,
  decodeSafetensors,
  encodeSafetensors,
  initParams,
  modelConfig,
  paramTableOf,
  predict,
  selectBackend,
  torchStateDict,
} from '@atomizer/model';
import { LocalStore, parseRunConfig } from '@atomizer/protocol';
import {
  BandStatsAccumulator,
  SeededRng,
  atomize,
  dataPath,
  listBigEarthNetPatches,
  makeBatch,
  parseDatasetSpec,
  parseModality,
  readBigEarthNetPatch,
  readDataset,
  subsampleAtoms,
  type AtomBatch,
  type Sample,
} from '@atomizer/tokenizer';
import { buildEvalBatch, type RunContext } from '@atomizer/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessExecutor, train } from '../engine/index.js';
import { presetsDir } from '../presets.js';
import { loadRunCheckpoint, openRun } from './eval-checkpoint.js';
import { exportRun } from './export-run.js';
import { runCli } from './run-cli.js';

// atomizer export against a real run: a tiny model trained a few rounds on the
// real Statlog data (in-process executor, LocalStore), exported, and the exported
// atomizer_model.py run by Debian's PyTorch (/usr/bin/python3) on the same atom
// batches as the TypeScript model: real Statlog atoms, and a BigEarthNet batch of a
// Sentinel-1 patch (learned SAR channel vectors) + Sentinel-2 patches with dates and
// padding. The logits must agree to float32 rounding.

const PYTHON = '/usr/bin/python3';
const STATLOG = `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`;
const RUN = 'ex';

let dir: string;
let store: LocalStore;
let ctx: RunContext;
let weights: Float32Array;
let exported: string;

beforeAll(async () => {
  await selectBackend('wasm', () => undefined);
  dir = await mkdtemp(join(tmpdir(), 'atomizer-export-'));
  store = new LocalStore(join(dir, 'store'));
  const config = parseRunConfig({
    run: RUN,
    dataset: { name: 'statlog', source: STATLOG, shardSize: 1000, modalities: join(presetsDir(), 'statlog-modalities.yaml') },
    model: { preset: 'tiny' },
    train: { rounds: 4, slices: 2, sliceSamples: 32, lr: 3e-3, warmupRounds: 1, maxAtoms: 36 },
    checkpoint: { every: 4, keep: 1 },
    eval: { every: 4, maxSamples: 32, sliceSamples: 32 },
  });
  await train({ store, executor: new InProcessExecutor(store, 'wasm'), config });
  ctx = await openRun(store, RUN);
  weights = (await loadRunCheckpoint(store, ctx)).weights;
  exported = join(dir, 'torch');
  await exportRun({ store, run: RUN, out: exported });
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Fails (never skips) when Debian's PyTorch is missing, saying how to install it. */
function requireTorch(): void {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import torch (${r.error?.message ?? r.stderr.trim().split('\n').pop() ?? 'unknown'}): install Debian's python3-torch and libopenblas0-pthread (apt-get install python3-torch libopenblas0-pthread; .ci/run installs them)`,
    );
  }
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

// Loads the export with the README's lines, reads the batch (raw little-endian arrays), prints the logits as JSON.
const RUNNER = `
import json, sys
import torch
torch.set_num_threads(1)
export_dir, spec_path = sys.argv[1], sys.argv[2]
sys.path.insert(0, export_dir)
import atomizer_model
model = atomizer_model.load(export_dir)
spec = json.load(open(spec_path))
B, N = spec["batchSize"], spec["maxAtoms"]
def raw(name, dtype, shape):
    with open(spec["files"][name], "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=dtype).reshape(shape)
atoms = {k: raw(k, torch.float32, (B, N)) for k in ("value", "x", "y", "mask")}
atoms["band"] = raw("band", torch.int32, (B, N))
atoms["doy"] = raw("doy", torch.float32, (B,))
atoms["bands"] = spec["bands"]
with torch.no_grad():
    logits = model(atoms)
print(json.dumps({"logits": logits.flatten().tolist(), "shape": list(logits.shape), "torch": torch.__version__}))
`;

/** Logits of the exported module under PyTorch for `batch`. */
async function torchLogits(batch: AtomBatch, name: string, exportDir = exported): Promise<{ logits: number[]; shape: number[] }> {
  const d = join(dir, `batch-${name}`);
  await mkdir(d, { recursive: true });
  const files: Record<string, string> = {};
  for (const [k, a] of [
    ['value', batch.value],
    ['x', batch.x],
    ['y', batch.y],
    ['mask', batch.mask],
    ['band', batch.band],
    ['doy', batch.doy],
  ] as const) {
    files[k] = join(d, `${k}.raw`);
    await writeFile(files[k]!, bytesOf(a));
  }
  await writeFile(
    join(d, 'spec.json'),
    JSON.stringify({ batchSize: batch.batchSize, maxAtoms: batch.maxAtoms, bands: batch.bands, files }),
  );
  await writeFile(join(d, 'runner.py'), RUNNER);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(PYTHON, [join(d, 'runner.py'), exportDir, join(d, 'spec.json')], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  if (code !== 0) throw new Error(`${PYTHON} runner.py (exported atomizer_model.py) exited with ${String(code)}: ${stderr.trim()}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as { logits: number[]; shape: number[] };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** 16 real Statlog test samples as the run's eval batches build them (normalised with the run's statistics). */
async function statlogBatch(): Promise<AtomBatch> {
  const samples: Sample[] = [];
  for await (const item of readDataset(parseDatasetSpec(STATLOG))) {
    if (item.split === 'test') samples.push(item.sample);
    if (samples.length === 16) break;
  }
  const built = buildEvalBatch(samples, parseModality({ name: 'native' }), ctx, 7);
  if (built === undefined) throw new Error('statlog: no atoms');
  return built.batch;
}

/** A Sentinel-1 patch (SAR: learned channel vectors) + 3 Sentinel-2 patches of BigEarthNet, dated, subsampled to unequal sizes (padding). */
async function bigEarthNetBatch(): Promise<AtomBatch> {
  const s1 = (await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's1')))[0]!;
  const s2 = (await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's2'))).slice(0, 3);
  const samples = await Promise.all([s1, ...s2].map((f) => readBigEarthNetPatch(f)));
  const acc = new BandStatsAccumulator();
  for (const s of samples) acc.add(s);
  const stats = new Map(acc.result().map((st) => [st.key, st]));
  const sizes = [300, 500, 420, 137];
  return makeBatch(
    samples.map((s, i) => subsampleAtoms(atomize(s, { stats, normalize: 'zscore' }).atoms, sizes[i]!, SeededRng.derive(3, i))),
  );
}

describe('atomizer export (PyTorch)', () => {
  it('writes the four files; the state_dict is the checkpoint transposed into nn.Linear layouts', async () => {
    expect((await readdir(exported)).sort()).toEqual(['README.md', 'atomizer_model.py', 'config.json', 'model.safetensors']);
    const cfg = JSON.parse(await readFile(join(exported, 'config.json'), 'utf8')) as {
      format: string;
      classes: string[];
      model: unknown;
      normalisation: { bands: unknown[] };
    };
    expect(cfg.format).toBe('atomizer-torch/1');
    expect(cfg.classes).toEqual(ctx.manifest.classes);
    expect(cfg.model).toEqual(JSON.parse(JSON.stringify(ctx.model)));
    expect(cfg.normalisation.bands.length).toBe(ctx.stats.size);
    const { tensors, metadata } = decodeSafetensors(await readFile(join(exported, 'model.safetensors')), 'model.safetensors');
    expect(metadata.run).toBe(RUN);
    expect(Object.keys(tensors)).toEqual(Object.keys(torchStateDict(ctx.model, weights)));
    // wq [in, inner] in tfjs is to_q.weight [inner, in] in torch: element (i, j) moves to (j, i).
    const wq = paramTableOf(ctx.model).views(weights)['layers.0.cross.wq']!;
    const [dq, inner] = paramTableOf(ctx.model).entries.find((e) => e.name === 'layers.0.cross.wq')!.shape as [number, number];
    const tq = tensors['layers.0.cross.to_q.weight']!;
    expect(tq.shape).toEqual([inner, dq]);
    expect(tq.data[2 * dq + 1]).toBe(wq[1 * inner + 2]);
    const readme = await readFile(join(exported, 'README.md'), 'utf8');
    expect(readme).toContain('model = atomizer_model.load("path/to/this/folder")');
  });

  it('PyTorch logits equal the TypeScript logits on real Statlog atoms and a BigEarthNet S1 + S2 batch', async () => {
    requireTorch();
    for (const [name, batch] of [
      ['statlog', await statlogBatch()],
      ['bigearthnet-s1s2', await bigEarthNetBatch()],
    ] as const) {
      const t = await torchLogits(batch, name);
      expect(t.shape).toEqual([batch.batchSize, ctx.model.numClasses]);
      // Both TypeScript token paths (host TokenEncoder, device input stage) against torch.
      const host = predict(weights, batch, ctx.model, 'host');
      const device = predict(weights, batch, ctx.model, 'device');
      const dHost = maxAbsDiff(host, t.logits);
      const dDevice = maxAbsDiff(device, t.logits);
      const scale = Math.max(...host.map(Math.abs));
      console.log(
        `[export] ${name}: max |logit| ${scale.toFixed(3)}, max |torch - ts| host ${dHost.toExponential(2)}, device ${dDevice.toExponential(2)}`,
      );
      // Float32 rounding only (see docs/model.md, "The model in PyTorch", for the measured figures).
      expect(dHost).toBeLessThan(1e-5);
      expect(dDevice).toBeLessThan(1e-5);
    }
  }, 120_000);

  it('the other code paths of the module (weight tying, 2 cross heads, integral spectral encoding, no gsd part) with logits of order 1', async () => {
    requireTorch();
    // Not a run's config: weights from the trainer's init x3, so the logits are O(1) (max ~2.3)
    // and the tolerance is tested at a realistic magnitude. Measured: torch vs TypeScript
    // 1.6e-6 (host tokens) and 1.2e-6 (device tokens), the TypeScript model's own two token
    // paths differ by 1.9e-6: float32 rounding. (At x8, logits ~20, all three differ by ~1e-3:
    // the network amplifies rounding, on either side alike.)
    const cfg = modelConfig('small', {
      depth: 3,
      weightTying: true,
      crossHeads: 2,
      numClasses: 5,
      task: 'single',
      encoding: { spectral: { mode: 'integral' }, gsd: { enabled: false } },
    });
    const w = initParams(cfg, 11).map((v) => v * 3);
    const variant = join(dir, 'variant');
    await mkdir(variant);
    await writeFile(join(variant, 'model.safetensors'), encodeSafetensors(torchStateDict(cfg, w)));
    await writeFile(
      join(variant, 'config.json'),
      JSON.stringify({ format: TORCH_EXPORT_FORMAT, model: cfg, classes: ['a', 'b', 'c', 'd', 'e'] }),
    );
    await copyFile(TORCH_MODULE_PATH, join(variant, 'atomizer_model.py'));
    const batch = await bigEarthNetBatch();
    const t = await torchLogits(batch, 'variant', variant);
    const host = predict(w, batch, cfg, 'host');
    const device = predict(w, batch, cfg, 'device');
    const scale = Math.max(...host.map(Math.abs));
    const dHost = maxAbsDiff(host, t.logits);
    const dDevice = maxAbsDiff(device, t.logits);
    const dTs = maxAbsDiff(host, device);
    console.log(
      `[export] variant: max |logit| ${scale.toFixed(3)}, max |torch - ts| host ${dHost.toExponential(2)}, device ${dDevice.toExponential(2)}; ts host - device ${dTs.toExponential(2)}`,
    );
    expect(scale).toBeGreaterThan(1);
    expect(dHost).toBeLessThan(1e-5);
    expect(dDevice).toBeLessThan(1e-5);
  }, 60_000);

  it("the comparison can fail: another checkpoint's weights give other logits", async () => {
    requireTorch();
    const batch = await statlogBatch();
    const t = await torchLogits(batch, 'statlog-again');
    const perturbed = Float32Array.from(weights);
    const headB = paramTableOf(ctx.model).entries.find((e) => e.name === 'head.b')!;
    perturbed[headB.offset] = perturbed[headB.offset]! + 1e-3;
    expect(maxAbsDiff(predict(perturbed, batch, ctx.model, 'host'), t.logits)).toBeGreaterThan(5e-4);
  }, 60_000);

  it('the CLI exports by run id; an existing folder, an unknown run and an option export does not have are one-line errors', async () => {
    const out = join(dir, 'cli-out');
    const ok = await runCli(['export', '--run', RUN, '--s3', join(dir, 'store'), '--out', out, '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const r = JSON.parse(ok.stdout) as { checkpoint: { round: number }; files: string[] };
    expect(r.checkpoint.round).toBe(4);
    expect(await readFile(join(out, 'model.safetensors'))).toEqual(await readFile(join(exported, 'model.safetensors')));
    await expect(exportRun({ store, run: RUN, out })).rejects.toThrow(
      /^--out .*cli-out already exists and is not empty \(README\.md, atomizer_model\.py, config\.json, \.\.\.\); give a new folder or remove it$/,
    );
    await expect(exportRun({ store, run: 'nope', out: join(dir, 'x') })).rejects.toThrow(/run 'nope' is not in the store .*runs there: ex/);
    const bad = await runCli(['export', '--run', RUN, '--s3', join(dir, 'store'), '--out', join(dir, 'y'), '--format', 'onnx']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toBe(`atomizer: unknown option '--format' (see atomizer export --help)\n`);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  }, 60_000);
});

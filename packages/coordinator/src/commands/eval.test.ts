import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint, selectBackend } from '@atomizer/model';
import { LocalStore, parseMetricsJsonl, parseRunConfig, runKeys, type EvalEvent } from '@atomizer/protocol';
import { ModalityRegistry, dataPath, readDataset, parseDatasetSpec } from '@atomizer/tokenizer';
import { buildEvalBatch, loadRunContext } from '@atomizer/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessExecutor, train } from '../engine/index.js';
import { presetsDir } from '../presets.js';
import { evalCheckpoint, tileSample, type EvalCheckpointOptions } from './eval-checkpoint.js';
import { formatEvalResult } from './eval.js';
import { runCli } from './run-cli.js';

// atomizer eval against a real run: a tiny model trained a few rounds on the
// real Statlog data by the engine's in-process executor into a LocalStore.
// Scored on the Statlog test split it must report exactly what the trainer's
// own evaluation reported for the same checkpoint and samples; scored on a
// Landsat-7 scene (a sensor never in training, unlabelled) it gives a class
// histogram tagged unseen. Every bad input stops before the model runs.

const STATLOG = `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`;
const L7 = `geotiff:${dataPath('landsat7_stars', 'L7_ETMs.tif')}?sensor=landsat-7&bands=B1,B2,B3,B4,B5,B7`;
const SEN2 = `scene:${dataPath('rstoolbox-sen2', 'sen2.tif')}?labels=${dataPath('rstoolbox-sen2', 'sen2_polygons.geojson')}&sensor=s2a&k=5`;

let dir: string;
let store: LocalStore;
let events: EvalEvent[];
const RUN = 'ev';

beforeAll(async () => {
  await selectBackend('wasm', () => undefined);
  dir = await mkdtemp(join(tmpdir(), 'atomizer-eval-'));
  store = new LocalStore(join(dir, 'store'));
  const config = parseRunConfig({
    run: RUN,
    dataset: { name: 'statlog', source: STATLOG, shardSize: 1000, modalities: join(presetsDir(), 'statlog-modalities.yaml') },
    model: { preset: 'tiny' },
    train: { rounds: 8, slices: 2, sliceSamples: 32, lr: 3e-3, warmupRounds: 1, maxAtoms: 36 },
    checkpoint: { every: 4, keep: 2 },
    eval: { every: 4, maxSamples: 64, sliceSamples: 32 },
  });
  await train({ store, executor: new InProcessExecutor(store, 'wasm'), config });
  events = parseMetricsJsonl(new TextDecoder().decode(await store.get(runKeys(RUN).metrics))).filter(
    (e): e is EvalEvent => e.type === 'eval',
  );
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Options with a backend callback that records whether the model was about to run. */
function opts(extra: Partial<EvalCheckpointOptions> = {}): { o: EvalCheckpointOptions; started: () => boolean } {
  let started = false;
  return {
    o: {
      store,
      run: RUN,
      dataset: STATLOG,
      backend: async () => {
        started = true;
        return 'wasm';
      },
      ...extra,
    },
    started: () => started,
  };
}

describe("atomizer eval on the run's own data", () => {
  it("a simulated sensor given inline: its bands standardised with its own view's statistics, tagged unseen", async () => {
    const tm = JSON.stringify({
      name: 'tm-from-mss',
      simulate: { sensor: 'landsat-5-tm', bands: ['B2', 'B3', 'B4'], gsdM: 80, bits: 8, gain: 0.5, offset: 0 },
    });
    const r = await evalCheckpoint(opts({ maxSamples: 64, modalities: [tm] }).o);
    expect(r.normalisation.filter((n) => n.band.startsWith('landsat-5-tm:')).map((n) => [n.band, n.source])).toEqual([
      ['landsat-5-tm:B2', 'dataset'],
      ['landsat-5-tm:B3', 'dataset'],
      ['landsat-5-tm:B4', 'dataset'],
    ]);
    expect(r.modalities).toEqual([expect.objectContaining({ modality: 'tm-from-mss', seen: 'unseen', samples: 64 })]);
  });

  it('reports what the trainer reported for the latest checkpoint (same samples, modalities, tags, metrics)', async () => {
    const r = await evalCheckpoint(opts({ maxSamples: 64 }).o);
    expect(r.checkpoint).toMatchObject({ round: 8, verified: true });
    expect(r.mode).toBe('metrics');
    expect(r.dataset).toMatchObject({ split: 'test', samples: 64, task: 'single' });
    expect(r.normalisation.map((n) => [n.band, n.source])).toEqual([
      ['landsat-mss:MSS4', 'run'],
      ['landsat-mss:MSS5', 'run'],
      ['landsat-mss:MSS6', 'run'],
      ['landsat-mss:MSS7', 'run'],
    ]);
    const trainer = events.filter((e) => e.round === 8);
    expect(r.modalities.map((m) => m.modality)).toEqual(trainer.map((e) => e.modality));
    for (const m of r.modalities) {
      const t = trainer.find((e) => e.modality === m.modality)!;
      expect({ modality: m.modality, seen: m.seen, samples: m.samples, accuracy: m.accuracy, macroF1: m.macroF1 }).toEqual({
        modality: t.modality,
        seen: t.seen,
        samples: t.samples,
        accuracy: t.accuracy,
        macroF1: t.macroF1,
      });
    }
    expect(r.modalities.filter((m) => m.seen === 'seen').map((m) => m.modality)).toEqual(['mss-grn', 'mss-gr', 'mss-rn', 'mss-gn']);
    const text = formatEvalResult(r);
    expect(text).toContain('sha256 verified against latest.json');
    expect(text).toMatch(/mss-gr-nir2\s+unseen\s+64/);
  });

  it('scores an older checkpoint (round 4) as the trainer did at round 4, with named modalities only', async () => {
    const r = await evalCheckpoint(opts({ maxSamples: 64, checkpoint: '4', modalities: ['mss-all', 'mss-grn'] }).o);
    expect(r.checkpoint).toMatchObject({ round: 4, verified: false });
    expect(r.modalities.map((m) => [m.modality, m.seen])).toEqual([
      ['mss-all', 'unseen'],
      ['mss-grn', 'seen'],
    ]);
    for (const m of r.modalities) {
      const t = events.find((e) => e.round === 4 && e.modality === m.modality)!;
      expect([m.accuracy, m.macroF1]).toEqual([t.accuracy, t.macroF1]);
    }
  });
});

describe('atomizer eval on other sensors', () => {
  it('a Landsat-7 scene (never in training, unlabelled): tiles of the training footprint, own statistics, unseen, class histogram', async () => {
    const r = await evalCheckpoint(opts({ dataset: L7, maxSamples: 300 }).o);
    expect(r.mode).toBe('histogram');
    // Statlog samples are 3 x 80 m = 240 m wide; 240 / 28.5 m -> 8-pixel tiles.
    expect(r.dataset).toMatchObject({ split: 'all', samples: 300, tiles: { pixels: 8, images: 1 }, task: 'none' });
    expect(r.normalisation.map((n) => n.source)).toEqual(Array(6).fill('dataset'));
    expect(r.modalities).toHaveLength(1);
    const m = r.modalities[0]!;
    expect(m).toMatchObject({ modality: 'native', seen: 'unseen' });
    expect(m.seenReason).toContain('landsat-7 never in training');
    expect(Object.keys(m.histogram!)).toEqual(r.model.classes);
    expect(Object.values(m.histogram!).reduce((a, b) => a + b, 0)).toBe(m.samples);
    expect(m.samples + m.skipped).toBe(300);
    expect(r.notes.join('\n')).toMatch(/unlabelled/);
    expect(formatEvalResult(r)).toMatch(/landsat-7:B1\s+this dataset's own statistics/);
  });

  it("a labelled Sentinel-2 scene whose classes share none with the run's: refused before the model runs, naming both class lists", async () => {
    const { o, started } = opts({ dataset: SEN2, split: 'all', maxSamples: 40 });
    await expect(evalCheckpoint(o)).rejects.toThrow(
      /dataset's classes \(dryout, forest, village, water\) share none with run ev's classes \(red soil, /,
    );
    expect(started()).toBe(false);
  });

  it("a labelled scene of another sensor whose classes are partly the run's: metrics and a confusion matrix over the shared classes", async () => {
    // The Sentinel-2 polygons with two classes renamed to Statlog's: water -> 'red soil', forest -> 'cotton crop'.
    const geo = JSON.parse(await readFile(dataPath('rstoolbox-sen2', 'sen2_polygons.geojson'), 'utf8')) as {
      features: Array<{ properties: { class: string } }>;
    };
    const rename: Record<string, string> = { water: 'red soil', forest: 'cotton crop' };
    for (const f of geo.features) f.properties.class = rename[f.properties.class] ?? f.properties.class;
    const labels = join(dir, 'renamed.geojson');
    await writeFile(labels, JSON.stringify(geo));
    const spec = `scene:${dataPath('rstoolbox-sen2', 'sen2.tif')}?labels=${labels}&sensor=s2a&k=5`;
    const r = await evalCheckpoint(opts({ dataset: spec, split: 'all', maxSamples: 400 }).o);
    expect(r.mode).toBe('metrics');
    expect(r.scoredClasses).toEqual(['red soil', 'cotton crop']);
    expect(r.notes.join('\n')).toMatch(
      /dataset classes (dryout, village|village, dryout) are not among the run's classes: their \d+ samples are left out/,
    );
    const m = r.modalities[0]!;
    expect(m.seen).toBe('unseen');
    const c = m.confusion!;
    expect(c).toHaveLength(2);
    const total = c.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(m.samples);
    expect(m.accuracy).toBeCloseTo((c[0]![0]! + c[1]![1]!) / total, 12);
    expect(formatEvalResult(r)).toMatch(/confusion matrix, native \(rows: true class, columns: predicted\)/);
  });

  it('tileSample cuts an image into whole tiles of the finest band, coarser bands on the same ground window', () => {
    const band = (name: string, w: number, gsdM: number) => ({
      kind: 'spectral' as const,
      sensor: 'x',
      name,
      width: w,
      height: w,
      gsdM,
      wavelengthNm: 500,
      bandwidthNm: 10,
      scale: 1,
      offset: 0,
      values: Float32Array.from({ length: w * w }, (_, i) => i),
    });
    const tiles = tileSample({ id: 's', labels: [], bands: [band('a', 10, 10), band('b', 5, 20)] }, 4);
    expect(tiles).toHaveLength(4); // floor(10/4)^2
    expect(tiles[3]!.bands.map((b) => [b.width, b.height])).toEqual([
      [4, 4],
      [2, 2],
    ]);
    expect(Array.from(tiles[3]!.bands[0]!.values.slice(0, 4))).toEqual([44, 45, 46, 47]);
    expect(Array.from(tiles[3]!.bands[1]!.values.slice(0, 2))).toEqual([12, 13]);
  });
});

describe('atomizer eval: bad input stops before the model runs', () => {
  const cases: Array<[string, Partial<EvalCheckpointOptions>, RegExp]> = [
    [
      'a dataset path that does not exist',
      { dataset: 'statlog:/no/such/statlog.csv' },
      /dataset path \/no\/such\/statlog\.csv does not exist/,
    ],
    [
      'a scene whose labels file does not exist',
      { dataset: `scene:${dataPath('rstoolbox-sen2', 'sen2.tif')}?labels=/no/labels.geojson` },
      /labels file \/no\/labels\.geojson does not exist/,
    ],
    [
      'a modality naming an unknown band',
      { modalities: ['{"name":"x","sensor":"landsat-mss","bands":["MSS9"]}'] },
      /--modality .*unknown band 'MSS9'.*landsat-mss:MSS4/,
    ],
    ['a modality name the registry does not know', { modalities: ['no-such-modality'] }, /--modality no-such-modality: .*no-such-modality/],
    [
      'a checkpoint that is missing',
      { checkpoint: '3' },
      /checkpoints\/000003\/state\.safetensors of run 'ev' is not in the store; checkpoints kept: rounds 4, 8/,
    ],
    ['a checkpoint argument that is not a round', { checkpoint: 'best' }, /--checkpoint takes 'latest' or a round number, got 'best'/],
    ['a run id not in the store', { run: 'nope' }, /run 'nope' is not in the store .*runs there: ev/],
  ];
  for (const [what, extra, message] of cases) {
    it(what, async () => {
      const { o, started } = opts(extra);
      await expect(evalCheckpoint(o)).rejects.toThrow(message);
      expect(started()).toBe(false);
    });
  }

  it('a checkpoint from another model config', async () => {
    const key = runKeys(RUN).checkpoint(50, 'state.safetensors');
    await store.put(
      key,
      saveCheckpoint({ weights: {}, optimizerState: {}, meta: { run: RUN, round: '50', 'model.sha256': 'f'.repeat(64) } }),
    );
    try {
      const { o, started } = opts({ checkpoint: '50' });
      await expect(evalCheckpoint(o)).rejects.toThrow(
        /checkpoint runs\/ev\/checkpoints\/000050\/state\.safetensors is from another model config than run 'ev'/,
      );
      expect(started()).toBe(false);
    } finally {
      await store.delete(key);
    }
  });

  it('a latest checkpoint whose bytes no longer match latest.json', async () => {
    const other = new LocalStore(join(dir, 'tampered'));
    for (const k of await store.list(`runs/${RUN}/`)) await other.put(k, await store.get(k));
    for (const k of await store.list('datasets/')) await other.put(k, await store.get(k));
    const key = runKeys(RUN).checkpoint(8, 'state.safetensors');
    const bytes = await other.get(key);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    await other.put(key, bytes);
    await expect(evalCheckpoint({ ...opts().o, store: other })).rejects.toThrow(
      /does not match the sha256 in runs\/ev\/checkpoints\/latest\.json/,
    );
  });

  it('the command: --json prints one object; an S3 endpoint that does not answer exits 1 saying so', async () => {
    const ok = await runCli([
      'eval',
      '--run',
      RUN,
      '--s3',
      join(dir, 'store'),
      '--dataset',
      STATLOG,
      '--modality',
      'mss-all',
      '--max-samples',
      '32',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    const r = JSON.parse(ok.stdout) as { modalities: Array<{ modality: string; samples: number; accuracy: number }> };
    expect(r.modalities).toHaveLength(1);
    expect(r.modalities[0]).toMatchObject({ modality: 'mss-all', samples: 32 });
    const dead = await runCli(['eval', '--run', RUN, '--s3', 's3://atomizer-test', '--dataset', STATLOG], {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      AWS_REGION: 'us-east-1',
    });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/the object store s3:\/\/atomizer-test at http:\/\/127\.0\.0\.1:9 does not answer/);
  }, 60_000);
});

describe("a run normalised per image (dataset.normalisation 'image')", () => {
  it('atomizer eval applies the same strategy as the trainer: the same metrics, and says so', async () => {
    const imgStore = new LocalStore(join(dir, 'image-store'));
    const config = parseRunConfig({
      run: 'img',
      dataset: {
        name: 'statlog',
        source: STATLOG,
        shardSize: 1000,
        modalities: join(presetsDir(), 'statlog-modalities.yaml'),
        normalisation: 'image',
      },
      model: { preset: 'tiny' },
      train: { rounds: 3, slices: 1, sliceSamples: 32, lr: 3e-3, warmupRounds: 1, maxAtoms: 36 },
      eval: { every: 3, maxSamples: 48, sliceSamples: 48 },
    });
    await train({ store: imgStore, executor: new InProcessExecutor(imgStore, 'wasm'), config });
    const trainer = parseMetricsJsonl(new TextDecoder().decode(await imgStore.get(runKeys('img').metrics))).filter(
      (e): e is EvalEvent => e.type === 'eval' && e.round === 3,
    );
    const r = await evalCheckpoint({ ...opts({ maxSamples: 48 }).o, store: imgStore, run: 'img' });
    expect(r.normalisationStrategy).toBe('image');
    expect(r.normalisation).toEqual([]);
    expect(formatEvalResult(r)).toMatch(/each band z-scored with each sample's own statistics/);
    for (const m of r.modalities) expect(m.accuracy).toBe(trainer.find((e) => e.modality === m.modality)!.accuracy);
    // What both read: each band of each sample centred on its own mean with unit spread.
    const ctx = await loadRunContext(imgStore, runKeys('img').config);
    const first = await readDataset(parseDatasetSpec(STATLOG)).items[Symbol.asyncIterator]().next();
    const built = buildEvalBatch([first.value!.sample], ModalityRegistry.default().get('mss-grn'), ctx, 1)!;
    for (let b = 0; b < built.batch.bands.length; b++) {
      const v = [...built.batch.value].filter((_, i) => built.batch.band[i] === b && built.batch.mask[i] === 1);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      expect(v.length).toBe(9);
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length)).toBeCloseTo(1, 4);
    }
  }, 120_000);
});

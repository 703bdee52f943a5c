// Cross-scene benchmark (issue 11, "the Atomizer earns its place"): the sen2
// presets trained on the real Sentinel-2 scene (RStoolbox's sen2.tif, exactly as
// a run trains them: the engine's train() with the in-process executor), then
// scored zero-shot on the only real labelled scene of another sensor in the
// data: Landsat-8 surface reflectance (red, NIR, SWIR1 = B4, B5, B6 at 30 m)
// with LANDFIRE Existing Vegetation Type labels, over the classes both share
// (landsat8-landfire-legend.csv: tree types -> forest, open water -> water,
// sparse bedrock and scree -> dryout). Per radiometry strategy:
//   run:     the run's statistics, the Landsat bands in physical units (the
//            Collection 2 SR scaling 2.75e-5 x DN - 0.2 from the scene
//            description); a band the run has none for uses the scene's own;
//   dataset: every band standardised with the scene's own statistics;
//   image:   a run trained with dataset.normalisation 'image' (each sample
//            standardised by itself), scored the same way;
//   dataset, trained bands: as dataset, the Atomizer given only the Landsat
//            bands inside the wavelengths its train views cover.
// Beside it the hand-mapped fixed-slot baselines (the MLP and k-NN of
// bench/quality.ts, trained on the same Sentinel-2 samples and train views;
// each Landsat band goes to the slot of the nearest Sentinel-2 band by
// wavelength) with the same normalisation, chance and the majority class.
// A run trained with the radiometric step (train.radiometric*) also gets the
// baselines trained on the same samples plus 3 radiometrically jittered copies
// of each ('mlp, radiometry', 'knn, radiometry'): the augmentation, not the
// model, could be what transfers.
// Not a test.
//
//   npm run bench:cross-scene -- [--preset sen2-sensors --preset sen2-scene --preset sen2-transfer]
//       [--seeds 42,7,1234] [--stride 2] [--set train.rounds=30 ...] [--no-image] [--jobs 2] [--json]
//
// --jobs N runs N (preset, seed) pairs at once in child processes (as bench:quality does).

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fixedSlotInputs,
  fixedSlotLayout,
  predictFixedSlot,
  selectBackend,
  trainFixedSlotBaseline,
  type SlotNormalisation,
} from '@atomizer/model';
import { LocalStore, parseRunConfig, setPath, type RunConfig } from '@atomizer/protocol';
import {
  SensorCatalog,
  SeededRng,
  applyModality,
  radiometricJitterOn,
  randomRadiometry,
  readDataset,
  type BandStats,
  type Modality,
  type RadiometricJitter,
  type Sample,
} from '@atomizer/tokenizer';
import { Command } from 'commander';
import { readSplit } from '../src/baselines.js';
import { evalCheckpoint } from '../src/commands/eval-checkpoint.js';
import { NATIVE } from '../src/commands/modality-applicability.js';
import { normalisationFor, type StatsChoice } from '../src/commands/normalisation.js';
import { resolveTrainConfig } from '../src/commands/run-config-options.js';
import { runChildJson } from './child-json.js';
import { formatSummary, summarise } from './seed-summary.js';
import { SlotKnn } from './knn.js';
import { writeLandsatLandfireScene } from './landsat8-landfire.js';
import { InProcessExecutor, train, type TrainResult } from '../src/engine/index.js';

type Strategy = 'run' | 'dataset' | 'image' | 'dataset, trained bands';
type Model = 'atomizer' | 'mlp' | 'knn' | 'mlp, radiometry' | 'knn, radiometry';
const MODELS: readonly Model[] = ['atomizer', 'mlp', 'knn', 'mlp, radiometry', 'knn, radiometry'];
/** Radiometrically jittered copies of each training sample the baselines get when the run trains with the radiometric step. */
const RADIOMETRY_COPIES = 3;

/**
 * The training samples plus RADIOMETRY_COPIES copies of each with the run's radiometric jitter
 * (seeded per sample and copy): the baselines' stand-in for the Atomizer's per-step draws.
 */
function withRadiometry(samples: readonly Sample[], jitter: RadiometricJitter, seed: number): Sample[] {
  return samples.flatMap((s, i) => [
    s,
    ...Array.from({ length: RADIOMETRY_COPIES }, (_, c) => randomRadiometry(s, jitter, SeededRng.derive(seed, 3, i, c))),
  ]);
}

interface Score {
  preset: string;
  seed: number;
  strategy: Strategy;
  model: Model;
  accuracy: number;
  macroF1: number;
  /** The classes scored (the run's that the legend names, in the run's order). */
  classes: string[];
  /** Rows: true class, columns: predicted, over `classes`. */
  confusion: number[][];
  /** Where each Landsat band's statistics came from (run, family, dataset). */
  statsFrom: string;
}

async function configFor(
  preset: string,
  seed: number,
  sets: Array<[string, unknown]>,
  normalisation: 'train-split' | 'image',
  log: (s: string) => void,
): Promise<RunConfig> {
  const cfg = (await resolveTrainConfig({ config: preset })) as unknown as Record<string, unknown>;
  for (const [path, value] of sets) setPath(cfg, path, value);
  setPath(cfg, 'seed', seed);
  setPath(cfg, 'dataset.normalisation', normalisation);
  if (normalisation === 'image') {
    // Each sample's own z-score removes any gain and shift of a band: the run config refuses the
    // radiometric step there, so the 'image' variant of a preset trains without it, and says so.
    const t = cfg.train as Record<string, unknown> | undefined;
    const on = ['radiometricGain', 'radiometricBandGain', 'radiometricShift'].filter(
      (k) => t?.[k] !== undefined && t[k] !== (k === 'radiometricShift' ? 0 : 1),
    );
    if (on.length > 0) {
      log(
        `${preset} seed ${seed} (image): trained without ${on.map((k) => `train.${k}`).join(', ')} (no effect under per-sample normalisation)`,
      );
      for (const k of on) setPath(cfg, `train.${k}`, k === 'radiometricShift' ? 0 : 1);
    }
  }
  setPath(cfg, 'run', `xscene-${preset}-${normalisation}-s${seed}`);
  return parseRunConfig(cfg, preset);
}

/** Accuracy, macro F1 and confusion of predicted vs true class indices over `n` classes. */
function scoreOf(
  pred: readonly number[],
  truth: readonly number[],
  n: number,
): { accuracy: number; macroF1: number; confusion: number[][] } {
  const confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  truth.forEach((t, i) => confusion[t]![pred[i]!]!++);
  const f1s = confusion.map((row, c) => {
    const tp = row[c]!;
    const fp = confusion.reduce((s, r, k) => s + (k === c ? 0 : r[c]!), 0);
    const fn = row.reduce((s, v, k) => s + (k === c ? 0 : v), 0);
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return { accuracy: truth.filter((t, i) => pred[i] === t).length / truth.length, macroF1: f1s.reduce((a, b) => a + b, 0) / n, confusion };
}

/** The baselines on the Landsat samples: predictions restricted to the shared classes, as eval restricts the Atomizer's. */
function baselineScores(
  result: TrainResult,
  trainSamples: Sample[],
  scene: Sample[],
  truth: number[],
  scored: number[],
  stats: SlotNormalisation,
  seed: number,
): Record<'mlp' | 'knn', { accuracy: number; macroF1: number; confusion: number[][] }> {
  const { ctx } = result.prepared;
  const trainStats: SlotNormalisation =
    ctx.config.dataset.normalisation === 'image' ? 'image' : new Map(ctx.manifest.stats.bands.map((b) => [b.key, b]));
  const mlp = trainFixedSlotBaseline({
    samples: trainSamples,
    trainModalities: ctx.modalities.train,
    stats: trainStats,
    numClasses: ctx.model.numClasses,
    seed,
  });
  const C = ctx.model.numClasses;
  const logits = predictFixedSlot(mlp, fixedSlotInputs({ ...mlp, stats }, scene, NATIVE).inputs);
  const mlpPred = scene.map((_, i) =>
    scored.reduce((best, c, k) => ((logits[i * C + c] as number) > (logits[i * C + scored[best]!] as number) ? k : best), 0),
  );
  const catalog = SensorCatalog.default();
  const knn = new SlotKnn(
    fixedSlotLayout(trainSamples, ctx.modalities.train, catalog),
    trainSamples,
    ctx.modalities.train,
    trainStats,
    seed,
  );
  const allowed = new Set(scored);
  const knnPred = scene.map((s) => scored.indexOf(knn.classify(knn.vector(s, NATIVE, stats), (c) => allowed.has(c))));
  return { mlp: scoreOf(mlpPred, truth, scored.length), knn: scoreOf(knnPred, truth, scored.length) };
}

/** Names of the bands of `target` whose centre lies inside the wavelength span the train modalities keep of `trainSample`. */
function trainedBands(target: Sample, trainSample: Sample, trainModalities: readonly Modality[]): string[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of trainModalities) {
    for (const b of applyModality(trainSample, m, { mode: 'eval' }).bands) {
      if (b.kind !== 'spectral') continue;
      lo = Math.min(lo, b.wavelengthNm - b.bandwidthNm / 2);
      hi = Math.max(hi, b.wavelengthNm + b.bandwidthNm / 2);
    }
  }
  return target.bands.filter((b) => b.kind === 'spectral' && b.wavelengthNm >= lo && b.wavelengthNm <= hi).map((b) => b.name);
}

async function runSeed(
  preset: string,
  seed: number,
  sets: Array<[string, unknown]>,
  dataset: string,
  image: boolean,
  log: (s: string) => void,
): Promise<Score[]> {
  const out: Score[] = [];
  const backend = await selectBackend('auto', () => undefined);
  // The scene's samples, labelled with the run's class indices (same names, case-insensitive).
  const src = readDataset(dataset);
  const raw: Sample[] = [];
  for await (const item of src) raw.push(item.sample);
  for (const normalisation of image ? (['train-split', 'image'] as const) : (['train-split'] as const)) {
    const config = await configFor(preset, seed, sets, normalisation, log);
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-xscene-'));
    try {
      const store = new LocalStore(dir);
      const t0 = performance.now();
      const result = await train({ store, executor: new InProcessExecutor(store, backend.name), config, log: () => undefined });
      log(`${preset} seed ${seed} (${normalisation}): trained in ${((performance.now() - t0) / 1000).toFixed(0)} s wall`);
      const { ctx } = result.prepared;
      const runClasses = ctx.manifest.classes.map((c) => c.toLowerCase());
      const dsToRun = (src.classes ?? []).map((c) => runClasses.indexOf(c.toLowerCase()));
      const scene = raw.filter((s) => dsToRun[s.labels[0] as number]! >= 0);
      const scored = runClasses.flatMap((_, i) => (dsToRun.includes(i) ? [i] : []));
      const truth = scene.map((s) => scored.indexOf(dsToRun[s.labels[0] as number]!));
      const trainSamples = await readSplit(store, ctx.manifest, 'train');
      // The Landsat bands inside the wavelengths the run's train views cover (SWIR1 is outside the
      // sen2-scene preset's): the Atomizer once more with those only, as the fixed-slot mapping drops
      // a band whose nearest slot is taken.
      const trained = trainedBands(scene[0]!, trainSamples[0]!, ctx.modalities.train);
      const strategies: Array<[Strategy, StatsChoice]> =
        normalisation === 'image'
          ? [['image', 'auto']]
          : [
              ['run', 'run'],
              ['dataset', 'dataset'],
            ];
      if (normalisation !== 'image' && trained.length < scene[0]!.bands.length) strategies.push(['dataset, trained bands', 'dataset']);
      for (const [strategy, choice] of strategies) {
        const modalities =
          strategy === 'dataset, trained bands'
            ? [JSON.stringify({ name: 'trained-bands', sensor: 'landsat-8', bands: trained })]
            : undefined;
        const r = await evalCheckpoint({
          store,
          run: config.run,
          dataset,
          split: 'all',
          stats: choice,
          backend: backend.name,
          ...(modalities !== undefined ? { modalities } : {}),
        });
        const m = r.modalities[0]!;
        const statsFrom =
          strategy === 'image' ? 'each sample' : r.normalisation.map((n) => `${n.band.split(':')[1]}:${n.source}`).join(' ');
        const names = scored.map((i) => ctx.manifest.classes[i]!);
        out.push({
          preset,
          seed,
          strategy,
          model: 'atomizer',
          accuracy: m.accuracy!,
          macroF1: m.macroF1!,
          classes: names,
          confusion: m.confusion!,
          statsFrom,
        });
        const stats: SlotNormalisation =
          strategy === 'image' ? 'image' : (normalisationFor(scene, ctx, choice).stats as Map<string, BandStats>);
        if (modalities !== undefined) {
          log(`  ${strategy} (${trained.join(', ')}): atomizer ${m.accuracy!.toFixed(3)}`);
          continue;
        }
        const b = baselineScores(result, trainSamples, scene, truth, scored, stats, seed);
        for (const model of ['mlp', 'knn'] as const) out.push({ preset, seed, strategy, model, ...b[model], classes: names, statsFrom });
        log(
          `  ${strategy}: atomizer ${m.accuracy!.toFixed(3)}, mlp ${b.mlp.accuracy.toFixed(3)}, knn ${b.knn.accuracy.toFixed(3)} (${m.samples} samples)`,
        );
        // The run trained with the radiometric step: the baselines once more with it (jittered copies).
        const t = config.train;
        const jitter = { gain: t.radiometricGain, bandGain: t.radiometricBandGain, shift: t.radiometricShift };
        if (radiometricJitterOn(jitter)) {
          const r = baselineScores(result, withRadiometry(trainSamples, jitter, seed), scene, truth, scored, stats, seed);
          out.push({ preset, seed, strategy, model: 'mlp, radiometry', ...r.mlp, classes: names, statsFrom });
          out.push({ preset, seed, strategy, model: 'knn, radiometry', ...r.knn, classes: names, statsFrom });
          log(`  ${strategy}, baselines with radiometry: mlp ${r.mlp.accuracy.toFixed(3)}, knn ${r.knn.accuracy.toFixed(3)}`);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/** Run one (preset, seed) in a child process of this script (--jobs); its scores. */
function runChild(preset: string, seed: number, passthrough: string[]): Promise<Score[]> {
  return runChildJson<Score[]>(
    fileURLToPath(import.meta.url),
    ['--preset', preset, '--seeds', String(seed), '--raw', ...passthrough],
    `${preset} seed ${seed}`,
  );
}

async function main(): Promise<void> {
  const opts = new Command()
    .description(
      'Cross-scene benchmark: sen2 presets trained on the Sentinel-2 scene, scored zero-shot on the Landsat-8 LANDFIRE scene per radiometry strategy, beside hand-mapped fixed-slot baselines',
    )
    .option(
      '--preset <name>',
      'preset (repeatable; default sen2-sensors, sen2-scene, sen2-transfer)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--seeds <list>', 'comma-separated seeds', '42,7,1234')
    .option('--stride <n>', 'every n-th labelled Landsat pixel in each direction', '2')
    .option(
      '--set <path=value>',
      'override a run-config value (repeatable), e.g. train.rounds=30',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--no-image', "skip the runs trained with dataset.normalisation 'image'")
    .option('--jobs <n>', '(preset, seed) pairs run at once, each in its own process', '1')
    .option('--json', 'print one JSON object')
    .option('--raw', "internal: print one (preset, seed)'s scores as JSON (child mode)")
    .parse()
    .opts<{
      preset: string[];
      seeds: string;
      stride: string;
      set: string[];
      image: boolean;
      jobs: string;
      json?: boolean;
      raw?: boolean;
    }>();
  const presets = opts.preset.length > 0 ? opts.preset : ['sen2-sensors', 'sen2-scene', 'sen2-transfer'];
  const seeds = opts.seeds.split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds takes non-negative integers, got '${opts.seeds}'`);
  const stride = Number(opts.stride);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`--stride takes a positive integer, got '${opts.stride}'`);
  const jobs = Number(opts.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs takes a positive integer, got '${opts.jobs}'`);
  const sets: Array<[string, unknown]> = opts.set.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set takes path=value (e.g. train.rounds=30), got '${s}'`);
    const raw = s.slice(eq + 1);
    try {
      return [s.slice(0, eq), JSON.parse(raw) as unknown];
    } catch {
      return [s.slice(0, eq), raw];
    }
  });
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'atomizer-xscene-desc-'));
  const t0 = performance.now();
  const scores: Score[] = [];
  let classCounts: number[] = [];
  let classes: string[] = [];
  try {
    const dataset = await writeLandsatLandfireScene(join(dir, 'landsat8-landfire.yaml'), { stride, reflectance: true });
    const src = readDataset(dataset);
    for await (const item of src) classCounts[item.sample.labels[0] as number] = (classCounts[item.sample.labels[0] as number] ?? 0) + 1;
    classes = [...(src.classes ?? [])];
    classCounts = classes.map((_, i) => classCounts[i] ?? 0);
    log(
      `Landsat-8 LANDFIRE scene: ${classCounts.reduce((a, b) => a + b, 0)} patches (${classes.map((c, i) => `${c} ${classCounts[i]}`).join(', ')})`,
    );
    if (opts.raw === true) {
      process.stdout.write(`${JSON.stringify(await runSeed(presets[0]!, seeds[0]!, sets, dataset, opts.image, log))}\n`);
      return;
    }
    const tasks = presets.flatMap((preset) => seeds.map((seed) => ({ preset, seed })));
    const passthrough = ['--stride', String(stride), ...opts.set.flatMap((s) => ['--set', s]), ...(opts.image ? [] : ['--no-image'])];
    const done = new Map<number, Score[]>();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
        while (next < tasks.length) {
          const i = next++;
          const t = tasks[i]!;
          done.set(
            i,
            jobs > 1 ? await runChild(t.preset, t.seed, passthrough) : await runSeed(t.preset, t.seed, sets, dataset, opts.image, log),
          );
        }
      }),
    );
    // In task order, whatever order the children finished in.
    for (let i = 0; i < tasks.length; i++) scores.push(...done.get(i)!);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const total = classCounts.reduce((a, b) => a + b, 0);
  const majority = Math.max(...classCounts) / total;
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    load: loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  };
  const table = presets.flatMap((preset) =>
    (['run', 'dataset', 'dataset, trained bands', 'image'] as const).flatMap((strategy) =>
      MODELS.flatMap((model) => {
        const rs = scores.filter((s) => s.preset === preset && s.strategy === strategy && s.model === model);
        if (rs.length === 0) return [];
        return [
          {
            preset,
            strategy,
            model,
            accuracy: summarise(rs.map((r) => r.accuracy)),
            macroF1: summarise(rs.map((r) => r.macroF1)),
            statsFrom: rs[0]!.statsFrom,
          },
        ];
      }),
    ),
  );
  const wallSeconds = (performance.now() - t0) / 1000;
  if (opts.json === true) {
    process.stdout.write(
      `${JSON.stringify({ presets, seeds, stride, sets: Object.fromEntries(sets), machine, wallSeconds, classes, classCounts, chance: 1 / classes.length, majority, table, scores })}\n`,
    );
    return;
  }
  console.log(
    `cross-scene bench: presets ${presets.join(', ')}; seeds ${seeds.join(', ')}; stride ${stride}; ${opts.set.length > 0 ? `--set ${opts.set.join(' ')}; ` : ''}${wallSeconds.toFixed(0)} s wall`,
  );
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.load}`);
  console.log(
    `Landsat-8 LANDFIRE: ${total} patches, ${classes.map((c, i) => `${c} ${classCounts[i]}`).join(', ')}; chance 1/${classes.length} = ${(1 / classes.length).toFixed(3)} (macro F1 of a uniform guess about the same), majority ${majority.toFixed(3)}`,
  );
  console.log(
    '\nmedian / mean (min-max) over the seeds\n| preset | radiometry | model | accuracy | macro F1 | statistics of B4 B5 B6 |\n|---|---|---|---|---|---|',
  );
  for (const r of table)
    console.log(
      `| ${r.preset} | ${r.strategy} | ${r.model} | ${formatSummary(r.accuracy)} | ${formatSummary(r.macroF1)} | ${r.statsFrom} |`,
    );
  console.log(`\nconfusion (rows: true ${scores[0]?.classes.join(', ') ?? ''}; columns: predicted), seed ${seeds[0]}:`);
  for (const s of scores.filter((x) => x.seed === seeds[0]))
    console.log(`${s.preset} ${s.strategy} ${s.model}: ${JSON.stringify(s.confusion)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});

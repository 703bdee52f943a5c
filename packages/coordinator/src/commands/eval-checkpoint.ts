import { stat } from 'node:fs/promises';
import { predict } from '@atomizer/model';
import type { ObjectStore } from '@atomizer/protocol';
import {
  applyModality,
  cropBand,
  deriveSeed,
  parseReaderSpec,
  readDataset,
  seenTag,
  type BandRaster,
  type Modality,
  type ReaderSpec,
  type Sample,
} from '@atomizer/tokenizer';
import { buildEvalBatch, evalModality, type RunContext } from '@atomizer/worker';
import { evalScores } from '../engine/index.js';
import { checkStore } from './endpoints.js';
import { NATIVE, applicableModalities, trainingSensors, whyNotApplicable } from './modality-applicability.js';
import { checkStatsChoice, normalisationFor, type BandNormalisation, type StatsChoice } from './normalisation.js';
import { loadRunCheckpoint, openRun, trainingFootprintM } from './run-checkpoint.js';

export type { BandNormalisation } from './normalisation.js';
export { normalisationFor } from './normalisation.js';
export { loadRunCheckpoint, openRun } from './run-checkpoint.js';

// `atomizer eval`: score a stored checkpoint of a run on any dataset the
// tokenizer reads, in this process. The batch recipe (buildEvalBatch) and the
// metrics (evalScores) are the ones the trainer's eval jobs use; what is added
// here is reading an arbitrary dataset: bands the run has no statistics for
// (another sensor) borrow their family's or the dataset's own statistics, whole
// unlabelled images are cut into tiles of the training samples' footprint, and
// a dataset whose labels are not the run's classes gets a predicted-class
// histogram instead of metrics. Every input is checked before the dataset is
// read in full or the model runs.

export type SplitChoice = 'train' | 'val' | 'test' | 'all';

export interface EvalCheckpointOptions {
  store: ObjectStore;
  run: string;
  /** 'latest' or a round number. */
  checkpoint?: string;
  /** `<kind>:<path>[?options]`, as `atomizer shard --dataset` takes it. */
  dataset: string;
  /** Registry names, names of the run's lists, or inline JSON definitions. Default: the run's train + test modalities that apply, else 'native'. */
  modalities?: string[];
  /** Default 'test'; when the dataset has no such items and the split was not asked for explicitly, every item. */
  split?: SplitChoice;
  splitExplicit?: boolean;
  /** At most this many samples (after tiling), the first ones in reading order; 0 or undefined: all. */
  maxSamples?: number;
  /** Tile side in pixels of the finest band for whole unlabelled images; 0: whole images; undefined: the training samples' footprint. */
  tile?: number;
  /** Which statistics normalise the bands: 'auto' (default: the run's unless a band's units differ), 'run' or 'dataset' (normalisation.ts). */
  stats?: StatsChoice;
  /** Samples per forward pass. */
  batchSize?: number;
  /** Backend name reported in the result, or a function that selects it: called once every input is checked, before the model runs. */
  backend?: string | (() => Promise<string>);
  log?: (msg: string) => void;
}

export interface ModalityEval {
  modality: string;
  seen: 'seen' | 'unseen';
  /** Why it is tagged so. */
  seenReason: string;
  samples: number;
  skipped: number;
  accuracy?: number;
  macroF1?: number;
  mAP?: number;
  /** Predicted class counts (top-1; multi-label: sigmoid > 0.5 per class), when there are no metrics. */
  histogram?: Record<string, number>;
  /** Single-label metrics: confusion counts over `scoredClasses`, rows the true class, columns the predicted one. */
  confusion?: number[][];
}

export interface EvalCheckpointResult {
  run: string;
  checkpoint: { round: number; key: string; sha256: string; verified: boolean };
  dataset: {
    spec: string;
    kind: string;
    path: string;
    split: SplitChoice;
    samples: number;
    tiles?: { pixels: number; images: number };
    task: 'single' | 'multi' | 'none';
    classes: string[];
  };
  /** 'metrics' when labels map onto the run's classes, else 'histogram' (with the reason in notes). */
  mode: 'metrics' | 'histogram';
  model: { task: 'single' | 'multi'; classes: string[]; params: number };
  /** The classes metrics are computed over: the run's classes that the dataset's class table names too (predictions restricted to them). */
  scoredClasses?: string[];
  backend: string;
  /** The run's dataset.normalisation, applied here as in training: 'image' z-scores each band with each sample's own statistics (then `normalisation` is empty). */
  normalisationStrategy: 'train-split' | 'image';
  /** Which statistics normalise the bands (normalisation.ts); 'auto' unless asked. */
  stats: StatsChoice;
  normalisation: BandNormalisation[];
  modalities: ModalityEval[];
  notes: string[];
}

/** Dataset spec -> ReaderSpec, with every file it names checked to exist. */
export async function checkDatasetSpec(spec: string): Promise<ReaderSpec> {
  const parsed = parseReaderSpec(spec);
  const files: Array<[string, string]> = [['path', parsed.path]];
  for (const f of ['labels', 'classTable', 'mtl'] as const) {
    const v = (parsed as unknown as Record<string, unknown>)[f];
    if (typeof v === 'string' && !(f === 'mtl' && (v === 'off' || v === 'auto'))) files.push([f, v]);
  }
  for (const [what, p] of files) {
    try {
      await stat(p);
    } catch {
      throw new Error(
        `--dataset ${spec}: the ${what === 'path' ? 'dataset path' : `${what} file`} ${p} does not exist; give an existing file or folder (e.g. statlog:../shared/data/statlog/statlog_landsat_satellite.csv)`,
      );
    }
  }
  return parsed;
}

/** Cut one image into tiles of `px` x `px` pixels of its finest band (other bands: the same ground window). */
export function tileSample(sample: Sample, px: number): Sample[] {
  const fine = sample.bands.reduce((a, b) => (b.gsdM < a.gsdM ? b : a));
  const side = px * fine.gsdM;
  const nx = Math.floor(fine.width / px);
  const ny = Math.floor(fine.height / px);
  const out: Sample[] = [];
  for (let ty = 0; ty < ny; ty++) {
    for (let tx = 0; tx < nx; tx++) {
      const bands: BandRaster[] = sample.bands.map((b) => {
        const w = Math.max(1, Math.round(side / b.gsdM));
        const c0 = Math.min(b.width - w, Math.round((tx * side) / b.gsdM));
        const r0 = Math.min(b.height - w, Math.round((ty * side) / b.gsdM));
        return cropBand(b, Math.max(0, c0), Math.max(0, r0), Math.min(w, b.width), Math.min(w, b.height));
      });
      out.push({ ...sample, id: `${sample.id}@${tx},${ty}`, bands });
    }
  }
  return out;
}

function isIdentity(m: Modality): boolean {
  return m.sensor === undefined && m.bands === undefined && m.resolutionFactor === 1 && m.sizeFactor === 1;
}

/** seen/unseen of a modality on these samples: a sensor never in training is unseen; else the run's lists decide (seenTag). */
export function seenOf(m: Modality, view: Sample, ctx: RunContext): { seen: 'seen' | 'unseen'; reason: string } {
  const sensors = trainingSensors(ctx);
  const novel = [...new Set(view.bands.map((b) => b.sensor))].filter((s) => !sensors.has(s));
  if (novel.length > 0)
    return { seen: 'unseen', reason: `sensor ${novel.join(', ')} never in training (run trained on ${[...sensors].join(', ')})` };
  if (ctx.modalities.train.length === 0) {
    return isIdentity(m)
      ? { seen: 'seen', reason: 'every band as trained (run has no modality lists)' }
      : { seen: 'unseen', reason: 'a transform the run never applied' };
  }
  const tag = seenTag(m, ctx.modalities);
  return { seen: tag, reason: tag === 'seen' ? "in the run's train modalities" : "not in the run's train modalities" };
}

function resolveModalityArg(ctx: RunContext, arg: string): Modality {
  try {
    return evalModality(ctx, arg);
  } catch (err) {
    throw new Error(`--modality ${arg}: ${(err as Error).message}`);
  }
}

/** Class index of the run for each dataset class (by name, case-insensitive); undefined where the run has none. */
function classMap(datasetClasses: readonly string[], runClasses: readonly string[]): Array<number | undefined> {
  const idx = new Map(runClasses.map((c, i) => [c.toLowerCase(), i]));
  return datasetClasses.map((c) => idx.get(c.toLowerCase()));
}

/** Score a checkpoint of a run on a dataset (see the file comment). */
export async function evalCheckpoint(opts: EvalCheckpointOptions): Promise<EvalCheckpointResult> {
  const log = opts.log ?? (() => undefined);
  const { store } = opts;
  const notes: string[] = [];
  // 1. Cheap checks first: the dataset's files, the store, the run, the checkpoint.
  const spec = await checkDatasetSpec(opts.dataset);
  await checkStore(store);
  const ctx = await openRun(store, opts.run);
  const statsChoice = opts.stats ?? 'auto';
  checkStatsChoice(ctx, statsChoice);
  const ck = await loadRunCheckpoint(store, ctx, opts.checkpoint ?? 'latest');
  log(
    `run ${opts.run}: checkpoint round ${ck.round} (${ck.key}, sha256 ${ck.verified ? 'verified against latest.json' : 'not in latest.json, unverified'})`,
  );

  // 2. The dataset, lazily: the first sample checks the modalities before the rest is read.
  const source = readDataset(spec);
  const wanted = opts.split ?? 'test';
  const max = opts.maxSamples !== undefined && opts.maxSamples > 0 ? opts.maxSamples : Infinity;
  const wholeImages = spec.kind === 'geotiff' || spec.kind === 'stac';
  let tilePx = 0;
  if (wholeImages) {
    if (opts.tile !== undefined) tilePx = opts.tile;
    else {
      const foot = await trainingFootprintM(store, ctx);
      tilePx = foot === undefined ? 0 : -foot; // negative: metres, converted per image below
    }
  }
  const bySplit: Sample[] = [];
  const all: Sample[] = [];
  let images = 0;
  let tileUsed: number | undefined;
  let modalities: Modality[] | undefined;
  const checkModalities = (first: Sample): Modality[] => {
    if (opts.modalities !== undefined && opts.modalities.length > 0) {
      return opts.modalities.map((arg) => {
        const m = resolveModalityArg(ctx, arg);
        const why = whyNotApplicable(m, first, ctx);
        if (why !== undefined) {
          throw new Error(
            `--modality ${arg}: ${why}; the dataset's bands are ${first.bands.map((b) => `${b.sensor}:${b.name}`).join(', ')} (name bands of these, or a modality of their sensor)`,
          );
        }
        return m;
      });
    }
    const { modalities: applicable, notes: left } = applicableModalities([...ctx.modalities.train, ...ctx.modalities.test], first, ctx);
    notes.push(...left);
    if (applicable.length === 0)
      notes.push(
        `none of the run's train/test modalities applies to ${first.bands[0]?.sensor ?? 'this sensor'}: evaluated as 'native' (every band as read)`,
      );
    return applicable.length > 0 ? applicable : [NATIVE];
  };
  for await (const item of source) {
    let samples = [item.sample];
    images++;
    if (wholeImages && tilePx !== 0) {
      const fine = item.sample.bands.reduce((a, b) => (b.gsdM < a.gsdM ? b : a));
      const px = tilePx > 0 ? tilePx : Math.max(1, Math.round(-tilePx / fine.gsdM));
      tileUsed = px;
      samples = tileSample(item.sample, px);
    }
    if (modalities === undefined && samples[0] !== undefined) modalities = checkModalities(samples[0]);
    for (const s of samples) {
      if (wanted === 'all' || item.split === wanted) {
        if (bySplit.length < max) bySplit.push(s);
      } else if (all.length < max && !(opts.splitExplicit ?? false)) all.push(s);
    }
    if (bySplit.length >= max) break;
  }
  // What reading did to the units (a Landsat Level-1 MTL applied), first.
  notes.unshift(...source.notes);
  let split: SplitChoice = wanted;
  let samples = bySplit;
  if (samples.length === 0) {
    if (opts.splitExplicit === true || all.length === 0) {
      throw new Error(
        `--dataset ${opts.dataset}: no sample in the ${wanted} split${all.length === 0 && images === 0 ? ' (the dataset is empty)' : ''}; pick another --split (train, val, test or all)`,
      );
    }
    split = 'all';
    samples = all;
    notes.push(`the dataset has no ${wanted} split (e.g. unlabelled imagery comes as one split): every sample evaluated`);
  }
  if (modalities === undefined) modalities = [NATIVE];

  // 3. Labels: metrics when they map onto the run's classes, else a histogram of predictions.
  const runClasses = ctx.manifest.classes;
  const dsClasses = [...(source.classes ?? [])];
  let mode: 'metrics' | 'histogram' = 'metrics';
  const map = classMap(dsClasses, runClasses);
  if (source.task === 'none') {
    mode = 'histogram';
    notes.push('the dataset is unlabelled: predicted class histogram instead of metrics');
  } else if (source.task !== ctx.model.task) {
    mode = 'histogram';
    notes.push(`the dataset is ${source.task}-label, the model ${ctx.model.task}-label: predicted class histogram instead of metrics`);
  } else {
    // Scored over the classes both name: predictions are restricted to them, samples of the
    // dataset's other classes are left out (counted in a note). None shared: nothing to score.
    if (!map.some((x) => x !== undefined)) {
      throw new Error(
        `${opts.dataset}: the dataset's classes (${dsClasses.join(', ')}) share none with run ${opts.run}'s classes (${runClasses.join(', ')}); ` +
          "rename the classes in the labels to the run's names, or score it without labels for a class histogram",
      );
    }
    const unknown = new Set(dsClasses.flatMap((_, i) => (map[i] === undefined ? [i] : [])));
    if (unknown.size > 0) {
      const before = samples.length;
      if (source.task === 'single') samples = samples.filter((s) => !unknown.has(s.labels[0] as number));
      else samples = samples.map((s) => ({ ...s, labels: s.labels.filter((l) => !unknown.has(l)) }));
      notes.push(
        `dataset classes ${[...unknown].map((i) => dsClasses[i]).join(', ')} are not among the run's classes: ` +
          (source.task === 'single' ? `their ${before - samples.length} samples are left out` : 'their labels are left out'),
      );
      if (samples.length === 0)
        throw new Error(`${opts.dataset}: no sample is labelled with a class the run knows (${runClasses.join(', ')})`);
    }
  }
  // Run class indices scored (in the run's order) and each one's column in the restricted scores.
  const scored = runClasses.flatMap((_, i) => (map.includes(i) ? [i] : []));
  if (mode === 'metrics' && scored.length < runClasses.length) {
    notes.push(
      `scored over the ${scored.length} classes the dataset and the run share (${scored.map((i) => runClasses[i]).join(', ')}): predictions restricted to them`,
    );
  }

  // 4. Normalisation, the backend, then predictions per modality.
  const backend = typeof opts.backend === 'function' ? await opts.backend() : (opts.backend ?? 'unknown');
  // Simulated sensors' bands exist only in their views: their statistics come from those views.
  const simulatedViews = modalities
    .filter((m) => m.simulate !== undefined)
    .flatMap((m) => samples.map((s) => applyModality(s, m, { mode: 'eval' })));
  const strategy = ctx.config.dataset.normalisation;
  const norm =
    strategy === 'image' ? { stats: ctx.stats, table: [], notes: [] } : normalisationFor([...samples, ...simulatedViews], ctx, statsChoice);
  notes.push(...norm.notes);
  const evalCtx: RunContext = { ...ctx, stats: norm.stats };
  const C = ctx.model.numClasses;
  const chunk = Math.max(1, opts.batchSize ?? Math.min(256, ctx.config.eval.sliceSamples));
  const results: ModalityEval[] = [];
  for (const [mi, m] of modalities.entries()) {
    const view = applyModality(samples[0]!, m, { mode: 'eval' });
    const tag = seenOf(m, view, ctx);
    const scores: Float32Array[] = [];
    const labels: number[][] = [];
    let skipped = 0;
    for (let start = 0, ci = 0; start < samples.length; start += chunk, ci++) {
      const part = samples.slice(start, start + chunk);
      const built = buildEvalBatch(part, m, evalCtx, deriveSeed(ctx.config.seed, 0xe7a1, ck.round, mi, ci));
      if (built === undefined) {
        skipped += part.length;
        continue;
      }
      skipped += built.dropped.length;
      const out = predict(ck.weights, built.batch, ctx.model);
      for (let i = 0; i < built.labels.length; i++) {
        const row = out.slice(i * C, (i + 1) * C);
        scores.push(mode === 'metrics' ? Float32Array.from(scored, (c) => row[c] as number) : row);
      }
      labels.push(...built.labels.map((ls) => (mode === 'metrics' ? ls.map((l) => scored.indexOf(map[l] as number)) : ls)));
    }
    const row: ModalityEval = { modality: m.name, seen: tag.seen, seenReason: tag.reason, samples: scores.length, skipped };
    if (mode === 'metrics') {
      Object.assign(row, evalScores(ctx.model.task, scores, labels, scored.length) ?? {});
      if (ctx.model.task === 'single') row.confusion = confusionMatrix(scores, labels, scored.length);
    } else row.histogram = histogram(scores, runClasses, ctx.model.task);
    results.push(row);
    log(`modality ${m.name}: ${scores.length} samples${skipped > 0 ? `, ${skipped} without atoms skipped` : ''}`);
  }
  return {
    run: opts.run,
    checkpoint: { round: ck.round, key: ck.key, sha256: ck.sha256, verified: ck.verified },
    dataset: {
      spec: opts.dataset,
      kind: spec.kind,
      path: spec.path,
      split,
      samples: samples.length,
      ...(tileUsed !== undefined ? { tiles: { pixels: tileUsed, images } } : {}),
      task: source.task,
      classes: dsClasses,
    },
    mode,
    model: { task: ctx.model.task, classes: [...runClasses], params: ctx.stored.params },
    ...(mode === 'metrics' ? { scoredClasses: scored.map((i) => runClasses[i] as string) } : {}),
    backend,
    normalisationStrategy: strategy,
    stats: statsChoice,
    normalisation: norm.table,
    modalities: results,
    notes,
  };
}

/** Single-label confusion counts: [true][predicted] over `classes` columns of the score rows (top-1). */
function confusionMatrix(scores: readonly Float32Array[], labels: readonly number[][], classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  scores.forEach((row, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if ((row[c] as number) > (row[best] as number)) best = c;
    const t = labels[i]?.[0];
    if (t !== undefined && t >= 0) m[t]![best]!++;
  });
  return m;
}

/** Predicted classes counted: top-1 for single-label, every logit > 0 (sigmoid > 0.5) for multi-label. */
function histogram(scores: readonly Float32Array[], classes: readonly string[], task: 'single' | 'multi'): Record<string, number> {
  const counts = new Array<number>(classes.length).fill(0);
  for (const row of scores) {
    if (task === 'single') {
      let best = 0;
      for (let c = 1; c < row.length; c++) if ((row[c] as number) > (row[best] as number)) best = c;
      counts[best]!++;
    } else for (let c = 0; c < row.length; c++) if ((row[c] as number) > 0) counts[c]!++;
  }
  return Object.fromEntries(classes.map((c, i) => [c, counts[i] ?? 0]));
}

import { evaluateFixedSlotBaseline, trainFixedSlotBaseline, type SlotNormalisation } from '@atomizer/model';
import type { EvalEvent, ObjectStore } from '@atomizer/protocol';
import { ShardReader, verifyShard, type Manifest, type Sample } from '@atomizer/tokenizer';
import type { TrainResult } from './engine/index.js';

// The fixed-slot baseline beside a finished run (the demo's table, the quality
// bench): trained on the same train samples and train modalities (the same
// training views, drawn with the run's seed), scored on every evaluated view.

/** Every sample of one split of a dataset in the store, each shard checked against the manifest. */
export async function readSplit(store: ObjectStore, manifest: Manifest, split: 'train' | 'val' | 'test'): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const s of manifest.shards[split]) {
    const bytes = await store.get(s.key);
    verifyShard(bytes, s);
    out.push(...(await ShardReader.fromBytes(bytes, { name: s.key }).readAll()));
  }
  return out;
}

/** One evaluated view of a run, with the baseline's scores beside it. */
export interface DemoRow {
  split: string;
  modality: string;
  seen: 'seen' | 'unseen';
  samples: number;
  accuracy?: number;
  macroF1?: number;
  mAP?: number;
  baselineAccuracy?: number;
  baselineMacroF1?: number;
  baselinePlacement?: string;
}

/** The run's last evaluation as rows (one per split and modality), the shape demo, train and the quality bench print. */
export function lastEvalRows(evals: readonly EvalEvent[]): DemoRow[] {
  const last = Math.max(...evals.map((e) => e.round));
  return evals
    .filter((e) => e.round === last)
    .map((e) => ({
      split: e.split,
      modality: e.modality,
      seen: e.seen,
      samples: e.samples,
      ...(e.accuracy !== undefined ? { accuracy: e.accuracy } : {}),
      ...(e.macroF1 !== undefined ? { macroF1: e.macroF1 } : {}),
      ...(e.mAP !== undefined ? { mAP: e.mAP } : {}),
    }));
}

/** What the baselines train and score on: the run's train split and each evaluated split (first eval.maxSamples). */
export interface BaselineData {
  train: Sample[];
  eval: Map<string, Sample[]>;
}

/** Read the train split and every split the rows name, once. */
export async function readBaselineData(store: ObjectStore, result: TrainResult, rows: readonly DemoRow[]): Promise<BaselineData> {
  const { ctx } = result.prepared;
  const evalSets = new Map<string, Sample[]>();
  for (const split of new Set(rows.map((r) => r.split))) {
    evalSets.set(split, (await readSplit(store, ctx.manifest, split as 'val' | 'test')).slice(0, ctx.config.eval.maxSamples));
  }
  return { train: await readSplit(store, ctx.manifest, 'train'), eval: evalSets };
}

/** The run's normalisation for the fixed-slot baselines: its manifest statistics, or 'image' as the run's atoms. */
export function baselineNormalisation(ctx: TrainResult['prepared']['ctx']): SlotNormalisation {
  return ctx.config.dataset.normalisation === 'image' ? 'image' : new Map(ctx.manifest.stats.bands.map((b) => [b.key, b]));
}

/** The fixed-slot MLP on the same train samples and modalities, scored on every row's view (single-label runs). */
export function baselineRows(result: TrainResult, data: BaselineData, rows: DemoRow[], seed: number): void {
  const { ctx } = result.prepared;
  if (ctx.manifest.task !== 'single')
    throw new Error(`the fixed-slot baseline scores single-label runs; ${ctx.manifest.name} is ${ctx.manifest.task}-label`);
  const stats = baselineNormalisation(ctx);
  const model = trainFixedSlotBaseline({
    samples: data.train,
    trainModalities: ctx.modalities.train,
    stats,
    numClasses: ctx.model.numClasses,
    seed,
  });
  const all = [...ctx.modalities.train, ...ctx.modalities.val, ...ctx.modalities.test];
  for (const row of rows) {
    const modality = all.find((m) => m.name === row.modality);
    const samples = data.eval.get(row.split);
    if (modality === undefined || samples === undefined) continue;
    const ev = evaluateFixedSlotBaseline(model, samples, modality);
    row.baselineAccuracy = ev.accuracy;
    row.baselineMacroF1 = ev.macroF1;
    row.baselinePlacement = ev.placement;
  }
}

import { evaluateFixedSlotBaseline, trainFixedSlotBaseline } from '@atomizer/model';
import type { ObjectStore } from '@atomizer/protocol';
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

/** The fixed-slot MLP on the same train samples and modalities, scored on every row's view (single-label runs). */
export async function baselineRows(store: ObjectStore, result: TrainResult, rows: DemoRow[], seed: number): Promise<void> {
  const { ctx } = result.prepared;
  if (ctx.manifest.task !== 'single') return;
  const train = await readSplit(store, ctx.manifest, 'train');
  const stats = new Map(ctx.manifest.stats.bands.map((b) => [b.key, b]));
  const model = trainFixedSlotBaseline({ samples: train, trainModalities: ctx.modalities.train, stats, numClasses: ctx.model.numClasses, seed });
  const splits = new Map<string, Sample[]>();
  const all = [...ctx.modalities.train, ...ctx.modalities.val, ...ctx.modalities.test];
  for (const row of rows) {
    const split = row.split as 'val' | 'test';
    if (!splits.has(split)) splits.set(split, (await readSplit(store, ctx.manifest, split)).slice(0, ctx.config.eval.maxSamples));
    const modality = all.find((m) => m.name === row.modality);
    if (modality === undefined) continue;
    const ev = evaluateFixedSlotBaseline(model, splits.get(split)!, modality);
    row.baselineAccuracy = ev.accuracy;
    row.baselineMacroF1 = ev.macroF1;
    row.baselinePlacement = ev.placement;
  }
}


import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { datasetKeys, type ObjectStore } from '@atomizer/protocol';
import { BandStatsAccumulator, describeNormalization } from './band-stats.js';
import {
  MANIFEST_FORMAT_VERSION,
  parseManifest,
  serializeManifest,
  type Manifest,
  type ManifestInput,
  type ManifestShard,
} from './manifest.js';
import { resolveModalityLists, type ModalityLists, type ModalityListsConfig } from './modality-lists.js';
import { READER_KINDS, parseReaderSpec, readDataset, type ReaderKind, type ReaderSpec } from './readers/dataset.js';
import { SeededRng } from './rng.js';
import { SimulatedViewStats } from './simulated-view-stats.js';
import { putShard } from './shard-writer.js';
import { StagedBuild, type StagedBuildOptions } from './staged-build.js';
import { DEFAULT_SPLIT_FRACTIONS, SPLIT_NAMES, splitByHash, type SplitFractions, type SplitName } from './split.js';
import type { Sample } from './types.js';
import { datasetSourceKey } from './dataset-source-key.js';

// Dataset builder: reader -> samples grouped by split -> shards in the object
// store, per-band statistics of the TRAIN split (and of simulated sensors'
// views, simulated-view-stats.ts), and manifest.json written
// last (docs/design.md "Object store layout"), so a reader that finds a manifest
// finds every shard it lists. Atomic (staged-build.ts): the shards are staged
// under the attempt's own build prefix, the manifest that lists them publishes
// them, and a failure (a truncated file, a store error) removes them.

/** Dataset kinds the builder reads (the readers' kinds). */
export const DATASET_KINDS = READER_KINDS;
export type DatasetKind = ReaderKind;
/** `<kind>:<path>[?options]` parsed: see readers/dataset.ts for the options of each kind. */
export type DatasetSpec = ReaderSpec;

const SPEC_EXAMPLE = 'e.g. bigearthnet:../shared/data/bigearthnet_tiny/s2 or statlog:../shared/data/statlog/statlog_landsat_satellite.csv';

/**
 * Parse `<kind>:<path>[?options]` and check the path exists. An unknown kind
 * or a missing path is an Error saying what was expected and what to do.
 */
export function parseDatasetSpec(spec: string | DatasetSpec): DatasetSpec {
  let parsed: DatasetSpec;
  try {
    parsed = parseReaderSpec(spec);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)} (${SPEC_EXAMPLE})`);
  }
  if (!existsSync(parsed.path)) {
    throw new Error(`dataset path ${parsed.path} does not exist (dataset kind ${parsed.kind}); check the path`);
  }
  return parsed;
}

export interface BuildProgress {
  /** Samples read so far. */
  samples: number;
  /** Samples expected, when the reader can tell up front. */
  total?: number;
  /** Split of the last sample read. */
  split?: SplitName;
  /** Shards written so far and their bytes. */
  shards: number;
  bytes: number;
}

export interface BuildDatasetOptions {
  dataset: string | DatasetSpec;
  out: ObjectStore;
  /** Dataset name, one key segment: datasets/<name>/... */
  name: string;
  /** Samples per shard. */
  shardSize: number;
  /** Modality lists recorded in the manifest (checked disjoint). */
  modalities?: ModalityListsConfig;
  /** Fractions of the hash split used for datasets without an official split. */
  splitFractions?: SplitFractions;
  onProgress?: (p: BuildProgress) => void;
  /**
   * Shuffle the train split's samples on their way into shards (seeded shuffle
   * buffer of `buffer` samples, default 16 x shardSize): readers emit samples in
   * file order, often spatially sorted, and a training slice is a run of
   * consecutive samples of one shard. Val and test keep file order (evaluation
   * reads them whole, and `atomizer eval` reads the source in file order).
   * Undefined: file order everywhere.
   */
  shuffle?: { seed: number; buffer?: number };
  /** Removed leftovers of crashed or superseded attempts, failed cleanups: one line each. */
  log?: (message: string) => void;
  /** The attempt's clock and heartbeat timing (tests). */
  staging?: Omit<StagedBuildOptions, 'log'>;
}

export interface BuildDatasetResult {
  manifest: Manifest;
  manifestKey: string;
  /** Where the manifest is, for people: `<store>/<key>`. */
  manifestLocation: string;
  /** Atoms (valid pixel-band values) per split. */
  atoms: Record<SplitName, number>;
  totalAtoms: number;
  /** Bytes of all shards. */
  bytes: number;
  /** Shard bytes per atom (headers included). */
  bytesPerAtom: number;
}

function validAtoms(sample: Sample): number {
  let n = 0;
  for (const b of sample.bands) {
    const nd = b.nodata;
    for (let i = 0; i < b.values.length; i++) {
      const v = b.values[i]!;
      if (v === v && v !== nd) n++;
    }
  }
  return n;
}

interface Staged {
  manifest: Manifest;
  atoms: Record<SplitName, number>;
  bytes: number;
}

/** Read the dataset, stage its shards in `build`, and publish them with the manifest. */
async function stageAndPublish(
  opts: BuildDatasetOptions,
  spec: DatasetSpec,
  lists: ModalityLists | undefined,
  fractions: SplitFractions,
  manifestKey: string,
  build: StagedBuild,
): Promise<Staged> {
  const stats = new BandStatsAccumulator();
  const simulated = new SimulatedViewStats(lists);
  const pending: Record<SplitName, Sample[]> = { train: [], val: [], test: [] };
  const shards: Record<SplitName, ManifestShard[]> = { train: [], val: [], test: [] };
  const counts: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  const atoms: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  let bytes = 0;
  let shardCount = 0;
  let samples = 0;

  const flush = async (split: SplitName): Promise<void> => {
    const batch = pending[split];
    if (batch.length === 0) return;
    pending[split] = [];
    const id = shards[split].length;
    const key = build.shard(split, id);
    // Streams the shard to the store as it is encoded (multipart upload / temp file + rename).
    const shard = await putShard(opts.out, key, batch);
    shards[split].push({ key, samples: shard.samples, bytes: shard.bytes, sha256: shard.sha256, values: shard.values });
    bytes += shard.bytes;
    shardCount++;
  };

  // Seeded shuffle buffer per split: a sample goes to its shard only when the buffer is full,
  // as a uniformly drawn member of it; the rest are drawn when the reader is done.
  const buffers: Record<SplitName, Sample[]> = { train: [], val: [], test: [] };
  const bufferSize = opts.shuffle === undefined ? 0 : Math.max(1, opts.shuffle.buffer ?? 16 * opts.shardSize);
  const rng = opts.shuffle === undefined ? undefined : new SeededRng(opts.shuffle.seed);
  const emit = async (split: SplitName, sample: Sample): Promise<void> => {
    pending[split].push(sample);
    if (pending[split].length >= opts.shardSize) await flush(split);
  };
  const drawFrom = (buf: Sample[]): Sample => {
    const i = (rng as SeededRng).int(buf.length);
    const picked = buf[i] as Sample;
    buf[i] = buf[buf.length - 1] as Sample;
    buf.pop();
    return picked;
  };

  const source = readDataset(spec);
  const progressTotal = () => (source.total !== undefined ? { total: source.total } : {});
  let noted = 0;
  for await (const item of source.items) {
    // What the reader did to the units (a Landsat MTL applied), said once per scene.
    while (noted < source.notes.length) opts.log?.(`note: ${source.notes[noted++]}`);
    // BigEarthNet folders carry no official split here (the reader says
    // 'train' for all): split by hash of the patch name.
    const split: SplitName = spec.kind === 'bigearthnet' ? splitByHash(item.sample.id, fractions) : item.split;
    if (split === 'train') stats.add(item.sample);
    simulated.add(item.sample);
    counts[split]++;
    atoms[split] += validAtoms(item.sample);
    samples++;
    if (rng === undefined || split !== 'train') await emit(split, item.sample);
    else {
      buffers[split].push(item.sample);
      if (buffers[split].length >= bufferSize) await emit(split, drawFrom(buffers[split]));
    }
    opts.onProgress?.({ samples, ...progressTotal(), split, shards: shardCount, bytes });
  }
  for (const split of SPLIT_NAMES) {
    while (buffers[split].length > 0) await emit(split, drawFrom(buffers[split]));
    await flush(split);
  }
  opts.onProgress?.({ samples, ...progressTotal(), shards: shardCount, bytes });
  if (samples === 0) throw new Error(`dataset ${spec.kind}:${spec.path} holds no samples; nothing written`);
  if (counts.train === 0) {
    throw new Error(
      `dataset ${spec.kind}:${spec.path}: no sample fell in the train split, so no band statistics; use more samples or other split fractions`,
    );
  }

  const trainStats = stats.result();
  const simulatedStats = simulated.result(new Set(trainStats.map((s) => s.key)));
  const bandStats = [...trainStats, ...simulatedStats];
  const normalisation = describeNormalization(trainStats) + (simulatedStats.length > 0 ? `; ${simulated.describe(simulatedStats)}` : '');
  const manifestInput: ManifestInput = {
    format: 'atomizer-dataset',
    version: MANIFEST_FORMAT_VERSION,
    name: opts.name,
    // Unlabelled imagery (plain GeoTIFFs) is recorded as single-label with no classes.
    task: source.task === 'multi' ? 'multi' : 'single',
    classes: [...(source.classes ?? [])],
    splits: { train: { samples: counts.train }, val: { samples: counts.val }, test: { samples: counts.test } },
    stats: { normalisation, bands: bandStats },
    // Full definitions, not just names: a reader of the manifest needs no registry.
    ...(lists !== undefined ? { modalities: { train: lists.train, val: lists.val, test: lists.test } } : {}),
    shards,
    source: `${spec.kind}:${resolve(spec.path)}${spec.kind === 'bigearthnet' ? ' (split by patch-name hash)' : ''}${unitsRecord(source.notes)}`,
    sourceSpec: datasetSourceKey(spec),
    created: new Date().toISOString(),
  };
  // Validated by the same schema readers use, then published last: the one write that makes the build visible.
  const text = serializeManifest(manifestInput);
  const manifest = parseManifest(text, manifestKey);
  await build.publish(
    manifestKey,
    new TextEncoder().encode(text),
    SPLIT_NAMES.flatMap((s) => manifest.shards[s].map((e) => e.key)),
  );
  return { manifest, atoms, bytes };
}

/** The readers' notes on units (Landsat MTL applied) as the manifest's source records them: the first 3, then how many more. */
function unitsRecord(notes: readonly string[]): string {
  if (notes.length === 0) return '';
  if (notes.length <= 3) return ` (${notes.join('; ')})`;
  return ` (${notes.slice(0, 3).join('; ')}; and ${notes.length - 3} more)`;
}

/** Build shards + manifest for one dataset; see the file comment. */
export async function buildDataset(opts: BuildDatasetOptions): Promise<BuildDatasetResult> {
  const spec = parseDatasetSpec(opts.dataset);
  if (!Number.isInteger(opts.shardSize) || opts.shardSize < 1) {
    throw new Error(`shardSize must be a positive integer, got ${opts.shardSize}`);
  }
  const keys = datasetKeys(opts.name);
  const lists: ModalityLists | undefined =
    opts.modalities === undefined ? undefined : resolveModalityLists(opts.modalities, { source: `dataset ${opts.name} modalities` });
  const fractions = opts.splitFractions ?? DEFAULT_SPLIT_FRACTIONS;

  const build = await StagedBuild.start(opts.out, opts.name, { ...opts.staging, ...(opts.log !== undefined ? { log: opts.log } : {}) });
  let built: Staged;
  try {
    built = await stageAndPublish(opts, spec, lists, fractions, keys.manifest, build);
  } catch (err) {
    await build.abort();
    throw err;
  }
  const { manifest, atoms, bytes } = built;
  const totalAtoms = atoms.train + atoms.val + atoms.test;
  return {
    manifest,
    manifestKey: keys.manifest,
    manifestLocation: `${opts.out.describe()} ${keys.manifest}`,
    atoms,
    totalAtoms,
    bytes,
    bytesPerAtom: totalAtoms > 0 ? bytes / totalAtoms : 0,
  };
}

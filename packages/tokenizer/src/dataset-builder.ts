import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { datasetKeys, type ObjectStore } from '@atomizer/protocol';
import { BandStatsAccumulator, describeNormalization } from './band-stats.js';
import { MANIFEST_FORMAT_VERSION, SPLITS, parseManifest, serializeManifest, type Manifest, type ManifestInput, type ManifestShard, type Split } from './manifest.js';
import { resolveModalityLists, type ModalityLists, type ModalityListsConfig } from './modality-lists.js';
import type { SplitFractions } from './readers/scene-labels.js';
import { BIGEARTHNET_19_CLASSES, listBigEarthNetPatches, readBigEarthNetPatch, readStatlog, STATLOG_CLASSES } from './readers/index.js';
import { putShard } from './shard-writer.js';
import type { Sample } from './types.js';

// Dataset builder: reader -> samples grouped by split -> shards in the object
// store, per-band statistics of the TRAIN split, and manifest.json written
// last (DESIGN.md "Object store layout"), so a reader that finds a manifest
// finds every shard it lists.

export const DATASET_KINDS = ['bigearthnet', 'statlog', 'geotiff', 'scene'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface DatasetSpec {
  kind: DatasetKind;
  path: string;
}

/**
 * Parse `<kind>:<path>`. An unknown kind or a missing path is an Error saying
 * what was expected and what to do.
 */
export function parseDatasetSpec(spec: string | DatasetSpec): DatasetSpec {
  let kind: string;
  let path: string;
  if (typeof spec === 'string') {
    const colon = spec.indexOf(':');
    const example = 'e.g. bigearthnet:../shared/data/bigearthnet_tiny/s2';
    if (colon <= 0) {
      throw new Error(`dataset '${spec}' has no kind; write <kind>:<path> with kind one of ${DATASET_KINDS.join(', ')} (${example})`);
    }
    kind = spec.slice(0, colon).toLowerCase();
    path = spec.slice(colon + 1);
  } else {
    ({ kind, path } = spec);
  }
  if (!(DATASET_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`unknown dataset kind '${kind}'; expected one of ${DATASET_KINDS.join(', ')}, as <kind>:<path>`);
  }
  if (path === '') throw new Error(`dataset '${kind}:' has no path; write ${kind}:<path>`);
  if (!existsSync(path)) throw new Error(`dataset path ${path} does not exist (dataset kind ${kind}); check the path`);
  return { kind: kind as DatasetKind, path };
}

/** Default fractions of the hash split (our choice). */
export const DEFAULT_SPLIT_FRACTIONS: SplitFractions = { train: 0.6, val: 0.2, test: 0.2 };

/**
 * Deterministic split of a sample by the hash of its name: u = first 32 bits
 * of sha256(name) / 2^32, train if u < train, val if u < train + val, else
 * test. A patch keeps its split when the dataset grows or is read in another
 * order, which a seeded shuffle would not give. Used for BigEarthNet folders,
 * which carry no official split here.
 */
export function splitByHash(name: string, fractions: SplitFractions = DEFAULT_SPLIT_FRACTIONS): Split {
  const sum = fractions.train + fractions.val + fractions.test;
  if (!(Math.abs(sum - 1) < 1e-9) || fractions.train < 0 || fractions.val < 0 || fractions.test < 0) {
    throw new Error(`split fractions must be non-negative and sum to 1, got train ${fractions.train}, val ${fractions.val}, test ${fractions.test}`);
  }
  const u = createHash('sha256').update(name).digest().readUInt32BE(0) / 2 ** 32;
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.val) return 'val';
  return 'test';
}

export interface BuildProgress {
  /** Samples read so far. */
  samples: number;
  /** Samples expected, when the reader can tell up front. */
  total?: number;
  /** Split of the last sample read. */
  split?: Split;
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
}

export interface BuildDatasetResult {
  manifest: Manifest;
  manifestKey: string;
  /** Where the manifest is, for people: `<store>/<key>`. */
  manifestLocation: string;
  /** Atoms (valid pixel-band values) per split. */
  atoms: Record<Split, number>;
  totalAtoms: number;
  /** Bytes of all shards. */
  bytes: number;
  /** Shard bytes per atom (headers included). */
  bytesPerAtom: number;
}

function datasetTask(kind: DatasetKind): 'multi' | 'single' {
  return kind === 'bigearthnet' ? 'multi' : 'single';
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

  const stats = new BandStatsAccumulator();
  const pending: Record<Split, Sample[]> = { train: [], val: [], test: [] };
  const shards: Record<Split, ManifestShard[]> = { train: [], val: [], test: [] };
  const counts: Record<Split, number> = { train: 0, val: 0, test: 0 };
  const atoms: Record<Split, number> = { train: 0, val: 0, test: 0 };
  let bytes = 0;
  let shardCount = 0;
  let samples = 0;
  let classes: readonly string[] | undefined;

  const flush = async (split: Split): Promise<void> => {
    const batch = pending[split];
    if (batch.length === 0) return;
    pending[split] = [];
    const id = shards[split].length;
    const key = keys.shard(split, id);
    // Streams the shard to the store as it is encoded (multipart upload / temp file + rename).
    const shard = await putShard(opts.out, key, batch);
    shards[split].push({ key, samples: shard.samples, bytes: shard.bytes, sha256: shard.sha256 });
    bytes += shard.bytes;
    shardCount++;
  };

  const source = await openDatasetSource(spec);
  const total = source.total !== undefined ? { total: source.total } : {};
  for await (const item of source.items) {
    // BigEarthNet folders carry no official split here: hash of the patch name.
    const split: Split = item.split ?? splitByHash(item.sample.id, fractions);
    if (split === 'train') stats.add(item.sample);
    counts[split]++;
    atoms[split] += validAtoms(item.sample);
    pending[split].push(item.sample);
    samples++;
    if (pending[split].length >= opts.shardSize) await flush(split);
    opts.onProgress?.({ samples, ...total, split, shards: shardCount, bytes });
  }
  for (const split of SPLITS) await flush(split);
  opts.onProgress?.({ samples, ...total, shards: shardCount, bytes });
  if (samples === 0) throw new Error(`dataset ${spec.kind}:${spec.path} holds no samples; nothing written`);
  if (counts.train === 0) {
    throw new Error(`dataset ${spec.kind}:${spec.path}: no sample fell in the train split, so no band statistics; use more samples or other split fractions`);
  }

  const bandStats = stats.result();
  const manifestInput: ManifestInput = {
    format: 'atomizer-dataset',
    version: MANIFEST_FORMAT_VERSION,
    name: opts.name,
    task: datasetTask(spec.kind),
    classes: [...source.classes],
    splits: { train: { samples: counts.train }, val: { samples: counts.val }, test: { samples: counts.test } },
    stats: { normalisation: describeNormalization(bandStats), bands: bandStats },
    // Full definitions, not just names: a reader of the manifest needs no registry.
    ...(lists !== undefined ? { modalities: { train: lists.train, val: lists.val, test: lists.test } } : {}),
    shards,
    source: `${spec.kind}:${resolve(spec.path)}${source.description !== undefined ? ` (${source.description})` : ''}`,
    created: new Date().toISOString(),
  };
  // Validated by the same schema readers use, then published last.
  const text = serializeManifest(manifestInput);
  const manifest = parseManifest(text, keys.manifest);
  await opts.out.put(keys.manifest, new TextEncoder().encode(text));
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

interface DatasetSource {
  classes: readonly string[];
  total?: number;
  description?: string;
  /** `split` undefined: the builder assigns one by name hash. */
  items: AsyncIterable<{ sample: Sample; split?: Split }>;
}

/**
 * Samples of a dataset with its class list. BigEarthNet is read patch by
 * patch (bounded memory); Statlog keeps its standard train/test rows.
 */
async function openDatasetSource(spec: DatasetSpec): Promise<DatasetSource> {
  switch (spec.kind) {
    case 'bigearthnet': {
      const folders = await listBigEarthNetPatches(spec.path);
      if (folders.length === 0) throw new Error(`${spec.path}: no BigEarthNet patch folder found (expected <patch>/<patch>_B02.tif ... or _VV.tif)`);
      return {
        classes: BIGEARTHNET_19_CLASSES,
        total: folders.length,
        description: 'BigEarthNet, 19-class nomenclature, split by patch-name hash',
        items: (async function* () {
          for (const f of folders) yield { sample: await readBigEarthNetPatch(f) };
        })(),
      };
    }
    case 'statlog': {
      const rows = await readStatlog(spec.path);
      return {
        classes: STATLOG_CLASSES,
        total: rows.length,
        description: 'UCI Statlog (Landsat Satellite), standard train/test rows',
        items: (async function* () {
          yield* rows;
        })(),
      };
    }
    default:
      throw new Error(`dataset kind '${spec.kind}' is not supported by the builder yet; use bigearthnet:<folder> or statlog:<csv>`);
  }
}

import { basename } from 'node:path';
import { openStore, parseRunConfig } from '@atomizer/protocol';
import {
  buildDataset,
  loadModalityListsFile,
  parseDatasetSpec,
  type BuildDatasetOptions,
  type BuildDatasetResult,
  type BuildProgress,
  type ModalityListsConfig,
} from '@atomizer/tokenizer';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { positiveInt } from './option-values.js';
import { datasetOption, jsonOption } from './shared-options.js';
import { formatBytes, formatNumber, formatTable } from './table.js';

/**
 * Progress reporting: a cli-progress bar on stderr when it is a terminal,
 * otherwise a log line every few seconds (CI logs, pipes).
 */
export function progressReporter(label: string): { update(p: BuildProgress): void; stop(): void } {
  if (process.stderr.isTTY === true) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} samples | {split} | {shards} shards | {size}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    });
    let started = false;
    return {
      update(p) {
        const payload = { split: p.split ?? '', shards: p.shards, size: formatBytes(p.bytes) };
        if (!started) {
          bar.start(p.total ?? p.samples, p.samples, payload);
          started = true;
        }
        if (p.total !== undefined) bar.setTotal(p.total);
        else if (p.samples > bar.getTotal()) bar.setTotal(p.samples);
        bar.update(p.samples, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  let lastLine = '';
  return {
    update(p) {
      const now = Date.now();
      lastLine = `${label}: ${p.samples}${p.total !== undefined ? `/${p.total}` : ''} samples, ${p.shards} shards, ${formatBytes(p.bytes)}`;
      if (now - last >= 2000) {
        last = now;
        process.stderr.write(`${lastLine}\n`);
      }
    },
    stop() {
      if (lastLine !== '') process.stderr.write(`${lastLine} (done)\n`);
    },
  };
}

/** The human summary printed at the end of `atomizer shard` (and by the demo). */
export function formatBuildSummary(r: BuildDatasetResult): string {
  const m = r.manifest;
  const splitRows = (['train', 'val', 'test'] as const).map((s) => {
    const shards = m.shards[s];
    const bytes = shards.reduce((n, e) => n + e.bytes, 0);
    return [s, m.splits[s].samples, shards.length, formatBytes(bytes), r.atoms[s]];
  });
  const statsRows = m.stats.bands.map((b) => [b.key, b.count, b.mean, b.std, b.min, b.max]);
  const modalities =
    m.modalities === undefined
      ? 'none'
      : (['train', 'val', 'test'] as const)
          .map((s) => `${s}: ${(m.modalities?.[s] ?? []).map((x) => (typeof x === 'string' ? x : x.name)).join(', ') || '-'}`)
          .join('; ');
  return [
    `dataset ${m.name} -> ${r.manifestLocation}`,
    `task ${m.task}, ${m.classes.length} classes; source ${m.source}`,
    '',
    formatTable(['split', 'samples', 'shards', 'bytes', 'atoms'], splitRows),
    '',
    `total ${formatBytes(r.bytes)} for ${formatNumber(r.totalAtoms)} atoms: ${r.bytesPerAtom.toFixed(3)} bytes/atom`,
    `modalities: ${modalities}`,
    `normalisation: ${m.stats.normalisation}`,
    'band statistics (train split, physical values; workers z-score with them):',
    formatTable(['band', 'count', 'mean', 'std', 'min', 'max'], statsRows),
  ].join('\n');
}

/** The result as one JSON object (`shard --json`): the manifest with where it is and what the shards hold. */
export function buildSummaryJson(r: BuildDatasetResult): Record<string, unknown> {
  return {
    manifestKey: r.manifestKey,
    manifestLocation: r.manifestLocation,
    atoms: r.atoms,
    totalAtoms: r.totalAtoms,
    bytes: r.bytes,
    bytesPerAtom: r.bytesPerAtom,
    manifest: r.manifest,
  };
}

export interface ShardOptions {
  dataset: string;
  out: string;
  name?: string;
  shardSize: number;
  trainModalities?: string;
  valModalities?: string;
  testModalities?: string;
  modalities?: string;
  json?: boolean;
}

/** The --*-modalities options as modality lists (checked by the builder), or undefined when none is given. */
export function modalityListsFromOptions(
  opts: Pick<ShardOptions, 'trainModalities' | 'valModalities' | 'testModalities'>,
): ModalityListsConfig | undefined {
  const list = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const [train, val, test] = [list(opts.trainModalities), list(opts.valModalities), list(opts.testModalities)];
  if (train.length + val.length + test.length === 0) return undefined;
  if (train.length === 0)
    throw new Error('--val-modalities / --test-modalities need --train-modalities too (the modalities seen in training)');
  return { train, val, test };
}

export function shardCommand(): Command {
  return new Command('shard')
    .addOption(datasetOption('what to read'))
    .requiredOption('--out <location>', 'a folder, or s3://bucket/prefix (endpoint from AWS_ENDPOINT_URL)')
    .option('--name <name>', 'dataset name (default: from the dataset path)')
    .option(
      '--shard-size <n>',
      'samples per shard (the run config default)',
      positiveInt('--shard-size'),
      parseRunConfig({}).dataset.shardSize,
    )
    .option('--train-modalities <names>', 'comma-separated modalities recorded for training (e.g. s2-all,s2-rgbn-10m)')
    .option('--val-modalities <names>', 'comma-separated validation modalities')
    .option('--test-modalities <names>', 'comma-separated test modalities, never seen in training (e.g. s2-swir-only,s2-all@res0.5)')
    .option(
      '--modalities <file>',
      'train/val/test modality lists from a JSON or YAML file (names or inline definitions; instead of the three options above)',
    )
    .addOption(jsonOption('print one JSON object: the manifest, where it is, atoms and bytes (progress goes to stderr)'))
    .addHelpText(
      'after',
      `
Examples:
  $ atomizer shard --dataset bigearthnet:../shared/data/bigearthnet_tiny/s2 --out /tmp/atomizer-data
  $ atomizer shard --dataset statlog:../shared/data/statlog/statlog_landsat_satellite.csv --out s3://my-bucket/atomizer --shard-size 1000
  $ atomizer shard --dataset bigearthnet:../shared/data/bigearthnet_tiny/s2 --out /tmp/atomizer-data --train-modalities s2-all,s2-rgbn-10m --val-modalities s2-rgb --test-modalities s2-swir-only,s2-all-20m
  $ atomizer shard --dataset 'scene:../shared/data/rstoolbox-sen2/sen2.tif?labels=../shared/data/rstoolbox-sen2/sen2_polygons.geojson&sensor=s2a&k=5' --out /tmp/atomizer-data

A --modalities file (YAML or JSON):
  train: [s2-all, s2-rgbn-10m]
  val: [s2-rgb]
  test: [s2-swir-only, { name: s2-nir-40m, sensor: sentinel-2, bands: [B08, B8A], resolutionFactor: 0.25 }]

Reader options go after '?' in the dataset: sensor=<id>&bands=B1,B2 (geotiff, scene), labels=<file>,
k=<patch size>, classTable=<csv> (scene), nomenclature=43 (bigearthnet), mtl=<file>|off (geotiff, scene).
Landsat Level-1 band files are read in TOA reflectance (thermal bands: brightness temperature, K) when
their <product id>_MTL.txt (or _MTL.json) is beside them, or given as mtl=<file> or as the path itself
(geotiff:<..._MTL.txt>); mtl=off keeps the DN. The manifest's source says which MTL was applied.
BigEarthNet folders are split by a hash of the patch name (60/20/20); Statlog keeps its train/test rows.
Stages shards under datasets/<name>/builds/<build>/shards/<split>/<id>.bin and publishes them by writing
datasets/<name>/manifest.json last; a sharding that fails leaves no shard and no manifest behind.`,
    )
    .action(async (opts: ShardOptions) => {
      const { building, out, json } = await shardSettings(opts);
      const store = await openStore(out);
      const progress = progressReporter(`shard ${building.name}`);
      let result: BuildDatasetResult;
      try {
        result = await buildDataset({
          ...building,
          out: store,
          onProgress: (p) => progress.update(p),
          log: (m) => process.stderr.write(`${m}\n`),
        });
      } finally {
        progress.stop();
      }
      process.stdout.write(json ? `${JSON.stringify(buildSummaryJson(result))}\n` : `${formatBuildSummary(result)}\n`);
    });
}

/** What shard builds, from its options: the dataset read, where to (a store location), printed how. */
export async function shardSettings(
  opts: ShardOptions,
): Promise<{ building: Omit<BuildDatasetOptions, 'out' | 'onProgress' | 'log'>; out: string; json: boolean }> {
  const spec = parseDatasetSpec(opts.dataset);
  if (opts.modalities !== undefined && (opts.trainModalities ?? opts.valModalities ?? opts.testModalities) !== undefined) {
    throw new Error('give the modality lists either as --modalities <file> or as --train/--val/--test-modalities, not both');
  }
  const modalities: ModalityListsConfig | undefined =
    opts.modalities !== undefined ? await loadModalityListsFile(opts.modalities) : modalityListsFromOptions(opts);
  return {
    building: {
      dataset: spec,
      name: opts.name ?? defaultDatasetName(spec.kind, spec.path),
      shardSize: opts.shardSize,
      ...(modalities !== undefined ? { modalities } : {}),
    },
    out: opts.out,
    json: opts.json === true,
  };
}

/** 'bigearthnet:../data/bigearthnet_tiny/s2' -> 'bigearthnet-s2'. */
export function defaultDatasetName(kind: string, path: string): string {
  const base = basename(path.replace(/[/\\]+$/, '')).replace(/\.[^.]+$/, '');
  const clean = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return clean === '' || clean.toLowerCase().startsWith(kind) ? clean || kind : `${kind}-${clean}`;
}

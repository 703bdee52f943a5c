import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedS3, type ObjectStore } from '@atomizer/protocol';
import {
  DEFAULT_S2_MODALITY_LISTS,
  ModalityRegistry,
  SeededRng,
  ShardReader,
  applyModality,
  atomize,
  buildDataset,
  dataPath,
  defaultEncodingConfig,
  encodeBatchTokens,
  makeBatch,
  subsampleAtoms,
  tokenLayout,
  type AtomSet,
  verifyShard,
  type BandStats,
  type BuildDatasetResult,
  type Manifest,
} from '@atomizer/tokenizer';
import { Command } from 'commander';
import { formatBuildSummary, progressReporter } from './shard.js';
import { formatBytes, formatNumber, formatTable } from './table.js';

/** The datasets the demo shards: the bundled real data. */
function demoDatasets(): Array<{ name: string; dataset: string; shardSize: number; modalities: Parameters<typeof buildDataset>[0]['modalities'] }> {
  return [
    {
      name: 'bigearthnet-s2-tiny',
      dataset: `bigearthnet:${dataPath('bigearthnet_tiny', 's2')}`,
      shardSize: 4,
      modalities: DEFAULT_S2_MODALITY_LISTS,
    },
    {
      name: 'statlog',
      dataset: `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`,
      shardSize: 1000,
      modalities: { train: ['mss-all'] },
    },
  ];
}

export interface DemoBatchFigures {
  dataset: string;
  shardKey: string;
  samples: number;
  modalities: string[];
  /** Atoms encoded (after subsampling each view to at most maxAtoms). */
  atoms: number;
  tokenDim: number;
  /** Seconds to fetch the shard (one GET), check its sha256 and decode its samples. */
  readSeconds: number;
  /** Atoms produced per second by modality + atomize (before subsampling), one thread. */
  atomizedPerSecond: number;
  /** Tokens per second of subsample + batch + encode, one thread. */
  tokensPerSecond: number;
}

/**
 * Read the first train shard back from the store (one GET, checked against
 * the manifest's sha256), present each sample as each train modality (seeded
 * crops), atomize with the manifest's statistics, subsample, batch and
 * encode: what a worker does per job.
 */
export async function encodeDemoBatch(store: ObjectStore, manifest: Manifest, maxAtoms = 4096): Promise<DemoBatchFigures> {
  const first = manifest.shards.train[0];
  if (first === undefined) throw new Error(`dataset ${manifest.name} has no train shard to read back`);
  const t0 = performance.now();
  const bytes = await store.get(first.key);
  verifyShard(bytes, first);
  const samples = await ShardReader.fromBytes(bytes, { name: first.key }).readAll();
  const readSeconds = (performance.now() - t0) / 1000;

  const registry = ModalityRegistry.default();
  const modalities = (manifest.modalities?.train ?? []).map((m) => registry.resolve(m));
  const stats = new Map<string, BandStats>(manifest.stats.bands.map((b) => [b.key, b]));
  const cfg = defaultEncodingConfig();
  const rng = new SeededRng(42);
  const t1 = performance.now();
  const full: AtomSet[] = [];
  for (const sample of samples) {
    for (const m of modalities.length > 0 ? modalities : [undefined]) {
      const view = m === undefined ? sample : applyModality(sample, m, { mode: 'train', rng });
      full.push(atomize(view, { stats, normalize: 'zscore' }).atoms);
    }
  }
  // Subsample + batch + encode once to warm the JIT (a worker does this for
  // every job; the first call of a process is not representative), then time it.
  const encode = () => {
    const sets = full.map((a) => subsampleAtoms(a, maxAtoms, rng));
    const batch = makeBatch(sets);
    return { sets, batch, tokens: encodeBatchTokens(batch, cfg) };
  };
  const tAtomized = performance.now();
  encode();
  const t2 = performance.now();
  const { sets, batch, tokens } = encode();
  const t3 = performance.now();
  const dim = tokenLayout(cfg).dim;
  if (tokens.length !== batch.batchSize * batch.maxAtoms * dim) {
    throw new Error(`encoded ${tokens.length} floats, expected ${batch.batchSize} x ${batch.maxAtoms} x ${dim}`);
  }
  const real = sets.reduce((n, s) => n + s.length, 0);
  return {
    dataset: manifest.name,
    shardKey: first.key,
    samples: samples.length,
    modalities: modalities.map((m) => m.name),
    atoms: real,
    tokenDim: dim,
    readSeconds,
    atomizedPerSecond: full.reduce((n, a) => n + a.length, 0) / ((tAtomized - t1) / 1000),
    tokensPerSecond: real / ((t3 - t2) / 1000),
  };
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('Run the pipeline end to end on the bundled real data: embedded S3, shards, read back, atoms, tokens')
    .option('--keep', 'keep the temporary S3 folder and print where it is')
    .option('--verbose', 'also print each manifest summary with its band statistics')
    .addHelpText(
      'after',
      `
Starts an embedded S3 server on a temporary folder, shards BigEarthNet S2 (tiny) and Statlog
into it, reads a shard back, atomizes and encodes a batch, and prints a summary.

Example:
  $ npx atomizer demo`,
    )
    .action(async (opts: { keep?: boolean; verbose?: boolean }) => {
      const t0 = performance.now();
      const dir = await mkdtemp(join(tmpdir(), 'atomizer-demo-'));
      const s3 = await startEmbeddedS3({ dir });
      const out = (line = '') => process.stdout.write(`${line}\n`);
      try {
        const store = s3.store('demo');
        out(`Atomizer demo: embedded S3 at ${s3.endpoint}, bucket ${s3.bucket}, prefix demo/ (folder ${dir})`);
        const results: Array<BuildDatasetResult & { seconds: number }> = [];
        for (const d of demoDatasets()) {
          const progress = progressReporter(`shard ${d.name}`);
          const t = performance.now();
          try {
            const r = await buildDataset({
              dataset: d.dataset,
              out: store,
              name: d.name,
              shardSize: d.shardSize,
              ...(d.modalities !== undefined ? { modalities: d.modalities } : {}),
              onProgress: (p) => progress.update(p),
            });
            results.push({ ...r, seconds: (performance.now() - t) / 1000 });
          } finally {
            progress.stop();
          }
        }
        if (opts.verbose === true) {
          for (const r of results) out(`\n${formatBuildSummary(r)}`);
        }
        out();
        out('datasets sharded into S3 (band statistics over the train split; manifest.json written last):');
        out(
          formatTable(
            ['dataset', 'task', 'classes', 'train', 'val', 'test', 'shards', 'atoms', 'bytes', 'bytes/atom', 'seconds'],
            results.map((r) => [
              r.manifest.name,
              r.manifest.task,
              r.manifest.classes.length,
              r.manifest.splits.train.samples,
              r.manifest.splits.val.samples,
              r.manifest.splits.test.samples,
              r.manifest.shards.train.length + r.manifest.shards.val.length + r.manifest.shards.test.length,
              r.totalAtoms,
              formatBytes(r.bytes),
              r.bytesPerAtom,
              r.seconds,
            ]),
          ),
        );
        out();
        out('modalities (ATOMIZER.md section 5; test modalities are never seen in training):');
        for (const r of results) {
          const names = (split: 'train' | 'val' | 'test') =>
            (r.manifest.modalities?.[split] ?? []).map((m) => (typeof m === 'string' ? m : m.name)).join(', ') || '-';
          out(`  ${r.manifest.name}: train (seen) ${names('train')} | val ${names('val')} | test (unseen) ${names('test')}`);
        }
        const figures: DemoBatchFigures[] = [];
        for (const r of results) figures.push(await encodeDemoBatch(store, r.manifest));
        out();
        out('a worker\'s job: read the first train shard back (one GET, sha256 checked), present every sample as each');
        out('train modality, atomize (z-scored), subsample to at most 4096 atoms, batch and encode tokens (one thread):');
        out(
          formatTable(
            ['dataset', 'samples', 'modalities', 'read s', 'atomized/s', 'tokens', 'token dim', 'tokens/s'],
            figures.map((f) => [
              f.dataset,
              f.samples,
              f.modalities.join(', '),
              f.readSeconds,
              Math.round(f.atomizedPerSecond),
              f.atoms,
              f.tokenDim,
              Math.round(f.tokensPerSecond),
            ]),
          ),
        );
        out();
        out(`demo done in ${((performance.now() - t0) / 1000).toFixed(1)} s. Next: atomizer shard --help, atomizer atoms <patch>`);
        if (opts.keep === true) out(`kept ${dir}`);
      } finally {
        await s3.stop();
        if (opts.keep !== true) await rm(dir, { recursive: true, force: true });
      }
    });
}

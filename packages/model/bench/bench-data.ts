import {
  BandStatsAccumulator,
  SeededRng,
  atomize,
  dataPath,
  listBigEarthNetPatches,
  makeBatch,
  readBigEarthNetPatch,
  subsampleAtoms,
  type AtomBatch,
  type BandStats,
  type Sample,
} from '@atomizer/tokenizer';

// The benchmark's training batch: real BigEarthNet Sentinel-2 patches from the
// shared data folder, z-scored per band over those patches, each subsampled to
// exactly `atoms` atoms (a patch has 80,000), so no atom is padding and both
// implementations do the same work. With more samples than patches, patches are
// reused with a different subsample seed.

export interface BenchBatch {
  batch: AtomBatch;
  labels: number[][];
  /** Patch folder of each sample. */
  sources: string[];
}

export async function benchBatch(batchSize: number, atoms: number, seed = 42): Promise<BenchBatch> {
  const root = dataPath('bigearthnet_tiny', 's2');
  const folders = await listBigEarthNetPatches(root);
  if (folders.length === 0) throw new Error(`benchBatch: no BigEarthNet patch under ${root}`);
  const samples: Sample[] = [];
  for (const f of folders) samples.push(await readBigEarthNetPatch(f));
  const acc = new BandStatsAccumulator();
  for (const s of samples) acc.add(s);
  const stats = new Map<string, BandStats>(acc.result().map((b) => [b.key, b]));
  const rng = new SeededRng(seed);
  const sets = [];
  const labels: number[][] = [];
  const sources: string[] = [];
  for (let i = 0; i < batchSize; i++) {
    const sample = samples[i % samples.length]!;
    const { atoms: all } = atomize(sample, { stats, normalize: 'zscore' });
    if (all.length < atoms) {
      throw new Error(`benchBatch: patch ${folders[i % folders.length]} has ${all.length} atoms, fewer than --atoms ${atoms}`);
    }
    sets.push(subsampleAtoms(all, atoms, rng));
    labels.push([...sample.labels]);
    sources.push(folders[i % folders.length]!);
  }
  return { batch: makeBatch(sets, { maxAtoms: atoms }), labels, sources };
}

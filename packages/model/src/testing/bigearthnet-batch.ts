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
  type Sample,
} from '@atomizer/tokenizer';

// Real BigEarthNet S2 batches for the model tests (read in place from the
// bundled data, z-scored with statistics of the patches read, subsampled).

let cache: Promise<Sample[]> | undefined;

/** Every S2 patch of bigearthnet_tiny, read once per test file. */
export function bigEarthNetS2Samples(): Promise<Sample[]> {
  cache ??= (async () => {
    const folders = await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's2'));
    return Promise.all(folders.map((f) => readBigEarthNetPatch(f)));
  })();
  return cache;
}

export interface RealBatch {
  batch: AtomBatch;
  labels: number[][];
  samples: Sample[];
}

/**
 * `count` patches (from `first`, cycling through the bundled patches when
 * `count` exceeds them), each subsampled (seeded per position, so a reused
 * patch gets a different subsample) to `atoms` atoms (or atoms[i] for sample i,
 * so the batch gets padding), as one padded batch. Used by the tests and the
 * benchmarks (bench/train-vs-torch.ts, bench/profile-step.ts).
 */
export async function bigEarthNetBatch(count: number, atoms: number | readonly number[], seed = 1, first = 0): Promise<RealBatch> {
  const all = await bigEarthNetS2Samples();
  if (all.length === 0) throw new Error(`No BigEarthNet S2 patch under ${dataPath('bigearthnet_tiny', 's2')}`);
  const samples = Array.from({ length: count }, (_, i) => all[(first + i) % all.length]!);
  const acc = new BandStatsAccumulator();
  for (const s of all) acc.add(s);
  const stats = new Map(acc.result().map((st) => [st.key, st]));
  const sets = samples.map((s, i) =>
    subsampleAtoms(
      atomize(s, { stats, normalize: 'zscore' }).atoms,
      typeof atoms === 'number' ? atoms : (atoms[i] ?? 0),
      SeededRng.derive(seed, i),
    ),
  );
  return { batch: makeBatch(sets), labels: samples.map((s) => [...s.labels]), samples };
}

/**
 * One Sentinel-1 patch (SAR channel bands) followed by atoms.length - 1
 * Sentinel-2 patches, sample i subsampled to atoms[i] atoms, z-scored over
 * these patches: a real batch that exercises the learned channel vectors.
 */
export async function bigEarthNetS1S2Batch(atoms: readonly number[], seed = 1): Promise<RealBatch> {
  const s1 = (await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's1')))[0];
  const s2 = (await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's2'))).slice(0, atoms.length - 1);
  if (s1 === undefined || s2.length < atoms.length - 1) {
    throw new Error(`bigearthnet_tiny: expected an S1 patch and ${atoms.length - 1} S2 patches under ${dataPath('bigearthnet_tiny')}`);
  }
  const samples = await Promise.all([s1, ...s2].map((f) => readBigEarthNetPatch(f)));
  const acc = new BandStatsAccumulator();
  for (const s of samples) acc.add(s);
  const stats = new Map(acc.result().map((st) => [st.key, st]));
  const sets = samples.map((s, i) =>
    subsampleAtoms(atomize(s, { stats, normalize: 'zscore' }).atoms, atoms[i]!, SeededRng.derive(seed, i)),
  );
  return { batch: makeBatch(sets), labels: samples.map((s) => [...s.labels]), samples };
}

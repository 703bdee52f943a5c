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
 * `count` patches (from `first`), each subsampled (seeded) to `atoms` atoms (or
 * atoms[i] for patch i, so the batch gets padding), as one padded batch.
 */
export async function bigEarthNetBatch(count: number, atoms: number | readonly number[], seed = 1, first = 0): Promise<RealBatch> {
  const all = await bigEarthNetS2Samples();
  const samples = all.slice(first, first + count);
  if (samples.length < count) throw new Error(`Only ${all.length} BigEarthNet S2 patches in the bundled data, asked for ${first}+${count}`);
  const acc = new BandStatsAccumulator();
  for (const s of all) acc.add(s);
  const stats = new Map(acc.result().map((st) => [st.key, st]));
  const sets = samples.map((s, i) => subsampleAtoms(atomize(s, { stats, normalize: 'zscore' }).atoms, typeof atoms === 'number' ? atoms : (atoms[i] ?? 0), SeededRng.derive(seed, i)));
  return { batch: makeBatch(sets), labels: samples.map((s) => [...s.labels]), samples };
}

import { SeededRng, deriveSeed, type Manifest } from '@atomizer/tokenizer';

// Which samples each round trains on. The train split is cut into units of
// `sliceSamples` consecutive samples of one shard; each epoch visits every unit
// once in a seeded order; a round takes the next `slices` units. The cursor
// (epoch, position) is all the state, so a checkpoint restores it exactly and
// the order does not depend on how many workers there are.

export interface SliceUnit {
  /** Index of the shard in the manifest's list for the split. */
  shard: number;
  shardKey: string;
  shardSha256: string;
  start: number;
  end: number;
}

export interface DataCursor {
  epoch: number;
  /** Units of the current epoch already handed out. */
  position: number;
}

export function sliceUnits(manifest: Manifest, split: 'train' | 'val' | 'test', sliceSamples: number, maxSamples = Infinity): SliceUnit[] {
  const units: SliceUnit[] = [];
  let total = 0;
  for (const [index, shard] of manifest.shards[split].entries()) {
    for (let start = 0; start < shard.samples && total < maxSamples; start += sliceSamples) {
      const end = Math.min(shard.samples, start + sliceSamples, start + (maxSamples - total));
      units.push({ shard: index, shardKey: shard.key, shardSha256: shard.sha256, start, end });
      total += end - start;
    }
  }
  return units;
}

/** The order of the units in `epoch` (a seeded Fisher-Yates permutation). */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  const rng = new SeededRng(deriveSeed(seed, 0x0da7a, epoch));
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** The next `count` units from `cursor` (crossing into the next epoch as needed) and the cursor after them. */
export function takeSlices(
  units: readonly SliceUnit[],
  cursor: DataCursor,
  count: number,
  seed: number,
): { slices: SliceUnit[]; cursor: DataCursor } {
  if (units.length === 0) throw new Error('the train split has no samples to train on');
  const slices: SliceUnit[] = [];
  let { epoch, position } = cursor;
  let order = epochOrder(units.length, seed, epoch);
  while (slices.length < count) {
    if (position >= units.length) {
      epoch++;
      position = 0;
      order = epochOrder(units.length, seed, epoch);
    }
    slices.push(units[order[position] as number] as SliceUnit);
    position++;
  }
  return { slices, cursor: { epoch, position } };
}

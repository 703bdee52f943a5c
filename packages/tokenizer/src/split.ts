import { createHash } from 'node:crypto';

// Dataset splits: their names, the fractions a split is drawn with, and the
// hash split of datasets that carry no official split. One place for what
// readers (Statlog's standard split, scene label groups), the dataset builder
// and the manifest all mean by 'train' / 'val' / 'test'.

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** Share of the samples (or of a label group's pixels) each split should receive; they sum to 1. */
export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/** Default fractions of the hash split of unsplit datasets (BigEarthNet folders); our choice. */
export const DEFAULT_SPLIT_FRACTIONS: SplitFractions = { train: 0.6, val: 0.2, test: 0.2 };

/**
 * Default fractions of labelled-scene group splits (readers/scene-labels.ts);
 * our choice. More to train than the hash split: a scene has few label groups
 * (25 polygons in sen2), and every group removed from train is a whole field.
 */
export const DEFAULT_GROUP_SPLIT_FRACTIONS: SplitFractions = { train: 0.7, val: 0.15, test: 0.15 };

/** Throws unless every fraction is >= 0 and they sum to 1 (within 1e-9). */
export function checkSplitFractions(fractions: SplitFractions): void {
  const sum = fractions.train + fractions.val + fractions.test;
  if (!SPLIT_NAMES.every((s) => fractions[s] >= 0) || !(Math.abs(sum - 1) <= 1e-9)) {
    throw new Error(
      `split fractions must be non-negative and sum to 1, got train ${fractions.train}, val ${fractions.val}, test ${fractions.test}`,
    );
  }
}

/**
 * Deterministic split of a sample by the hash of its name: u = first 32 bits
 * of sha256(name) / 2^32, train if u < train, val if u < train + val, else
 * test. A patch keeps its split when the dataset grows or is read in another
 * order, which a seeded shuffle would not give. Used for BigEarthNet folders,
 * which carry no official split here.
 */
export function splitByHash(name: string, fractions: SplitFractions = DEFAULT_SPLIT_FRACTIONS): SplitName {
  checkSplitFractions(fractions);
  const u = createHash('sha256').update(name).digest().readUInt32BE(0) / 2 ** 32;
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.val) return 'val';
  return 'test';
}

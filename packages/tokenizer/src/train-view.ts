// The training recipe of one sample (docs/training-recipe.md): the one place
// that turns a shard sample into the atoms a training step sees, so a worker,
// the engine's in-process executor (the quality bench) and the preset bench
// draw the same atoms for the same seed. Each step draws from `rng` only when it is switched on,
// in this order:
//
//   view      the modality's training view (band subset, crop, resolution: modality.ts)
//   virtual   with probability virtualSensor, its spectral bands replaced by a random virtual sensor's (virtual-sensor.ts)
//   radiometry a random gain and shift of the spectral bands' physical values (radiometric-augment.ts)
//   atomize   z-scored with the run's statistics (or each image's own)
//   spectral  band centre / width jitter (spectral-augment.ts)
//   dihedral  a random rotation by 90 degrees and mirror (spatial-augment.ts)
//   dropout   keep a uniform fraction in [atomKeepMin, 1] of the atoms
//   subsample at most maxAtoms atoms

import { atomize } from './atomize.js';
import { applyModality, type Modality } from './modality.js';
import { randomRadiometry, radiometricJitterOn, type RadiometricJitter } from './radiometric-augment.js';
import type { SeededRng } from './rng.js';
import { randomDihedral } from './spatial-augment.js';
import { spectralAugment } from './spectral-augment.js';
import type { BandStatsTable } from './stats-lookup.js';
import { subsampleAtoms } from './subsample.js';
import type { AtomSet, Sample } from './types.js';
import { randomVirtualSensor } from './virtual-sensor.js';

export interface TrainRecipe {
  stats: BandStatsTable;
  /** 'zscore' with `stats` (the default), or 'image': each sample's own per-band statistics. */
  normalize?: 'zscore' | 'image';
  /** Probability that a sample is seen by a random virtual sensor (virtual-sensor.ts); 0: off. */
  virtualSensor: number;
  /** Random gain and shift of the spectral bands' physical values before the z-score (radiometric-augment.ts); absent or all parts off: off. */
  radiometry?: RadiometricJitter;
  /** Half-range of the band-centre shift, nm; 0: off. */
  spectralJitterNm: number;
  /** Random rotations by 90 degrees and mirrors. */
  dihedral: boolean;
  /** Atom dropout: each sample keeps a uniform fraction in [atomKeepMin, 1] of its atoms; 1: off. */
  atomKeepMin: number;
  /** Atoms kept per sample at most (seeded subsampling). */
  maxAtoms: number;
}

/** The atoms one training sample contributes, or undefined when its view keeps none. */
export function trainAtoms(sample: Sample, modality: Modality | undefined, recipe: TrainRecipe, rng: SeededRng): AtomSet | undefined {
  let view = modality === undefined ? sample : applyModality(sample, modality, { mode: 'train', rng });
  let stats = recipe.stats;
  if (recipe.virtualSensor > 0 && rng.next() < recipe.virtualSensor) ({ sample: view, stats } = randomVirtualSensor(view, stats, rng));
  if (radiometricJitterOn(recipe.radiometry)) view = randomRadiometry(view, recipe.radiometry, rng);
  let atoms = atomize(view, { stats, normalize: recipe.normalize ?? 'zscore' }).atoms;
  if (atoms.length === 0) return undefined;
  if (recipe.spectralJitterNm > 0) atoms = spectralAugment(atoms, { spectralJitterNm: recipe.spectralJitterNm }, rng);
  if (recipe.dihedral) atoms = randomDihedral(atoms, rng);
  if (recipe.atomKeepMin < 1) {
    const keep = recipe.atomKeepMin + (1 - recipe.atomKeepMin) * rng.next();
    atoms = subsampleAtoms(atoms, Math.max(1, Math.ceil(keep * atoms.length)), rng);
  }
  return subsampleAtoms(atoms, recipe.maxAtoms, rng);
}

// Training-time spectral augmentation (our addition, not in the paper): per
// sample, each spectral band's centre wavelength is shifted by U(-J, +J) nm
// and its width scaled by 2^U(-1, 1), so the model cannot memorise exact
// Sentinel-2 band positions and must read wavelength and bandwidth as
// continuous quantities (the any-sensor claim, docs/model.md section 5).
// Only the band table changes; atoms point at the augmented entries. Channel
// bands (SAR, elevation) have no wavelength and are left untouched. Apply it
// before encoding (tokens.ts) or batching (batch.ts keeps augmented bands as
// distinct entries).

import { z } from 'zod';
import { SeededRng } from './rng.js';
import type { AtomBand, AtomSet } from './types.js';

export const AugmentConfigSchema = z
  .object({
    /** J: half-range of the uniform centre-wavelength shift, nm; 0 turns spectral augmentation off. */
    spectralJitterNm: z.number().min(0).default(0),
  })
  .default({ spectralJitterNm: 0 });

export type AugmentConfig = z.infer<typeof AugmentConfigSchema>;

/** Smallest wavelength an augmented band may take, so a large J never yields a non-physical band. */
const MIN_WAVELENGTH_NM = 1;

/**
 * A copy of `bands` with every spectral band jittered (two draws per spectral
 * band, in table order: shift, then log2 width factor). J = 0 returns `bands`.
 */
export function augmentBands(bands: readonly AtomBand[], spectralJitterNm: number, rng: SeededRng): AtomBand[] {
  if (!(spectralJitterNm >= 0) || !Number.isFinite(spectralJitterNm)) {
    throw new Error(`Spectral augmentation: spectralJitterNm must be a non-negative number of nm, got ${spectralJitterNm}`);
  }
  if (spectralJitterNm === 0) return bands.slice();
  return bands.map((b) => {
    if (b.kind !== 'spectral') return b;
    const shift = rng.uniform(-spectralJitterNm, spectralJitterNm);
    const widthFactor = 2 ** rng.uniform(-1, 1);
    return {
      ...b,
      wavelengthNm: Math.max(MIN_WAVELENGTH_NM, b.wavelengthNm + shift),
      bandwidthNm: b.bandwidthNm * widthFactor,
    };
  });
}

/**
 * The atom set with an augmented band table (atom arrays shared, not
 * copied). Seeded: the same seed, or a generator in the same state, gives
 * the same augmentation. `augment.spectralJitterNm = 0` returns `atoms` itself.
 */
export function spectralAugment(atoms: AtomSet, augment: { spectralJitterNm: number }, rngOrSeed: SeededRng | number): AtomSet {
  if (augment.spectralJitterNm === 0) return atoms;
  const rng = typeof rngOrSeed === 'number' ? new SeededRng(rngOrSeed) : rngOrSeed;
  return { ...atoms, bands: augmentBands(atoms.bands, augment.spectralJitterNm, rng) };
}

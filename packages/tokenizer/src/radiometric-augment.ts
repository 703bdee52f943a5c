// Training-time radiometric augmentation (our recipe, docs/training-recipe.md): per
// sample, the spectral bands' physical values are changed before the z-score by
//
//   physical' = g * g_b * physical + s_b
//
// with g a gain common to every band of the sample (illumination, slope and
// canopy shadow darken or brighten every band alike), g_b each band's own gain
// (calibration, atmospheric transmittance) and s_b each band's additive shift
// (path radiance, a processing offset such as Sentinel-2 L2A's BOA_ADD_OFFSET).
// Another sensor or another scene differs from the training scene in exactly
// these ways; a model trained on one scene's exact levels, where each class is a
// tight cluster, otherwise draws its boundaries anywhere between the clusters.
// The common gain keeps the ratios between bands (the spectral shape), so the
// model is pushed to read the shape rather than one band's absolute level.
//
// Gains are drawn log-uniformly in [1/G, G], shifts uniformly in [-S, S], in the
// band's physical units (stored * scale + offset): S is meaningful for
// reflectance-like units only, so it is the run config's to choose. Only the
// bands' scale and offset change (scale' = g g_b scale, offset' = g g_b offset
// + s_b): no pixel is copied. Channel bands (SAR, elevation) pass through.

import type { SeededRng } from './rng.js';
import type { Sample } from './types.js';

export interface RadiometricJitter {
  /** G of the gain common to every spectral band, drawn log-uniformly in [1/G, G]; 1: off. */
  gain: number;
  /** G of each spectral band's own gain, drawn log-uniformly in [1/G, G]; 1: off. */
  bandGain: number;
  /** S of each spectral band's additive shift, drawn uniformly in [-S, S], physical units; 0: off. */
  shift: number;
}

/** True when any part of `jitter` is switched on. */
export function radiometricJitterOn(jitter: RadiometricJitter | undefined): jitter is RadiometricJitter {
  return jitter !== undefined && (jitter.gain !== 1 || jitter.bandGain !== 1 || jitter.shift !== 0);
}

function check(jitter: RadiometricJitter): void {
  for (const k of ['gain', 'bandGain'] as const) {
    const v = jitter[k];
    if (!Number.isFinite(v) || v < 1) throw new Error(`Radiometric augmentation: ${k} must be a finite factor >= 1 (1: off), got ${v}`);
  }
  if (!Number.isFinite(jitter.shift) || jitter.shift < 0) {
    throw new Error(`Radiometric augmentation: shift must be a finite value >= 0 in physical units (0: off), got ${jitter.shift}`);
  }
}

const logUniform = (g: number, rng: SeededRng): number => 2 ** rng.uniform(-Math.log2(g), Math.log2(g));

/**
 * `sample` with every spectral band's physical values changed by a random gain and
 * shift. Draws from `rng` only for the parts switched on, in this order: the common
 * gain, then per spectral band (in band order) its gain, then its shift. All parts
 * off returns `sample` itself and draws nothing.
 */
export function randomRadiometry(sample: Sample, jitter: RadiometricJitter, rng: SeededRng): Sample {
  check(jitter);
  if (!radiometricJitterOn(jitter)) return sample;
  const common = jitter.gain > 1 ? logUniform(jitter.gain, rng) : 1;
  const bands = sample.bands.map((b) => {
    if (b.kind !== 'spectral') return b;
    const g = common * (jitter.bandGain > 1 ? logUniform(jitter.bandGain, rng) : 1);
    const s = jitter.shift > 0 ? rng.uniform(-jitter.shift, jitter.shift) : 0;
    return { ...b, scale: b.scale * g, offset: b.offset * g + s };
  });
  return { ...sample, bands };
}

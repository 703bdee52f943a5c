// Ground-sample-distance encoding, our choice (docs/model.md section 2.4):
// FF(log2(gsd / refM); F, fmax), defaults F = 4, fmax = 4, refM = 10 m, so a
// 10 m band encodes u = 0 and each halving/doubling of resolution moves u by 1.
// Computed once per band (tokens.ts), never per atom.

import type { EncodingConfig } from './encoding-config.js';
import { fourierFeatures, type FloatArray } from './fourier.js';

export type GsdConfig = EncodingConfig['gsd'];

/** Writes the 2F+1 values at out[offset ..] (a new Float64Array when `out` is omitted). */
export function gsdEncoding(gsdM: number, gsd: GsdConfig, out?: FloatArray, offset = 0, what = 'band'): FloatArray {
  if (!(gsdM > 0) || !Number.isFinite(gsdM)) {
    throw new Error(`GSD encoding of ${what}: gsdM must be a positive number of metres, got ${gsdM}`);
  }
  const target = out ?? new Float64Array(2 * gsd.numBands + 1);
  fourierFeatures(Math.log2(gsdM / gsd.refM), gsd.numBands, gsd.maxFreq, target, offset);
  return target;
}

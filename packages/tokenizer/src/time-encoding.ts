// Day-of-year encoding, our choice (docs/model.md section 2.4):
//   [sin(2*pi*k*doy/365) (k=1..H), cos(2*pi*k*doy/365) (k=1..H)]
// all zeros when the acquisition date is unknown (doy NaN). Computed once per
// sample and copied into each of its tokens (tokens.ts).

import type { FloatArray } from './fourier.js';

/** Length of the encoding: 2 * harmonics. */
export function timeEncodingDim(harmonics: number): number {
  return 2 * harmonics;
}

/** Writes the 2H values at out[offset ..] (a new Float64Array when `out` is omitted). */
export function timeEncoding(doy: number, harmonics: number, out?: FloatArray, offset = 0): FloatArray {
  if (!Number.isInteger(harmonics) || harmonics < 1) {
    throw new Error(`Time encoding: harmonics must be an integer >= 1, got ${harmonics}`);
  }
  if (!Number.isNaN(doy) && !(doy >= 0 && doy <= 367)) {
    throw new Error(`Time encoding: day of year must be between 0 and 367 (1..366, fractional allowed) or NaN when unknown, got ${doy}`);
  }
  const target = out ?? new Float64Array(2 * harmonics);
  for (let k = 1; k <= harmonics; k++) {
    if (Number.isNaN(doy)) {
      target[offset + k - 1] = 0;
      target[offset + harmonics + k - 1] = 0;
    } else {
      const a = (2 * Math.PI * k * doy) / 365;
      target[offset + k - 1] = Math.sin(a);
      target[offset + harmonics + k - 1] = Math.cos(a);
    }
  }
  return target;
}

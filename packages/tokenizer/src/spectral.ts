// Spectral encoding of docs/model.md section 2.2: K unnormalised Gaussian RBFs
// G_k(l) = exp(-0.5*((l - mu_k)/sigma_k)^2) read over the band interval
// [wl - bw/2, wl + bw/2]:
//   mode 'max'      : max of G_k over the interval (the paper's code samples
//                     it at 50 points; we take the exact max: 1 when mu_k lies
//                     inside, else G_k at the nearest edge);
//   mode 'integral' : mean of G_k over the interval (follow-up paper), closed
//                     form with erf.
// Computed once per band (band table), never per atom: see tokens.ts.

import type { EncodingConfig } from './encoding-config.js';
import type { FloatArray } from './fourier.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * Complementary error function for x >= 2.5, by the continued fraction
 * erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
 * evaluated backwards from a fixed depth (converges to ~1e-16 relative for x >= 2.5).
 */
function erfcLarge(x: number): number {
  let t = x;
  for (let n = 60; n >= 1; n--) t = x + n / 2 / t;
  return (Math.exp(-x * x) * ONE_OVER_SQRT_PI) / t;
}

/** erf(x) for |x| < 2.5 by its Maclaurin series (terms stay below ~20, so no harmful cancellation). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x; // (-1)^n x^(2n+1) / n!
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= -x2 / n;
    const c = term / (2 * n + 1);
    sum += c;
    if (Math.abs(c) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/** Error function, accurate to ~1e-15 absolute (tested against tabulated values). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x >= 2.5) return 1 - erfcLarge(x);
  if (x <= -2.5) return erfcLarge(-x) - 1;
  return erfSeries(x);
}

/** Complementary error function 1 - erf(x), with full relative accuracy in the right tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x >= 2.5) return erfcLarge(x);
  if (x <= -2.5) return 2 - erfcLarge(-x);
  return 1 - erfSeries(x);
}

/** erf(b) - erf(a) for a <= b, taken through erfc when both lie in one tail so it keeps its relative precision. */
function erfDiff(a: number, b: number): number {
  if (a >= 0) return erfc(a) - erfc(b);
  if (b <= 0) return erfc(-b) - erfc(-a);
  return erf(b) - erf(a);
}

export type SpectralConfig = EncodingConfig['spectral'];

/** The band fields the spectral encoding reads; `name` only improves error messages. */
export interface SpectralBand {
  wavelengthNm: number;
  bandwidthNm: number;
  name?: string;
}

/**
 * phi(wavelength, bandwidth): K values (one per RBF of `spectral.rbfs`),
 * written to out[offset ..] (a new Float64Array when `out` is omitted).
 */
export function spectralEncoding(band: SpectralBand, spectral: SpectralConfig, out?: FloatArray, offset = 0): FloatArray {
  const { wavelengthNm: wl, bandwidthNm: bw } = band;
  const what = band.name === undefined ? 'spectral band' : `band '${band.name}'`;
  if (!(wl > 0) || !Number.isFinite(wl)) {
    throw new Error(`Spectral encoding of ${what}: wavelengthNm must be a positive number of nm, got ${wl}`);
  }
  if (!(bw >= 0) || !Number.isFinite(bw)) {
    throw new Error(`Spectral encoding of ${what}: bandwidthNm must be a non-negative number of nm, got ${bw}`);
  }
  const rbfs = spectral.rbfs;
  const target = out ?? new Float64Array(rbfs.length);
  const lo = wl - bw / 2;
  const hi = wl + bw / 2;
  for (let k = 0; k < rbfs.length; k++) {
    const { muNm: mu, sigmaNm: sigma } = rbfs[k] as { muNm: number; sigmaNm: number };
    let v: number;
    if (spectral.mode === 'integral' && bw > 0) {
      // Mean over [lo, hi] of exp(-(l-mu)^2 / (2 sigma^2)) =
      // sigma*sqrt(pi/2) * (erf(B) - erf(A)) / bw, A,B = (edge - mu) / (sigma*sqrt(2)).
      const s2 = sigma * Math.SQRT2;
      v = (sigma * Math.sqrt(Math.PI / 2) * erfDiff((lo - mu) / s2, (hi - mu) / s2)) / bw;
    } else {
      // 'max' (and the zero-width limit of 'integral'): G_k at the point of the interval nearest mu_k.
      const nearest = mu < lo ? lo : mu > hi ? hi : mu;
      const z = (nearest - mu) / sigma;
      v = Math.exp(-0.5 * z * z);
    }
    target[offset + k] = v;
  }
  return target;
}

// Landsat Level-1 digital numbers to physical units with the MTL's gains
// (USGS, "Using the USGS Landsat Level-1 Data Product"):
//
//   reflective bands (incl. panchromatic, cirrus): TOA reflectance with the
//     sun-angle correction, rho = (REFLECTANCE_MULT * DN + REFLECTANCE_ADD) / sin(SUN_ELEVATION).
//     Affine in DN, so it is the band's scale and offset (DN stored as read);
//   thermal bands (TIRS B10/B11, ETM+ B6_VCID_1/2, TM B6): TOA brightness
//     temperature in kelvin, T = K2 / ln(K1 / L + 1) with the radiance
//     L = RADIANCE_MULT * DN + RADIANCE_ADD. Not affine: the band's values
//     become float32 kelvin (NaN where missing);
//
// DN 0 is fill (QUANTIZE_CAL_MIN is 1) and stays missing in both. Quality
// layers (BQA, QA_PIXEL) are bit masks: never converted, refused as a band.

import type { RasterArray } from '../types.js';
import type { LandsatMtl } from './landsat-mtl.js';

/** How one band's DN become physical values. */
export type BandCalibration =
  | { kind: 'reflectance'; key: string; scale: number; offset: number }
  | { kind: 'brightness-temperature'; key: string; mult: number; add: number; k1: number; k2: number };

/** Level-1 fill value. */
export const LEVEL1_FILL = 0;

/** The MTL band key of a band name: 'B4' / 'B04' -> '4', 'B6_VCID_1' -> '6_VCID_1'; quality layers refused. */
export function mtlBandKey(name: string, where: string): string {
  if (/^(BQA|QA(_\w+)?)$/i.test(name))
    throw new Error(`${where}: ${name} is a quality layer (bit mask), not imagery; it is not converted nor read as a band`);
  const m = /^B0*(\d+(_VCID_\d)?)$/i.exec(name);
  if (m === null) throw new Error(`${where}: band '${name}' has no Landsat band number; expected B<n> (B4, B10, B6_VCID_1)`);
  return (m[1] as string).toUpperCase();
}

/** The calibration of band `key` from the MTL; a band it lacks, or without gains, is an error naming the file and the key. */
export function bandCalibration(mtl: LandsatMtl, key: string, where: string): BandCalibration {
  const b = mtl.bands.get(key);
  if (b === undefined)
    throw new Error(
      `${where}: band ${key} is not in ${mtl.path} (its bands: ${[...mtl.bands.keys()].join(', ')}); expected the scene's MTL`,
    );
  if (b.thermal !== undefined) {
    if (b.radiance === undefined)
      throw new Error(`${mtl.path}: RADIANCE_MULT_BAND_${key} is missing (thermal band ${key} needs its radiance gains)`);
    return { kind: 'brightness-temperature', key, ...b.radiance, ...b.thermal };
  }
  if (b.reflectance === undefined)
    throw new Error(
      `${mtl.path}: REFLECTANCE_MULT_BAND_${key} is missing, and band ${key} has no K1_CONSTANT_BAND_${key} either; expected one of them`,
    );
  const sin = Math.sin((mtl.sunElevationDeg * Math.PI) / 180);
  return { kind: 'reflectance', key, scale: b.reflectance.mult / sin, offset: b.reflectance.add / sin };
}

/** A band's values, scale, offset and nodata once calibrated (reflectance: DN kept, scale/offset set; thermal: float32 kelvin). */
export function calibrateBand(
  values: RasterArray,
  c: BandCalibration,
): { values: RasterArray; scale: number; offset: number; nodata: number | undefined } {
  if (c.kind === 'reflectance') return { values, scale: c.scale, offset: c.offset, nodata: LEVEL1_FILL };
  return { values: brightnessTemperature(values, c), scale: 1, offset: 0, nodata: undefined };
}

/** TOA brightness temperature (K) of thermal DN; fill (0), NaN and radiance <= 0 become NaN (missing). */
export function brightnessTemperature(values: RasterArray, c: { mult: number; add: number; k1: number; k2: number }): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const dn = values[i] as number;
    const l = c.mult * dn + c.add;
    out[i] = dn === LEVEL1_FILL || !(l > 0) ? Number.NaN : c.k2 / Math.log(c.k1 / l + 1);
  }
  return out;
}

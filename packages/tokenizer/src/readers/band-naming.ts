// Which sensor and band a file or raster band is: names from file names
// (Landsat `..._B4.TIF`, `sr_b4_20200829.tif`, BigEarthNet `..._B8A.tif`,
// `..._VV.tif`), the sensor from a product-id prefix (S2A_, LC08_, S1A_ ...),
// and the band metadata (wavelength, width or channel kind) from the catalogue.

import { basename } from 'node:path';
import type { BandPhysics, BandSpec, Sensor } from '../types.js';
import type { SensorCatalog } from '../sensors/index.js';

// Suffix forms: B6_VCID_1 (Landsat 7 thermal), B8A, B04, BQA, SAR polarisations.
const VCID = /_(B\d+_VCID_\d)$/i;
const LAST_TOKEN = /^(B\d{1,2}A?|BQA|QA_?\w*|VV|VH|HH|HV)$/i;
const ANY_BAND_TOKEN = /^B\d{1,2}A?$/i;

/** File name without directory and extension(s): `S2A_..._B02.tif` -> `S2A_..._B02`. */
export function stem(path: string): string {
  return basename(path)
    .replace(/\.(tif|tiff|TIF|TIFF)$/, '')
    .replace(/\.(ovr|aux)$/i, '');
}

/**
 * The band name a file name carries, upper-cased: the last `_` token when it
 * looks like a band (`..._B8A`, `..._VV`, `..._B6_VCID_1`), else the last
 * token like `b4` anywhere (`sr_b4_20200829`). Undefined when there is none.
 */
export function bandNameFromFileName(path: string): string | undefined {
  const s = stem(path);
  const vcid = VCID.exec(s);
  if (vcid !== null) return (vcid[1] as string).toUpperCase();
  const tokens = s.split('_');
  const last = tokens[tokens.length - 1] ?? '';
  // Collection-2 `..._QA_PIXEL` style: keep the two tokens together.
  const prev = tokens[tokens.length - 2] ?? '';
  if (/^QA$/i.test(prev) && /^[A-Z]+$/i.test(last)) return `QA_${last}`.toUpperCase();
  if (LAST_TOKEN.test(last)) return last.toUpperCase();
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i] as string;
    if (ANY_BAND_TOKEN.test(t)) return t.toUpperCase();
  }
  return undefined;
}

/** A band file's scene name: its stem without the band token (`sr_b4_20200829` -> `sr_20200829`). */
export function sceneIdFromFileName(file: string, band: string): string {
  const s = stem(file);
  const i = s.toUpperCase().lastIndexOf(band.toUpperCase());
  return i < 0 ? s : `${s.slice(0, i)}${s.slice(i + band.length)}`.replace(/__+/g, '_').replace(/^_|_$/g, '');
}

/** Quality-assessment layers (BQA, QA_PIXEL ...) are bit masks, not measurements. */
export function isQualityBand(name: string): boolean {
  return /^(BQA|QA(_\w+)?)$/i.test(name);
}

/**
 * The sensor a product-style file or folder name starts with, when its first
 * `_` token is a catalogue sensor id or alias (`S2A_MSIL2A_...` -> sentinel-2a,
 * `LC08_L1TP_...` -> landsat-8, `S1A_IW_GRDH_...` -> sentinel-1).
 */
export function sensorFromName(path: string, catalog: SensorCatalog): Sensor | undefined {
  const first = stem(path).split('_')[0] ?? '';
  if (first === '' || !catalog.has(first)) return undefined;
  return catalog.get(first);
}

/**
 * The one sensor that knows every band name, or undefined when none or several
 * do (e.g. B8A is both Sentinel-2A's and 2B's: the user must choose).
 */
export function sensorFromBandNames(names: readonly string[], catalog: SensorCatalog): { sensor?: Sensor; candidates: string[] } {
  let ids: Set<string> | undefined;
  const byId = new Map<string, Sensor>();
  for (const name of names) {
    const knowing = new Set<string>();
    for (const hit of catalog.findBand(name)) {
      knowing.add(hit.sensor.id);
      byId.set(hit.sensor.id, hit.sensor);
    }
    ids = ids === undefined ? knowing : new Set([...ids].filter((id) => knowing.has(id)));
  }
  const candidates = [...(ids ?? [])];
  const only = candidates.length === 1 ? byId.get(candidates[0] as string) : undefined;
  return only === undefined ? { candidates } : { sensor: only, candidates };
}

/** The physics part of a band spec (what a BandRaster copies). */
export function bandPhysics(spec: BandSpec): BandPhysics {
  return spec.kind === 'spectral'
    ? { kind: 'spectral', wavelengthNm: spec.wavelengthNm, bandwidthNm: spec.bandwidthNm }
    : { kind: 'channel', channelKind: spec.channelKind };
}

/** Resolve a band through the catalogue, re-throwing with the file that named it. */
export function resolveBandFor(catalog: SensorCatalog, sensor: Sensor, band: string, source: string): BandSpec {
  try {
    return catalog.resolveBand(sensor.id, band);
  } catch (err) {
    throw new Error(`${source}: band '${band}' is not a band of sensor ${sensor.id}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

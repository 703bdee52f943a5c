// Which Landsat MTL a scene's bands are calibrated with, and how each band
// is (landsat-toa.ts). The readers (geotiff.ts, scene-windows.ts) ask here
// once per scene, with the option `mtl`:
//   undefined / 'auto': `<scene id>_MTL.txt` (or `_MTL.json`) beside the
//     first band file (same product id), when there is one; none for URLs;
//   'off': no MTL (the bands stay Level-1 DN);
//   a path: that MTL (a missing file is an error).
// A band whose units are also given another way (a scale/offset option, a
// scene description's or STAC item's, the file's GDAL metadata) is an error
// naming both: one source of units per band.

import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { bandNameFromFileName, sceneIdFromFileName, stem } from './band-naming.js';
import type { BandScaling } from './geotiff.js';
import { readLandsatMtl } from './landsat-mtl.js';
import { bandCalibration, mtlBandKey, type BandCalibration } from './landsat-toa.js';
import { isRemote } from './remote-location.js';

/** What was applied to a scene: recorded with the sample, printed as a note (level1Note). */
export interface Level1Radiometry {
  /** The MTL file read. */
  mtl: string;
  productId: string;
  sunElevationDeg: number;
  /** Catalogue band names read as TOA reflectance, and as brightness temperature (K). */
  reflectance: string[];
  brightnessTemperature: string[];
}

export interface Level1Calibration {
  radiometry: Level1Radiometry;
  /** Per band, in the order given. */
  bands: BandCalibration[];
}

export interface Level1Input {
  /** Per band: the file it is read from (a multi-band file repeats its path). */
  files: readonly string[];
  /** Per band: its name as given (file suffix, `bands` option, band description): B4, B6_VCID_1. */
  rawNames: readonly string[];
  /** Per band: its catalogue name (for the record). */
  names: readonly string[];
  /** Per band: its scale/offset when given some other way (givenScaling), else undefined. */
  given: ReadonlyArray<string | undefined>;
  /** See the file comment. */
  mtl?: string;
}

/** The MTL that applies (see the file comment) and each band's calibration, or undefined when none applies. */
export async function level1Calibration(input: Level1Input): Promise<Level1Calibration | undefined> {
  const path = await mtlFor(input.files[0], input.rawNames[0], input.mtl);
  if (path === undefined) return undefined;
  const mtl = await readLandsatMtl(path);
  if (!/^L1/i.test(mtl.level))
    throw new Error(
      `${path}: processing level ${mtl.level} is not Level-1; its Level-1 gains do not apply to these files (they are not DN); pass mtl=off`,
    );
  const byFile = new Map<string, string>();
  for (const b of mtl.bands.values()) if (b.file !== undefined) byFile.set(b.file.toLowerCase(), b.key);
  const quality = new Set(mtl.qualityFiles.map((f) => f.toLowerCase()));
  const bands = input.rawNames.map((raw, i) => {
    const file = input.files[i] as string;
    const name = fileName(file);
    if (quality.has(name))
      throw new Error(`${file}: listed in ${path} as a quality layer (bit mask), not imagery; it is not read as a band`);
    const product = LANDSAT_PRODUCT.exec(name)?.[0];
    if (product !== undefined && product !== mtl.productId.toLowerCase())
      throw new Error(
        `${file}: product ${product.toUpperCase()} is not the product of ${path} (${mtl.productId}); give each scene its own MTL`,
      );
    const given = input.given[i];
    if (given !== undefined)
      throw new Error(
        `${file}: band ${raw} has ${given} and Landsat MTL gains from ${path}; keep one (drop the scale/offset, or pass mtl=off)`,
      );
    // The MTL's own file list names the band when the file keeps its USGS name (single-band files only).
    const listed = input.files.filter((f) => f === file).length === 1 ? byFile.get(name) : undefined;
    return bandCalibration(mtl, listed ?? mtlBandKey(raw, file), file);
  });
  const of = (kind: BandCalibration['kind']) => [...new Set(input.names.filter((_, i) => bands[i]?.kind === kind))];
  return {
    radiometry: {
      mtl: path,
      productId: mtl.productId,
      sunElevationDeg: mtl.sunElevationDeg,
      reflectance: of('reflectance'),
      brightnessTemperature: of('brightness-temperature'),
    },
    bands,
  };
}

/** A Landsat product id at the start of a file name (lower case): lc08_l1tp_195025_20130707_20170503_01_t1. */
const LANDSAT_PRODUCT = /^l[a-z]\d{2}_l\w{3}_\d{6}_\d{8}_\d{8}_\d{2}_[a-z]\w/;

function fileName(path: string): string {
  return basename(path.replace(/[?#].*$/, '')).toLowerCase();
}

/** The MTL path for a scene whose first band file is `first`, by the `mtl` option (see the file comment). */
async function mtlFor(first: string | undefined, raw: string | undefined, mtl: string | undefined): Promise<string | undefined> {
  if (mtl === 'off') return undefined;
  if (mtl !== undefined && mtl !== 'auto') return mtl;
  if (first === undefined || isRemote(first)) return undefined;
  const band = bandNameFromFileName(first) ?? raw;
  const id = band !== undefined ? sceneIdFromFileName(first, band) : stem(first);
  for (const ext of ['txt', 'json']) {
    const candidate = join(dirname(first), `${id}_MTL.${ext}`);
    if ((await stat(candidate).catch(() => undefined))?.isFile() === true) return candidate;
  }
  return undefined;
}

/** How a band's scale/offset is given other than by an MTL (a phrase for the conflict error), or undefined when it is not. */
export function givenScaling(
  over: BandScaling | undefined,
  opts: { scale?: number; offset?: number },
  meta: { scale?: number; offset?: number },
): string | undefined {
  const pair = (s: { scale?: number; offset?: number }) =>
    [s.scale !== undefined ? `scale ${s.scale}` : '', s.offset !== undefined ? `offset ${s.offset}` : '']
      .filter((x) => x !== '')
      .join(', ');
  if (over?.scale !== undefined || over?.offset !== undefined)
    return `${pair(over)} given per band (scene description or STAC raster:bands)`;
  if (opts.scale !== undefined || opts.offset !== undefined) return `${pair(opts)} given for every band (scale/offset option)`;
  if ((meta.scale ?? 1) !== 1 || (meta.offset ?? 0) !== 0) return `${pair(meta)} in its GDAL metadata`;
  return undefined;
}

/** One line saying which MTL was applied to what. */
export function level1Note(r: Level1Radiometry): string {
  const parts = [
    ...(r.reflectance.length > 0
      ? [`${r.reflectance.join(', ')} as top-of-atmosphere reflectance (sun elevation ${r.sunElevationDeg.toFixed(2)} deg)`]
      : []),
    ...(r.brightnessTemperature.length > 0 ? [`${r.brightnessTemperature.join(', ')} as brightness temperature (K)`] : []),
  ];
  return `Landsat Level-1 MTL ${r.mtl} applied to ${r.productId}: ${parts.join('; ')}`;
}

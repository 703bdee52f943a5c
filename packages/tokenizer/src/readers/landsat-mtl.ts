// Landsat Level-1 metadata (`<product id>_MTL.txt`, or the `_MTL.json` of
// Collection 2): the per-band gains that turn Level-1 digital numbers into
// top-of-atmosphere reflectance and radiance, the thermal constants, the sun
// elevation and the band file names. Both layouts USGS has written:
//
//   Collection 1 (and pre-collection):        Collection 2:
//   L1_METADATA_FILE                           LANDSAT_METADATA_FILE
//     METADATA_FILE_INFO/LANDSAT_PRODUCT_ID      PRODUCT_CONTENTS/LANDSAT_PRODUCT_ID, PROCESSING_LEVEL,
//     PRODUCT_METADATA/DATA_TYPE, SPACECRAFT_ID,   FILE_NAME_BAND_x, FILE_NAME_QUALITY_L1_*
//       SENSOR_ID, FILE_NAME_BAND_x, _QUALITY    IMAGE_ATTRIBUTES/SPACECRAFT_ID, SENSOR_ID, SUN_ELEVATION
//     IMAGE_ATTRIBUTES/SUN_ELEVATION             LEVEL1_RADIOMETRIC_RESCALING
//     RADIOMETRIC_RESCALING                      LEVEL1_THERMAL_CONSTANTS
//     TIRS_THERMAL_CONSTANTS | THERMAL_CONSTANTS
//
// A band key is what follows `_BAND_` in the key names: '4', '10', '6_VCID_1'.

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseOdl, type OdlGroup } from './odl.js';
import { readLocationBytes } from './raster-source.js';
import { isRemote } from './remote-location.js';

export interface MtlGains {
  mult: number;
  add: number;
}

/** One band of the MTL: its file name (when listed) and the gains it has. */
export interface MtlBand {
  key: string;
  file?: string;
  /** REFLECTANCE_MULT/ADD_BAND_x: TOA reflectance without the sun-angle correction. */
  reflectance?: MtlGains;
  /** RADIANCE_MULT/ADD_BAND_x: TOA spectral radiance, W/(m2 sr um). */
  radiance?: MtlGains;
  /** K1_CONSTANT/K2_CONSTANT_BAND_x: thermal bands. */
  thermal?: { k1: number; k2: number };
}

export interface LandsatMtl {
  /** The file read (errors and notes name it). */
  path: string;
  collection: 1 | 2;
  productId: string;
  /** DATA_TYPE (C1) or PROCESSING_LEVEL (C2): L1TP, L1GT, L1GS, L2SP ... */
  level: string;
  /** LANDSAT_8, LANDSAT_7 ... */
  spacecraft: string;
  /** OLI_TIRS, ETM, TM ... */
  sensor: string;
  sunElevationDeg: number;
  /** By band key, in file order. */
  bands: Map<string, MtlBand>;
  /** File names of the quality layers (BQA, QA_PIXEL, QA_RADSAT): bit masks, not imagery. */
  qualityFiles: string[];
}

/** True when a path names an MTL file (`..._MTL.txt` or `..._MTL.json`). */
export function isMtlPath(path: string): boolean {
  return /_MTL\.(txt|json)$/i.test(path.replace(/[?#].*$/, ''));
}

/** Read and parse an MTL file (local path or URL). */
export async function readLandsatMtl(path: string): Promise<LandsatMtl> {
  let text: string;
  try {
    text = isRemote(path) ? new TextDecoder().decode(await readLocationBytes(path)) : await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read the Landsat MTL file (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseLandsatMtl(text, path);
}

/** Parse MTL text: ODL (`GROUP = ...`) or JSON (`{"LANDSAT_METADATA_FILE": {...}}`), told apart by the first character. */
export function parseLandsatMtl(text: string, path: string): LandsatMtl {
  const root = text.trimStart().startsWith('{') ? jsonTree(text, path) : parseOdl(text, path);
  const c2 = root.LANDSAT_METADATA_FILE;
  const c1 = root.L1_METADATA_FILE;
  const top = typeof c2 === 'object' ? c2 : typeof c1 === 'object' ? c1 : undefined;
  if (top === undefined)
    throw new Error(`${path}: not a Landsat MTL file: no group LANDSAT_METADATA_FILE (Collection 2) nor L1_METADATA_FILE (Collection 1)`);
  const collection = top === c2 ? 2 : 1;
  const g = new MtlGroups(top, path, collection === 2 ? 'LANDSAT_METADATA_FILE' : 'L1_METADATA_FILE');
  const contents = collection === 2 ? g.group('PRODUCT_CONTENTS') : g.group('PRODUCT_METADATA');
  const attributes = g.group('IMAGE_ATTRIBUTES');
  const rescaling = g.group(collection === 2 ? 'LEVEL1_RADIOMETRIC_RESCALING' : 'RADIOMETRIC_RESCALING');
  const thermalGroup = g.optionalGroup(collection === 2 ? ['LEVEL1_THERMAL_CONSTANTS'] : ['TIRS_THERMAL_CONSTANTS', 'THERMAL_CONSTANTS']);
  const info = collection === 2 ? contents : g.optionalGroup(['METADATA_FILE_INFO']);
  const sunElevationDeg = g.number(attributes, 'SUN_ELEVATION');
  if (!(sunElevationDeg > 0 && sunElevationDeg <= 90))
    throw new Error(
      `${path}: IMAGE_ATTRIBUTES/SUN_ELEVATION is ${sunElevationDeg}; expected a sun above the horizon (0 < elevation <= 90 degrees)`,
    );

  const bands = new Map<string, MtlBand>();
  const band = (key: string): MtlBand => {
    let b = bands.get(key);
    if (b === undefined) bands.set(key, (b = { key }));
    return b;
  };
  const qualityFiles: string[] = [];
  for (const [k, v] of Object.entries(contents.value)) {
    const m = /^FILE_NAME_(BAND_(\w+)|QUALITY\w*|BAND_QUALITY)$/.exec(k);
    if (m === null || typeof v !== 'string') continue;
    const key = m[2];
    if (key === undefined || key === 'QUALITY') qualityFiles.push(v);
    else band(key).file = v;
  }
  for (const kind of ['REFLECTANCE', 'RADIANCE'] as const) {
    for (const k of Object.keys(rescaling.value)) {
      const m = new RegExp(`^${kind}_MULT_BAND_(\\w+)$`).exec(k);
      if (m === null) continue;
      const key = m[1] as string;
      const gains = { mult: g.number(rescaling, k), add: g.number(rescaling, `${kind}_ADD_BAND_${key}`) };
      if (kind === 'REFLECTANCE') band(key).reflectance = gains;
      else band(key).radiance = gains;
    }
  }
  if (thermalGroup !== undefined) {
    for (const k of Object.keys(thermalGroup.value)) {
      const m = /^K1_CONSTANT_BAND_(\w+)$/.exec(k);
      if (m === null) continue;
      const key = m[1] as string;
      band(key).thermal = { k1: g.number(thermalGroup, k), k2: g.number(thermalGroup, `K2_CONSTANT_BAND_${key}`) };
    }
  }
  return {
    path,
    collection,
    productId: info !== undefined ? (g.optionalText(info, 'LANDSAT_PRODUCT_ID') ?? productIdFromName(path)) : productIdFromName(path),
    level: g.text(contents, collection === 2 ? 'PROCESSING_LEVEL' : 'DATA_TYPE'),
    spacecraft: g.text(collection === 2 ? attributes : contents, 'SPACECRAFT_ID'),
    sensor: g.text(collection === 2 ? attributes : contents, 'SENSOR_ID'),
    sunElevationDeg,
    bands,
    qualityFiles,
  };
}

function productIdFromName(path: string): string {
  return basename(path).replace(/_MTL\.(txt|json)$/i, '');
}

/** An MTL JSON document as the ODL tree (values as text, as ODL gives them). */
function jsonTree(text: string, path: string): OdlGroup {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const convert = (v: unknown, at: string): OdlGroup => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: ${at} must be an object`);
    const out: OdlGroup = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'object' && x !== null && !Array.isArray(x)) out[k] = convert(x, `${at}/${k}`);
      else if (typeof x === 'string' || typeof x === 'number') out[k] = String(x);
      else throw new Error(`${path}: ${at}/${k} is ${JSON.stringify(x)}; expected a string, a number or an object`);
    }
    return out;
  };
  return convert(parsed, '(top level)');
}

/** Lookups in the MTL tree whose errors name the file and the group/key. */
class MtlGroups {
  constructor(
    private readonly top: OdlGroup,
    private readonly path: string,
    private readonly topName: string,
  ) {}

  group(name: string): { name: string; value: OdlGroup } {
    const g = this.optionalGroup([name]);
    if (g === undefined) throw new Error(`${this.path}: no group ${name} in ${this.topName}; expected a Landsat Level-1 MTL file`);
    return g;
  }

  optionalGroup(names: string[]): { name: string; value: OdlGroup } | undefined {
    for (const name of names) {
      const v = this.top[name];
      if (typeof v === 'object') return { name, value: v };
    }
    return undefined;
  }

  optionalText(g: { name: string; value: OdlGroup }, key: string): string | undefined {
    const v = g.value[key];
    if (typeof v === 'object') throw new Error(`${this.path}: ${g.name}/${key} is a group; expected a value`);
    return v;
  }

  text(g: { name: string; value: OdlGroup }, key: string): string {
    const v = this.optionalText(g, key);
    if (v === undefined) throw new Error(`${this.path}: ${g.name}/${key} is missing`);
    return v;
  }

  number(g: { name: string; value: OdlGroup }, key: string): number {
    const v = this.text(g, key);
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${this.path}: ${g.name}/${key} is '${v}'; expected a number`);
    return n;
  }
}

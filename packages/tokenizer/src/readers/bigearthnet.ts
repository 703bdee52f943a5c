// BigEarthNet patch folders (docs/datasets.md): `<patch>/<patch>_B01.tif` ...
// one uint16 GeoTIFF per Sentinel-2 band at its own resolution (10/20/60 m),
// or `<patch>_VV.tif` / `_VH.tif` float32 dB for Sentinel-1, plus
// `<patch>_labels_metadata.json` (CORINE labels, UTM bounds, acquisition date).

import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { builtinCatalog, type SensorCatalog } from '../sensors/index.js';
import type { AcquisitionTime } from '../types.js';
import { parseAcquisitionTime } from './acquisition-time.js';
import { sensorFromName } from './band-naming.js';
import { bigEarthNetLabelIndices, type BigEarthNetNomenclature } from './bigearthnet-classes.js';
import { bboxMaxDifference, formatBBox, type BBox } from './geo-transform.js';
import { readBandFiles, type BandFilesOptions, type GeoSample } from './geotiff.js';

/** The 12 Sentinel-2 bands of BigEarthNet (B10 cirrus is not distributed). */
export const BIGEARTHNET_S2_BANDS = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B11', 'B12'];
export const BIGEARTHNET_S1_BANDS = ['VV', 'VH'];

// Sentinel-2 L2A values are surface reflectance x 10000 (docs/datasets.md), so
// physical reflectance = stored * 1e-4. Sentinel-1 values are already dB.
const S2_REFLECTANCE_SCALE = 1e-4;

export interface BigEarthNetOptions {
  /** Labels index the alphabetically sorted 19-class list (default) or the 43 CORINE classes. */
  nomenclature?: BigEarthNetNomenclature;
  catalog?: SensorCatalog;
}

interface PatchMetadata {
  labels: string[];
  bbox?: BBox;
  time?: AcquisitionTime;
}

function parseMetadata(text: string, file: string): PatchMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof json !== 'object' || json === null) throw new Error(`${file}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  const labels = o.labels;
  if (!Array.isArray(labels) || !labels.every((l): l is string => typeof l === 'string')) {
    throw new Error(`${file}: field 'labels' must be an array of CORINE class names`);
  }
  const out: PatchMetadata = { labels };
  const c = o.coordinates as Record<string, unknown> | undefined;
  if (c !== undefined) {
    // The S1 metadata of BigEarthNet-S1 names the lower bound `lly` where S2 says `lry`.
    const lower = c.lry ?? c.lly;
    const [ulx, uly, lrx] = [c.ulx, c.uly, c.lrx];
    if (typeof ulx !== 'number' || typeof uly !== 'number' || typeof lrx !== 'number' || typeof lower !== 'number') {
      throw new Error(`${file}: field 'coordinates' must hold numbers ulx, uly, lrx and lry (or lly)`);
    }
    out.bbox = [Math.min(ulx, lrx), Math.min(uly, lower), Math.max(ulx, lrx), Math.max(uly, lower)];
  }
  const when = o.acquisition_date ?? o.acquisition_time;
  if (typeof when === 'string') {
    const t = parseAcquisitionTime(when, `${file}: acquisition date`);
    if (t === undefined) throw new Error(`${file}: acquisition date '${when}' is not a date (expected "YYYY-MM-DD hh:mm:ss" or ISO 8601)`);
    out.time = t;
  }
  return out;
}

/** A BigEarthNet patch folder's band files (checked present) and the options readBandFiles reads them with (sensor, S2 reflectance scale). */
export async function bigEarthNetPatchFiles(
  folder: string,
  opts: BigEarthNetOptions = {},
): Promise<{ dir: string; patch: string; entries: string[]; files: string[]; options: BandFilesOptions }> {
  const dir = resolve(folder);
  const patch = basename(dir);
  const catalog = opts.catalog ?? builtinCatalog();
  const sensor = sensorFromName(patch, catalog);
  if (sensor === undefined || !['sentinel-2a', 'sentinel-2b', 'sentinel-1'].includes(sensor.id)) {
    throw new Error(`${dir}: not a BigEarthNet patch folder name; expected a name starting with S2A_, S2B_, S1A_ or S1B_`);
  }
  const isS1 = sensor.id === 'sentinel-1';
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new Error(`${dir}: cannot list BigEarthNet patch folder (${err instanceof Error ? err.message : String(err)})`);
  }
  const present = new Set(entries);
  const wanted = isS1 ? BIGEARTHNET_S1_BANDS : BIGEARTHNET_S2_BANDS;
  const files = wanted.map((b) => `${patch}_${b}.tif`);
  const missing = files.filter((f) => !present.has(f));
  if (missing.length > 0) {
    throw new Error(
      `${dir}: missing band file(s) ${missing.join(', ')}; a BigEarthNet ${isS1 ? 'S1' : 'S2'} patch has ${wanted.join(', ')}`,
    );
  }
  return {
    dir,
    patch,
    entries,
    files: files.map((f) => join(dir, f)),
    options: { sensor: sensor.id, catalog, id: patch, ...(isS1 ? {} : { scale: S2_REFLECTANCE_SCALE }) },
  };
}

/**
 * Read one BigEarthNet patch folder (Sentinel-2 or Sentinel-1, told by the
 * patch-name prefix S2A/S2B/S1A/S1B) as a Sample: 12 (S2) or 2 (S1) bands at
 * native resolution, labels from its metadata, its acquisition time. The
 * metadata bounds must match the rasters' within half a 60 m pixel.
 */
export async function readBigEarthNetPatch(folder: string, opts: BigEarthNetOptions = {}): Promise<GeoSample> {
  const { dir, patch, entries, files, options } = await bigEarthNetPatchFiles(folder, opts);
  const present = new Set(entries);
  const metaFile = join(dir, `${patch}_labels_metadata.json`);
  if (!present.has(basename(metaFile))) throw new Error(`${dir}: missing ${basename(metaFile)} (labels and bounds of the patch)`);
  const [meta, sample] = await Promise.all([
    readFile(metaFile, 'utf8').then((t) => parseMetadata(t, metaFile)),
    readBandFiles(files, options),
  ]);
  if (meta.bbox !== undefined && sample.geo.bbox !== undefined) {
    const coarsest = Math.max(...sample.bands.map((b) => b.gsdM));
    const diff = bboxMaxDifference(meta.bbox, sample.geo.bbox);
    if (diff > coarsest / 2) {
      throw new Error(
        `${metaFile}: coordinates ${formatBBox(meta.bbox)} do not match the bounds ${formatBBox(sample.geo.bbox)} of the band rasters (edges differ by ${diff} m)`,
      );
    }
  }
  sample.labels = bigEarthNetLabelIndices(meta.labels, opts.nomenclature ?? 19, metaFile);
  if (meta.time !== undefined) sample.time = meta.time;
  sample.source = dir;
  return sample;
}

/** True when `dir` looks like a BigEarthNet patch folder (holds its labels metadata JSON). */
async function isPatchFolder(dir: string): Promise<boolean> {
  try {
    const entries = await readdir(dir);
    return entries.includes(`${basename(dir)}_labels_metadata.json`);
  } catch {
    return false;
  }
}

/**
 * Every patch folder under `root` (root itself, or nested up to 3 levels, e.g.
 * `bigearthnet_tiny/s2/<patch>`), sorted by path for a stable order.
 */
export async function listBigEarthNetPatches(root: string): Promise<string[]> {
  const top = resolve(root);
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (await isPatchFolder(dir)) {
      found.push(dir);
      return;
    }
    if (depth === 0) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === top) throw new Error(`${dir}: cannot list BigEarthNet folder (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), depth - 1);
  };
  await walk(top, 3);
  return found.sort();
}

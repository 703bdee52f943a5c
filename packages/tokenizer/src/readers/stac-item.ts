// A STAC Item as input imagery: the item's band metadata makes the sensor
// (sensors/stac.ts), its GeoTIFF assets are read through readers/geotiff.ts,
// and its `properties.datetime` is the acquisition time. One item is one
// sample. Its bands' sensor is the item's own (sensorFromStacItem), which no
// catalogue holds: to normalise with a family's statistics, add that sensor
// to the catalogue given to atomize. Only local files are read: relative hrefs resolve against the item
// file, `file://` URLs are local paths; http(s) assets are not fetched yet.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SensorCatalog, loadStacItem, sensorFromStacItem, stacAssetBands, type StacItem } from '../sensors/index.js';
import type { AcquisitionTime, BandRaster, Sensor } from '../types.js';
import { parseAcquisitionTime } from './acquisition-time.js';
import { checkSameFootprint, placeSample, readGeoTiff, type Footprint, type GeoSample } from './geotiff.js';

export interface StacItemReadOptions {
  /** Only these asset keys (default: every asset with band metadata). */
  assets?: string[];
  /**
   * Where the item's platform is looked up (LANDSAT_8 -> landsat-8) to give
   * the item's sensor that sensor's family (sensorFromStacItem). Default the
   * built-in catalogue.
   */
  catalog?: SensorCatalog;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The local path of an asset href, or an Error for remote ones. */
function localPath(href: string, asset: string, itemPath: string): string {
  if (/^file:\/\//i.test(href)) return fileURLToPath(href);
  if (/^https?:\/\//i.test(href)) {
    throw new Error(
      `${itemPath}: asset '${asset}' is remote (${href}); remote assets are not fetched yet: download the files and point the hrefs at local paths (absolute, relative to the item, or file://)`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) {
    throw new Error(`${itemPath}: asset '${asset}' href ${href} uses a scheme this reader does not read; expected a local path or a file:// URL`);
  }
  return href; // stacAssetBands has resolved relative paths against the item file
}

const isGeoTiff = (href: string, type: string | undefined): boolean =>
  type !== undefined ? /tiff/i.test(type) : /\.tiff?$/i.test(href.split(/[?#]/)[0] ?? '');

/** Acquisition time from properties.datetime (or start_datetime when datetime is null, as STAC allows). */
function itemTime(item: StacItem, itemPath: string): AcquisitionTime | undefined {
  for (const field of ['datetime', 'start_datetime']) {
    const v = item.properties[field];
    if (typeof v !== 'string') continue;
    const t = parseAcquisitionTime(v, `${itemPath}: properties.${field}`);
    if (t === undefined) throw new Error(`${itemPath}: properties.${field} '${v}' is not an RFC 3339 date-time (e.g. 2013-07-07T10:17:42Z)`);
    return t;
  }
  return undefined;
}

/**
 * Scale and offset of band i of an asset, when the item states them
 * (STAC 1.0 raster:bands[i].scale/offset, STAC 1.1 bands[i] or the asset's
 * raster:scale/raster:offset); they turn stored values into physical ones.
 */
function assetScaling(item: StacItem, asset: string, i: number): { scale?: number; offset?: number } {
  const a = item.assets[asset] as Obj;
  const raster = Array.isArray(a['raster:bands']) ? (a['raster:bands'] as unknown[])[i] : undefined;
  const band = Array.isArray(a.bands) ? (a.bands as unknown[])[i] : undefined;
  const scale = num(isObj(raster) ? raster.scale : undefined) ?? num(isObj(band) ? band['raster:scale'] : undefined) ?? num(a['raster:scale']);
  const offset = num(isObj(raster) ? raster.offset : undefined) ?? num(isObj(band) ? band['raster:offset'] : undefined) ?? num(a['raster:offset']);
  return { ...(scale !== undefined ? { scale } : {}), ...(offset !== undefined ? { offset } : {}) };
}

/** The footprint checkSameFootprint compares, from a GeoSample read from one file. */
function footprintOf(sample: GeoSample, path: string): Footprint {
  const { bbox, crs } = sample.geo;
  const first = sample.bands[0];
  if (bbox === undefined || crs === undefined || first === undefined) return { path };
  return {
    path,
    geo: { bbox, crs, transform: { pixelWidth: (bbox[2] - bbox[0]) / first.width, pixelHeight: -(bbox[3] - bbox[1]) / first.height } },
  };
}

/** One GeoTIFF asset of an item: its local file, the band names of its samples, their scale/offset, and which of them an earlier asset already gave. */
export interface StacAssetFile {
  asset: string;
  file: string;
  bands: string[];
  scaling: Array<{ scale?: number; offset?: number }>;
  /** Band names an earlier asset already carries (read once, from the first). */
  repeated: Set<string>;
}

/**
 * The item, its sensor (with a catalogue holding only it, which names the
 * bands of its files) and the local GeoTIFF files of its assets; every file
 * is checked to exist. Nothing is decoded.
 */
export async function stacItemAssetFiles(
  path: string,
  opts: StacItemReadOptions = {},
): Promise<{ item: StacItem; sensor: Sensor; catalog: SensorCatalog; files: StacAssetFile[]; time?: AcquisitionTime }> {
  const item = await loadStacItem(path);
  const sensorOpts = {
    sourceName: path,
    ...(opts.assets !== undefined ? { assets: opts.assets } : {}),
    ...(opts.catalog !== undefined ? { catalog: opts.catalog } : {}),
  };
  const sensor = sensorFromStacItem(item, sensorOpts);
  // The item's own sensor, alone in a catalogue, names the bands of its files.
  const catalog = new SensorCatalog([sensor]);
  const taken = new Set<string>();
  const files: StacAssetFile[] = [];
  const skipped: string[] = [];
  for (const a of stacAssetBands(item, { ...sensorOpts, itemPath: path })) {
    if (a.bands.every((b) => taken.has(b))) continue;
    if (!isGeoTiff(a.href, a.type)) {
      skipped.push(`${a.asset} (${a.type ?? a.href})`);
      continue;
    }
    const file = localPath(a.href, a.asset, path);
    const info = await stat(file).catch(() => undefined);
    if (info === undefined) throw new Error(`${path}: asset '${a.asset}' file ${file} does not exist`);
    files.push({ asset: a.asset, file, bands: [...a.bands], scaling: a.bands.map((_, i) => assetScaling(item, a.asset, i)), repeated: new Set(a.bands.filter((b) => taken.has(b))) });
    for (const b of a.bands) taken.add(b);
  }
  if (files.length === 0) {
    throw new Error(`${path}: no GeoTIFF asset with band metadata to read${skipped.length > 0 ? ` (not GeoTIFF: ${skipped.join(', ')})` : ''}`);
  }
  const time = itemTime(item, path);
  return { item, sensor, catalog, files, ...(time !== undefined ? { time } : {}) };
}

/**
 * Read one STAC Item JSON file as a sample: one band per band the item
 * describes (names, wavelengths and widths from the item; GSD from each
 * file's georeferencing), in the item's band order. A band several assets
 * carry (a COG and a JP2 copy) is read once, from its first GeoTIFF asset.
 * Assets must cover the same footprint within half a pixel of the coarsest.
 */
export async function readStacItem(path: string, opts: StacItemReadOptions = {}): Promise<GeoSample> {
  const { item, sensor, catalog, files, time } = await stacItemAssetFiles(path, opts);
  const parts: Array<{ sample: GeoSample; file: string }> = [];
  for (const a of files) {
    const sample = await readGeoTiff(a.file, { sensor: sensor.id, catalog, bands: a.bands });
    sample.bands.forEach((band, i) => Object.assign(band, a.scaling[i]));
    sample.bands = sample.bands.filter((b) => !a.repeated.has(b.name));
    parts.push({ sample, file: a.file });
  }
  checkSameFootprint(parts.map((p) => footprintOf(p.sample, p.file)));
  const order = new Map(sensor.bands.map((b, i) => [b.name, i]));
  const bands: BandRaster[] = parts.flatMap((p) => p.sample.bands).sort((x, y) => (order.get(x.name) ?? 0) - (order.get(y.name) ?? 0));
  const finest = parts.reduce((a, b) => ((b.sample.bands[0]?.gsdM ?? Infinity) < (a.sample.bands[0]?.gsdM ?? Infinity) ? b : a));
  const missingByBand: Record<string, number> = {};
  for (const p of parts) {
    for (const b of p.sample.bands) missingByBand[b.name] = p.sample.geo.missingByBand[b.name] ?? 0;
  }
  const sample: GeoSample = {
    id: item.id,
    bands,
    labels: [],
    source: path,
    geo: { missingByBand, files: parts.map((p) => p.file) },
  };
  return placeSample(sample, time, finest.sample.geo);
}

/** The STAC Item files at a path: the file itself, or the .json files of a folder (sorted). */
export async function stacItemFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new Error(`${path}: no such file or folder`);
  if (!info.isDirectory()) return [path];
  const files = (await readdir(path)).filter((f) => /\.json$/i.test(f)).sort();
  if (files.length === 0) throw new Error(`${path}: no STAC Item .json files in this folder`);
  return files.map((f) => join(path, f));
}

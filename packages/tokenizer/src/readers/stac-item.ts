// A STAC Item as input imagery: the item's band metadata makes the sensor
// (sensors/stac.ts), its GeoTIFF assets are read through readers/geotiff.ts,
// and its `properties.datetime` is the acquisition time. One item is one
// sample. Its bands' sensor is the item's own (sensorFromStacItem), which no
// catalogue holds: to normalise with a family's statistics, add that sensor
// to the catalogue given to atomize.
//
// Items and their assets live anywhere a raster source reads (local paths,
// file://, http(s)://, s3://bucket/key): relative hrefs resolve against the
// item's own URL or file. An ItemCollection (a FeatureCollection of Items) is
// one sample per item, its items checked to share one sensor (same bands).
// `raster:bands` nodata, scale and offset (STAC 1.0; STAC 1.1 `bands` with
// raster: fields, or asset-level ones) override the file's own: physical
// value = stored * scale + offset, stored == nodata is missing.

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SensorCatalog, parseStacItem, sensorFromStacItem, stacAssetBands, type StacItem } from '../sensors/index.js';
import type { AcquisitionTime, BandRaster, Sensor } from '../types.js';
import { parseAcquisitionTime } from './acquisition-time.js';
import { checkSameFootprint, placeSample, readGeoTiff, type Footprint, type GeoSample } from './geotiff.js';
import { readLocationBytes } from './raster-source.js';
import { displayLocation, isRemote, localPathOf, locationKind, resolveHref } from './remote-location.js';

export interface StacItemReadOptions {
  /** Only these asset keys (default: every asset with band metadata). */
  assets?: string[];
  /**
   * Where the item's platform is looked up (LANDSAT_8 -> landsat-8) to give
   * the item's sensor that sensor's family (sensorFromStacItem). Default the
   * built-in catalogue.
   */
  catalog?: SensorCatalog;
  /** The item, already loaded (an item of an ItemCollection); `path` then names its collection. */
  item?: StacItem;
  /** Read every asset on a grid this fraction of its full resolution (see GeoTiffReadOptions). */
  resolutionFactor?: number;
}

/** One item to read: where its document is, and the item when it came from an ItemCollection. */
export interface StacItemRef {
  location: string;
  item?: StacItem;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The asset's location: its href resolved against the item's location; unsupported schemes are an Error naming the asset. */
function assetLocation(href: string, asset: string, itemLocation: string): string {
  const resolved = resolveHref(itemLocation, href);
  try {
    locationKind(resolved);
  } catch {
    throw new Error(
      `${displayLocation(itemLocation)}: asset '${asset}' href ${displayLocation(href)} uses a scheme this reader does not read; expected a local path, file://, http(s):// or s3://bucket/key`,
    );
  }
  return resolved;
}

const isGeoTiff = (href: string, type: string | undefined): boolean =>
  type !== undefined ? /tiff/i.test(type) : /\.tiff?$/i.test(href.split(/[?#]/)[0] ?? '');

/** Acquisition time from properties.datetime (or start_datetime when datetime is null, as STAC allows). */
function itemTime(item: StacItem, itemPath: string): AcquisitionTime | undefined {
  for (const field of ['datetime', 'start_datetime']) {
    const v = item.properties[field];
    if (typeof v !== 'string') continue;
    const t = parseAcquisitionTime(v, `${itemPath}: properties.${field}`);
    if (t === undefined)
      throw new Error(`${itemPath}: properties.${field} '${v}' is not an RFC 3339 date-time (e.g. 2013-07-07T10:17:42Z)`);
    return t;
  }
  return undefined;
}

/** A STAC nodata value: a number, or "nan", "inf", "-inf" as STAC writes them. */
function nodataValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const t = v.trim().toLowerCase();
  return t === 'nan' ? NaN : t === 'inf' || t === '+inf' ? Infinity : t === '-inf' ? -Infinity : undefined;
}

/**
 * Scale, offset and nodata of band i of an asset, when the item states them
 * (STAC 1.0 raster:bands[i].scale/offset/nodata, STAC 1.1 bands[i] with
 * raster:scale/raster:offset and nodata, or the asset's own); scale and
 * offset turn stored values into physical ones, nodata marks missing ones.
 */
function assetScaling(item: StacItem, asset: string, i: number): { scale?: number; offset?: number; nodata?: number } {
  const a = item.assets[asset] as Obj;
  const raster = Array.isArray(a['raster:bands']) ? (a['raster:bands'] as unknown[])[i] : undefined;
  const band = Array.isArray(a.bands) ? (a.bands as unknown[])[i] : undefined;
  const scale =
    num(isObj(raster) ? raster.scale : undefined) ?? num(isObj(band) ? band['raster:scale'] : undefined) ?? num(a['raster:scale']);
  const offset =
    num(isObj(raster) ? raster.offset : undefined) ?? num(isObj(band) ? band['raster:offset'] : undefined) ?? num(a['raster:offset']);
  const nodata =
    nodataValue(isObj(raster) ? raster.nodata : undefined) ??
    nodataValue(isObj(band) ? (band.nodata ?? band['raster:nodata']) : undefined) ??
    nodataValue(a.nodata ?? a['raster:nodata']);
  return {
    ...(scale !== undefined ? { scale } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(nodata !== undefined ? { nodata } : {}),
  };
}

/** The Items of a STAC document: an Item, or an ItemCollection's features (each checked, errors naming the feature). */
export async function loadStacDocument(location: string): Promise<{ items: StacItem[]; collection: boolean }> {
  const name = displayLocation(location);
  let text: string;
  try {
    text = isRemote(location) ? new TextDecoder().decode(await readLocationBytes(location)) : await readFile(localPathOf(location), 'utf8');
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(msg.startsWith(name) ? msg : `${name}: cannot read STAC item: ${msg}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not valid JSON: ${(e as Error).message}`);
  }
  if (isObj(json) && json.type === 'FeatureCollection') {
    if (!Array.isArray(json.features))
      throw new Error(`${name}: an ItemCollection without a features array; expected "features": [<STAC Item>, ...]`);
    if (json.features.length === 0) throw new Error(`${name}: an ItemCollection with no items`);
    const items = json.features.map((f, i) => {
      const id = isObj(f) && typeof f.id === 'string' ? ` (${f.id})` : '';
      return parseStacItem(f, `${name} features[${i}]${id}`);
    });
    return { items, collection: true };
  }
  return { items: [parseStacItem(json, name)], collection: false };
}

/** The sensor's id and band names, to tell whether items of a collection share one sensor. */
function sensorSignature(item: StacItem, where: string, opts: StacItemReadOptions): string {
  const s = sensorFromStacItem(item, { sourceName: where, ...(opts.catalog !== undefined ? { catalog: opts.catalog } : {}) });
  return `${s.id} (${s.bands.map((b) => b.name).join(', ')})`;
}

/** Reject an ItemCollection whose items are of different sensors: one dataset, one sensor. */
function checkOneSensor(items: StacItem[], location: string, opts: StacItemReadOptions): void {
  const first = items[0];
  if (first === undefined) return;
  const ref = sensorSignature(first, displayLocation(location), opts);
  for (const it of items.slice(1)) {
    const sig = sensorSignature(it, displayLocation(location), opts);
    if (sig !== ref) {
      throw new Error(
        `${displayLocation(location)}: the ItemCollection mixes sensors: item ${first.id} is ${ref} but item ${it.id} is ${sig}; split it into one collection per sensor`,
      );
    }
  }
}

/** The one item of a document (an Item, or an ItemCollection holding exactly one). */
async function singleItem(location: string): Promise<StacItem> {
  const { items } = await loadStacDocument(location);
  if (items.length !== 1) {
    throw new Error(
      `${displayLocation(location)}: an ItemCollection of ${items.length} items (${items
        .slice(0, 5)
        .map((i) => i.id)
        .join(
          ', ',
        )}${items.length > 5 ? ', ...' : ''}); one scene is read here: give one Item, or read the collection as a dataset (stac:<collection>)`,
    );
  }
  return items[0] as StacItem;
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

/** One GeoTIFF asset of an item: its location (path or URL), the band names of its samples, their scale/offset, and which of them an earlier asset already gave. */
export interface StacAssetFile {
  asset: string;
  file: string;
  bands: string[];
  scaling: Array<{ scale?: number; offset?: number; nodata?: number }>;
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
  const item = opts.item ?? (await singleItem(path));
  const sourceName = opts.item !== undefined ? `${displayLocation(path)} item ${item.id}` : displayLocation(path);
  const sensorOpts = {
    sourceName,
    ...(opts.assets !== undefined ? { assets: opts.assets } : {}),
    ...(opts.catalog !== undefined ? { catalog: opts.catalog } : {}),
  };
  const sensor = sensorFromStacItem(item, sensorOpts);
  // The item's own sensor, alone in a catalogue, names the bands of its files.
  const catalog = new SensorCatalog([sensor]);
  const taken = new Set<string>();
  const files: StacAssetFile[] = [];
  const skipped: string[] = [];
  for (const a of stacAssetBands(item, sensorOpts)) {
    if (a.bands.every((b) => taken.has(b))) continue;
    if (!isGeoTiff(a.href, a.type)) {
      skipped.push(`${a.asset} (${a.type ?? a.href})`);
      continue;
    }
    const file = assetLocation(a.href, a.asset, path);
    if (!isRemote(file)) {
      const info = await stat(localPathOf(file)).catch(() => undefined);
      if (info === undefined) throw new Error(`${sourceName}: asset '${a.asset}' file ${file} does not exist`);
    }
    // Remote assets are checked when opened (a 404 is an Error naming the URL).
    files.push({
      asset: a.asset,
      file,
      bands: [...a.bands],
      scaling: a.bands.map((_, i) => assetScaling(item, a.asset, i)),
      repeated: new Set(a.bands.filter((b) => taken.has(b))),
    });
    for (const b of a.bands) taken.add(b);
  }
  if (files.length === 0) {
    throw new Error(
      `${sourceName}: no GeoTIFF asset with band metadata to read${skipped.length > 0 ? ` (not GeoTIFF: ${skipped.join(', ')})` : ''}`,
    );
  }
  const time = itemTime(item, sourceName);
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
    const sample = await readGeoTiff(a.file, {
      sensor: sensor.id,
      catalog,
      bands: a.bands,
      bandMeta: a.scaling,
      // The item's own band metadata gives the units (raster:bands), as the windowed reader reads them: no MTL lookup.
      mtl: 'off',
      ...(opts.resolutionFactor !== undefined ? { resolutionFactor: opts.resolutionFactor } : {}),
    });
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
    source: opts.item !== undefined ? `${path}#${item.id}` : path,
    geo: { missingByBand, files: parts.map((p) => p.file) },
  };
  return placeSample(sample, time, finest.sample.geo);
}

/**
 * The STAC Items at a location: an Item, each Item of an ItemCollection (one
 * sensor), or the items of every .json of a local folder (sorted).
 */
export async function stacItemFiles(path: string, opts: StacItemReadOptions = {}): Promise<StacItemRef[]> {
  let docs: string[];
  if (isRemote(path)) docs = [path];
  else {
    const local = localPathOf(path);
    const info = await stat(local).catch(() => undefined);
    if (info === undefined) throw new Error(`${path}: no such file or folder`);
    if (info.isDirectory()) {
      const files = (await readdir(local)).filter((f) => /\.json$/i.test(f)).sort();
      if (files.length === 0) throw new Error(`${path}: no STAC Item .json files in this folder`);
      docs = files.map((f) => join(local, f));
    } else docs = [path];
  }
  const refs: StacItemRef[] = [];
  for (const doc of docs) {
    const { items, collection } = await loadStacDocument(doc);
    if (!collection) {
      refs.push({ location: doc });
      continue;
    }
    checkOneSensor(items, doc, opts);
    for (const item of items) refs.push({ location: doc, item });
  }
  return refs;
}

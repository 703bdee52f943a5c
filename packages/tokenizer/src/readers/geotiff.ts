// GeoTIFF readers: one multi-band file, or one file per band, -> Sample. Bands
// keep their stored dtype and native grid (no conversion, no resampling); the
// band metadata (wavelength/width or channel kind) comes from the catalogue,
// the GSD from the file's georeferencing (pixel size in metres).

import type { AcquisitionTime, BandRaster, BandSpec, RasterArray, Sample, Sensor } from '../types.js';
import type { SensorCatalog } from '../sensors/index.js';
import { timeFromName } from './acquisition-time.js';
import { builtinCatalog } from '../sensors/index.js';
import {
  bandNameFromFileName,
  bandPhysics,
  resolveBandFor,
  sceneIdFromFileName,
  sensorFromBandNames,
  sensorFromName,
  stem,
} from './band-naming.js';
import { bboxMaxDifference, formatBBox, type BBox, type CrsInfo } from './geo-transform.js';
import { countMissing, decodeGeoTiffFile, type DecodedGeoTiff } from './geotiff-file.js';
import { resampleBand } from '../resample.js';
import type { GdalBandMetadata } from './gdal-metadata.js';
import { givenScaling, level1Calibration, type Level1Calibration, type Level1Radiometry } from './landsat-level1.js';
import { calibrateBand } from './landsat-toa.js';

/** Where a sample lies and what it is missing: the side information readers report with a Sample. */
export interface SampleGeo {
  /** Footprint in CRS units (of the finest band when bands differ by half a pixel or less). */
  bbox?: BBox;
  crs?: CrsInfo;
  /** Per band name: values that are NaN or equal to nodata (they become missing atoms). */
  missingByBand: Record<string, number>;
  /** The file(s) read. */
  files: string[];
  /** Set when a Landsat Level-1 MTL converted the bands to physical units (landsat-level1.ts). */
  radiometry?: Level1Radiometry;
}

/** A Sample plus its georeferencing; assignable to Sample. */
export type GeoSample = Sample & { geo: SampleGeo };

export interface GeoTiffReadOptions {
  /** Catalogue sensor id or alias; inferred from the file name or band names when omitted. */
  sensor?: string;
  /** Band names in file order (catalogue names or aliases), overriding the file's band descriptions. */
  bands?: string[];
  catalog?: SensorCatalog;
  /** Sample id; default: the file name without extension. */
  id?: string;
  labels?: number[];
  time?: AcquisitionTime;
  /** Override scale/offset for every band (e.g. Landsat C2 SR 0.0000275 / -0.2). */
  scale?: number;
  offset?: number;
  /** false: a band holding NaN or nodata values is an Error. Default true (they are counted). */
  allowMissing?: boolean;
  /**
   * Read on a grid this fraction of the full resolution per axis (0 < f <= 1):
   * from the overview closest to, not coarser than, f (geotiff-source.ts),
   * area-averaged the rest of the way (resample.ts) unless the overview is
   * within a pixel of the wanted grid. Default 1 (full resolution).
   */
  resolutionFactor?: number;
  /**
   * Per band of the file (index i; for band files, per file): scale, offset and
   * nodata that override the file's and the options' (a STAC item's
   * raster:bands, a scene description's scale/offset). NaN nodata is ignored
   * (NaN values are missing anyway).
   */
  bandMeta?: Array<BandScaling | undefined>;
  /**
   * Landsat Level-1 MTL (landsat-level1.ts): undefined or 'auto' applies
   * `<scene id>_MTL.txt|json` beside the file when there is one, 'off' none,
   * a path that file: reflective bands in TOA reflectance, thermal bands in
   * brightness temperature (K).
   */
  mtl?: string;
}

export function pickSensor(
  catalog: SensorCatalog,
  opts: GeoTiffReadOptions,
  nameSource: string,
  bandNames: readonly string[],
  where: string,
): Sensor {
  if (opts.sensor !== undefined) return catalog.get(opts.sensor);
  const fromName = sensorFromName(nameSource, catalog);
  if (fromName !== undefined) return fromName;
  const { sensor, candidates } = sensorFromBandNames(bandNames, catalog);
  if (sensor !== undefined) return sensor;
  const why =
    candidates.length === 0
      ? `no catalogue sensor knows all of the bands ${bandNames.join(', ')}`
      : `bands ${bandNames.join(', ')} fit several sensors (${candidates.join(', ')})`;
  throw new Error(`${where}: cannot tell the sensor: ${why}; pass --sensor <id> (sensor option)`);
}

/** Scale, offset and nodata of one band overriding the file's: a STAC item's raster:bands, a scene description's. */
export interface BandScaling {
  scale?: number;
  offset?: number;
  nodata?: number;
}

/**
 * The scale and offset of one band (physical = stored * scale + offset): its
 * own override (`over`, per band), else the options' for every band, else the
 * file's GDAL metadata, else 1 and 0.
 */
export function bandScaling(
  over: BandScaling | undefined,
  opts: { scale?: number; offset?: number },
  meta: { scale?: number; offset?: number },
): { scale: number; offset: number } {
  return { scale: over?.scale ?? opts.scale ?? meta.scale ?? 1, offset: over?.offset ?? opts.offset ?? meta.offset ?? 0 };
}

export function makeBand(
  spec: BandSpec,
  sensor: Sensor,
  values: RasterArray,
  width: number,
  height: number,
  gsdM: number,
  scale: number,
  offset: number,
  nodata: number | undefined,
): BandRaster {
  const band: BandRaster = { ...bandPhysics(spec), name: spec.name, sensor: sensor.id, gsdM, width, height, values, scale, offset };
  if (nodata !== undefined) band.nodata = nodata;
  return band;
}

/**
 * Band `i`'s values, scale, offset and nodata as read: calibrated by a Landsat
 * MTL when one applies (landsat-toa.ts), else stored with the override's, the
 * options' or the file's scale and offset (bandScaling).
 */
export function scaledValues(
  values: RasterArray,
  i: number,
  l1: Level1Calibration | undefined,
  over: BandScaling | undefined,
  opts: { scale?: number; offset?: number },
  meta: { scale?: number; offset?: number },
  fileNodata: number | undefined,
): { values: RasterArray; scale: number; offset: number; nodata: number | undefined } {
  const c = l1?.bands[i];
  if (c !== undefined) return calibrateBand(values, c);
  return { values, ...bandScaling(over, opts, meta), nodata: overriddenNodata(over, fileNodata) };
}

/** A band's nodata: its override unless absent or NaN (NaN values are missing anyway), else the file's. */
function overriddenNodata(over: BandScaling | undefined, file: number | undefined): number | undefined {
  return over?.nodata !== undefined && !Number.isNaN(over.nodata) ? over.nodata : file;
}

function checkMissing(missing: Record<string, number>, nodata: number | undefined, opts: GeoTiffReadOptions, where: string): void {
  if (opts.allowMissing !== false) return;
  for (const [band, n] of Object.entries(missing)) {
    if (n > 0) {
      throw new Error(
        `${where}: band ${band} has ${n} missing values (NaN${nodata !== undefined ? ` or nodata ${nodata}` : ''}); expected none (allowMissing: false)`,
      );
    }
  }
}

/** What band naming needs of a multi-band file: its path, band count and GDAL band metadata. */
export interface GeoTiffHeader {
  path: string;
  bandCount: number;
  metadata: GdalBandMetadata[];
}

/** Names of the bands of a multi-band file: options, else GDAL descriptions, else the file name for one band. */
function bandNamesOf(tiff: GeoTiffHeader, opts: GeoTiffReadOptions): string[] {
  const n = tiff.bandCount;
  if (opts.bands !== undefined) {
    if (opts.bands.length !== n) {
      throw new Error(`${tiff.path}: ${opts.bands.length} band names given (${opts.bands.join(', ')}) but the file has ${n} bands`);
    }
    return opts.bands;
  }
  const described = tiff.metadata.map((m) => m.description);
  if (described.every((d): d is string => d !== undefined)) return described;
  if (n === 1) {
    const fromFile = bandNameFromFileName(tiff.path);
    if (fromFile !== undefined) return [fromFile];
  }
  throw new Error(
    `${tiff.path}: ${n} band(s) without names (no GDAL band descriptions, no band suffix in the file name); give the sensor and the band names in file order (atomizer: --sensor <id> --bands B1,B2,B3 ...; dataset spec: ?sensor=<id>&bands=B1,B2,B3)`,
  );
}

/** The sensor and the catalogue band of each band of a multi-band file, from its header (as readGeoTiff names them). */
export function geoTiffBandSpecs(tiff: GeoTiffHeader, opts: GeoTiffReadOptions): { sensor: Sensor; specs: BandSpec[]; names: string[] } {
  const catalog = opts.catalog ?? builtinCatalog();
  const path = tiff.path;
  const names = bandNamesOf(tiff, opts);
  const sensor = pickSensor(catalog, opts, path, names, path);
  const specs = names.map((n) => resolveBandFor(catalog, sensor, n, path));
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new Error(`${path}: band ${s.name} appears twice (names: ${names.join(', ')})`);
    seen.add(s.name);
  }
  return { sensor, specs, names };
}

/** Read one (multi-band) GeoTIFF as a Sample. */
export async function readGeoTiff(path: string, opts: GeoTiffReadOptions = {}): Promise<GeoSample> {
  const tiff = await decodeGeoTiffFile(path, opts.resolutionFactor !== undefined ? { resolutionFactor: opts.resolutionFactor } : {});
  const { sensor, specs, names } = geoTiffBandSpecs({ path, bandCount: tiff.bands.length, metadata: tiff.metadata }, opts);
  const l1 = await level1Calibration({
    files: specs.map(() => path),
    rawNames: names,
    names: specs.map((s) => s.name),
    given: specs.map((_, i) => givenScaling(opts.bandMeta?.[i], opts, tiff.metadata[i] ?? {})),
    ...(opts.mtl !== undefined ? { mtl: opts.mtl } : {}),
  });
  const missingByBand: Record<string, number> = {};
  const bands = specs.map((spec, i) => {
    const over = opts.bandMeta?.[i];
    const r = scaledValues(tiff.bands[i] as RasterArray, i, l1, over, opts, tiff.metadata[i] ?? {}, tiff.nodata);
    missingByBand[spec.name] = countMissing(r.values, r.nodata);
    return makeBand(spec, sensor, r.values, tiff.width, tiff.height, tiff.geo?.gsdM ?? spec.gsdM, r.scale, r.offset, r.nodata);
  });
  const target = targetGrid(tiff, opts.resolutionFactor);
  if (target !== undefined) {
    bands.forEach((b, i) => {
      const r = resampleBand(b, target.width, target.height);
      bands[i] = r;
      missingByBand[r.name] = countMissing(r.values, undefined);
    });
  }
  checkMissing(missingByBand, tiff.nodata, opts, path);
  const sample: GeoSample = {
    id: opts.id ?? stem(path.replace(/[?#].*$/, '')),
    bands,
    labels: opts.labels ?? [],
    source: path,
    geo: { missingByBand, files: [path], ...(l1 !== undefined ? { radiometry: l1.radiometry } : {}) },
  };
  return placeSample(sample, opts.time ?? timeFromName(path), tiff.geo);
}

/** The grid a resolution factor asks for, when the image read (full or overview) is more than a pixel finer; else undefined. */
function targetGrid(tiff: DecodedGeoTiff, factor: number | undefined): { width: number; height: number } | undefined {
  if (factor === undefined || factor >= 1) return undefined;
  const scale = tiff.overview?.scale ?? { x: 1, y: 1 };
  const fullW = tiff.width / scale.x;
  const fullH = tiff.height / scale.y;
  const width = Math.max(1, Math.round(fullW * factor));
  const height = Math.max(1, Math.round(fullH * factor));
  return tiff.width - width > 1 || tiff.height - height > 1 ? { width, height } : undefined;
}

/** Give a sample read from files its acquisition time and footprint (bbox, CRS), where known. */
export function placeSample(
  sample: GeoSample,
  time: AcquisitionTime | undefined,
  geo: { bbox?: BBox; crs?: CrsInfo } | undefined,
): GeoSample {
  if (time !== undefined) sample.time = time;
  if (geo?.bbox !== undefined) sample.geo.bbox = geo.bbox;
  if (geo?.crs !== undefined) sample.geo.crs = geo.crs;
  return sample;
}

export type BandFilesOptions = Omit<GeoTiffReadOptions, 'bands'> & {
  /** Band name per path, overriding the file-name suffix. */
  bands?: string[];
};

/**
 * The sensor and catalogue band of each band file (named by its file-name
 * suffix or `opts.bands`), and the order of the files in the sensor's band order.
 */
export function bandFileSpecs(
  paths: readonly string[],
  opts: BandFilesOptions = {},
): { sensor: Sensor; specs: BandSpec[]; order: number[]; names: string[] } {
  if (paths.length === 0) throw new Error('readBandFiles: no band files given');
  const catalog = opts.catalog ?? builtinCatalog();
  const first = paths[0] as string;
  if (opts.bands !== undefined && opts.bands.length !== paths.length) {
    throw new Error(`readBandFiles: ${opts.bands.length} band names for ${paths.length} files (${paths.join(', ')})`);
  }
  const names = paths.map((p, i) => {
    const n = opts.bands?.[i] ?? bandNameFromFileName(p);
    if (n === undefined) {
      throw new Error(
        `${p}: cannot tell the band from the file name; expected a suffix like _B04.tif, _B8A.tif or _VV.tif (or pass band names)`,
      );
    }
    return n;
  });
  const sensor = pickSensor(catalog, opts, first, names, paths.length === 1 ? first : `band files ${stem(first)}...`);
  const specs = names.map((n, i) => resolveBandFor(catalog, sensor, n, paths[i] as string));
  const byName = new Map<string, number>();
  specs.forEach((s, i) => {
    const prev = byName.get(s.name);
    if (prev !== undefined) throw new Error(`${paths[i]}: band ${s.name} is also given by ${paths[prev]}; expected one file per band`);
    byName.set(s.name, i);
  });
  const order = sensor.bands.map((b) => byName.get(b.name)).filter((i): i is number => i !== undefined);
  return { sensor, specs, order, names };
}

/**
 * Read one sample stored as one single-band file per band. The band is named
 * by the file-name suffix (`_B04.tif`, `sr_b4_...tif`, `_VV.tif`). All files
 * must cover the same footprint: bounding boxes equal within half a pixel of
 * the coarsest band, else an Error names the two files and their bounds.
 */
export async function readBandFiles(paths: readonly string[], opts: BandFilesOptions = {}): Promise<GeoSample> {
  const first = paths[0] as string;
  const { sensor, specs, order, names } = bandFileSpecs(paths, opts);
  const factorOpt = opts.resolutionFactor !== undefined ? { resolutionFactor: opts.resolutionFactor } : {};
  const tiffs = await Promise.all(paths.map((p) => decodeGeoTiffFile(p, factorOpt)));
  for (const t of tiffs) {
    if (t.bands.length !== 1) throw new Error(`${t.path}: ${t.bands.length} bands in a band file; expected exactly 1`);
  }
  checkSameFootprint(tiffs);
  const l1 = await level1Calibration({
    files: paths,
    rawNames: names,
    names: specs.map((s) => s.name),
    given: tiffs.map((t, i) => givenScaling(opts.bandMeta?.[i], opts, t.metadata[0] ?? {})),
    ...(opts.mtl !== undefined ? { mtl: opts.mtl } : {}),
  });

  const missingByBand: Record<string, number> = {};
  const bands = order.map((i) => {
    const t = tiffs[i] as DecodedGeoTiff;
    const spec = specs[i] as BandSpec;
    const v = scaledValues(t.bands[0] as RasterArray, i, l1, opts.bandMeta?.[i], opts, t.metadata[0] ?? {}, t.nodata);
    missingByBand[spec.name] = countMissing(v.values, v.nodata);
    const band = makeBand(spec, sensor, v.values, t.width, t.height, t.geo?.gsdM ?? spec.gsdM, v.scale, v.offset, v.nodata);
    const target = targetGrid(t, opts.resolutionFactor);
    if (target === undefined) return band;
    const r = resampleBand(band, target.width, target.height);
    missingByBand[spec.name] = countMissing(r.values, undefined);
    return r;
  });
  checkMissing(missingByBand, tiffs[0]?.nodata, opts, `band files ${stem(first)}...`);
  const finest = tiffs.reduce((a, b) => (b.geo !== undefined && (a.geo === undefined || b.geo.gsdM < a.geo.gsdM) ? b : a));
  const sample: GeoSample = {
    id: opts.id ?? bandFilesId(paths, names),
    bands,
    labels: opts.labels ?? [],
    source: paths.length === 1 ? first : `${first} (+${paths.length - 1} band files)`,
    geo: { missingByBand, files: [...paths], ...(l1 !== undefined ? { radiometry: l1.radiometry } : {}) },
  };
  return placeSample(sample, opts.time ?? timeFromName(first), finest.geo);
}

/**
 * The sample id of band files: their shared scene name (file name without the
 * band token) when they agree, else the longest common run of leading `_` tokens.
 */
function bandFilesId(paths: readonly string[], names: readonly string[]): string {
  const ids = new Set(paths.map((p, i) => sceneIdFromFileName(p, names[i] as string)));
  if (ids.size === 1) return [...ids][0] as string;
  const split = paths.map((p) => stem(p).split('_'));
  const first = split[0] ?? [];
  const maxK = Math.min(...split.map((t) => t.length - 1));
  let k = 0;
  while (k < maxK && split.every((t) => t[k] === first[k])) k++;
  return k === 0 ? stem(paths[0] as string) : first.slice(0, k).join('_');
}

/** What checkSameFootprint compares of a raster file (a DecodedGeoTiff is one). */
export interface Footprint {
  path: string;
  geo?: { bbox: BBox; crs: CrsInfo; transform: { pixelWidth: number; pixelHeight: number } };
}

/** All band files georeferenced, in one CRS, with bounds equal within half a pixel of the coarsest band. */
export function checkSameFootprint(tiffs: readonly Footprint[]): void {
  const ref = tiffs[0];
  if (ref === undefined) return;
  const geos = tiffs.map((t) => t.geo);
  if (geos.every((g) => g === undefined)) return;
  let coarsest = 0;
  for (const t of tiffs) {
    if (t.geo === undefined)
      throw new Error(`${t.path}: no georeferencing, but ${ref.path} has some; band files of one sample must all be georeferenced`);
    coarsest = Math.max(coarsest, Math.abs(t.geo.transform.pixelWidth), Math.abs(t.geo.transform.pixelHeight));
  }
  const refGeo = ref.geo!;
  const tolerance = coarsest / 2;
  for (const t of tiffs.slice(1)) {
    const g = t.geo!;
    if (g.crs.epsg !== refGeo.crs.epsg) {
      throw new Error(
        `${t.path}: CRS EPSG:${g.crs.epsg ?? '?'} differs from EPSG:${refGeo.crs.epsg ?? '?'} of ${ref.path}; band files of one sample must share a CRS`,
      );
    }
    const diff = bboxMaxDifference(g.bbox, refGeo.bbox);
    if (diff > tolerance) {
      throw new Error(
        `Band files do not cover the same footprint: ${ref.path} has bounds ${formatBBox(refGeo.bbox)} but ${t.path} has bounds ${formatBBox(g.bbox)} ` +
          `(edges differ by ${diff}, more than half a pixel of the coarsest band, ${tolerance})`,
      );
    }
  }
}

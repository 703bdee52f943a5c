// Decoding one GeoTIFF: every band in its stored dtype, the georeferencing,
// nodata and GDAL band metadata. The file is a local path or a remote URL
// (http(s)://, s3://) read by byte ranges through geotiff-source.ts; the whole
// image (or the overview a coarser resolution factor picks) is decoded into
// memory (the rasters we read whole are patches and small scenes; scenes are
// read a window at a time by geotiff-window.ts).

import { inflateSync } from 'node:zlib';
import { BaseDecoder, addDecoder, fromArrayBuffer, type GeoTIFFImage } from 'geotiff';
import type { DType, RasterArray } from '../types.js';
import { parseGdalMetadata, type GdalBandMetadata } from './gdal-metadata.js';
import { openGeoTiffSource, type GeoTiffOpenOptions } from './geotiff-source.js';
import { openRasterSource } from './raster-source.js';
import { isRemote } from './remote-location.js';
import { gsdFromPixelSize, pixelSizeMetres, transformBBox, type BBox, type CrsInfo, type GeoTransform } from './geo-transform.js';

/** Georeferencing of one raster grid. */
export interface RasterGeo {
  transform: GeoTransform;
  crs: CrsInfo;
  /** Footprint in CRS units. */
  bbox: BBox;
  /** Pixel size in metres along x and y (converted from degrees for geographic CRS). */
  pixelSizeM: { x: number; y: number };
  /** One GSD for the grid: sqrt(x * y) of the pixel size in metres. */
  gsdM: number;
}

export interface DecodedGeoTiff {
  path: string;
  width: number;
  height: number;
  dtype: DType;
  /** One array per band, row-major, in the stored dtype. */
  bands: RasterArray[];
  /** GDAL_NODATA, when the file declares one. */
  nodata?: number;
  /** Per band: GDAL description, scale, offset (empty objects when absent). */
  metadata: GdalBandMetadata[];
  /** Undefined when the file carries no affine georeferencing. */
  geo?: RasterGeo;
  /** Set when an overview was read instead of the full resolution: its IFD index and its grid over the full grid. */
  overview?: OverviewInfo;
}

export interface OverviewInfo {
  index: number;
  scale: { x: number; y: number };
}

/**
 * Deflate through Node's native zlib instead of geotiff's bundled pako: on
 * sen2.tif (237 one-row deflate strips) pako's per-strip setup made decoding
 * take ~0.5-1.5 s; zlib does it in a few tens of ms. BaseDecoder.decode still
 * applies the TIFF predictor after decodeBlock. Registered once, process-wide,
 * for compression 8 (Adobe deflate) and 32946 (old deflate).
 */
class NodeInflateDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const out = inflateSync(new Uint8Array(buffer));
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}
addDecoder([8, 32946], () => Promise.resolve(NodeInflateDecoder));

const TIFF_MAGIC = new Set(['II*\0', 'MM\0*', 'II+\0', 'MM\0+']);

export function invalid(path: string, why: string): Error {
  return new Error(`${path}: not a valid or complete GeoTIFF (${why})`);
}

/** The stored dtype of an image's samples; unsupported formats are an Error naming the file. */
export function imageDType(image: GeoTIFFImage, path: string): DType {
  const format = image.getSampleFormat(0);
  const bits = image.getBitsPerSample(0);
  const table: Record<string, DType> = {
    '1:8': 'uint8',
    '1:16': 'uint16',
    '1:32': 'uint32',
    '2:8': 'int8',
    '2:16': 'int16',
    '2:32': 'int32',
    '3:32': 'float32',
    '3:64': 'float64',
  };
  const dtype = table[`${format}:${bits}`];
  if (dtype === undefined) {
    throw new Error(
      `${path}: unsupported sample format ${format} with ${bits} bits per sample; expected 8/16/32-bit integers or 32/64-bit floats`,
    );
  }
  return dtype;
}

function numbers(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return [v];
  if (ArrayBuffer.isView(v) || Array.isArray(v)) return Array.from(v as ArrayLike<number>, Number);
  return undefined;
}

/**
 * Offsets and byte counts of every strip or tile must lie inside the file: a
 * truncated download otherwise decodes as silent zeros in its missing part.
 */
export async function checkComplete(image: GeoTIFFImage, fileSize: number, path: string): Promise<void> {
  const fd = image.getFileDirectory();
  const tiled = fd.hasTag('TileOffsets');
  const offsets = numbers(await fd.loadValue(tiled ? 'TileOffsets' : 'StripOffsets'));
  const counts = numbers(await fd.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts'));
  if (offsets === undefined || counts === undefined || offsets.length !== counts.length) {
    throw invalid(path, 'missing or inconsistent strip/tile offsets');
  }
  for (let i = 0; i < offsets.length; i++) {
    const end = (offsets[i] as number) + (counts[i] as number);
    if (end > fileSize) {
      throw invalid(path, `data block ${i} ends at byte ${end} but the file has ${fileSize} bytes: truncated`);
    }
  }
}

export function crsOf(image: GeoTIFFImage): CrsInfo {
  const keys = (image.getGeoKeys() ?? {}) as Record<string, unknown>;
  const geographic = keys.GTModelTypeGeoKey === 2;
  const projected = keys.ProjectedCSTypeGeoKey;
  const geog = keys.GeographicTypeGeoKey;
  // 32767 means "user-defined" in GeoTIFF: no EPSG code.
  const pick = (v: unknown) => (typeof v === 'number' && v > 0 && v !== 32767 ? v : undefined);
  const epsg = geographic ? pick(geog) : (pick(projected) ?? undefined);
  const name =
    typeof keys.GTCitationGeoKey === 'string'
      ? keys.GTCitationGeoKey
      : typeof keys.GeogCitationGeoKey === 'string'
        ? keys.GeogCitationGeoKey
        : undefined;
  const crs: CrsInfo = { geographic };
  if (epsg !== undefined) crs.epsg = epsg;
  if (name !== undefined) crs.name = name;
  return crs;
}

/**
 * Geotransform from ModelTransformation, or from ModelTiepoint + ModelPixelScale
 * (honouring the tiepoint's raster position, which geotiff.js's getOrigin ignores).
 * PixelIsPoint rasters (GTRasterTypeGeoKey = 2) tie the pixel CENTRE to the
 * point, so the corner origin is shifted by half a pixel, as GDAL does by default.
 */
export function transformOf(image: GeoTIFFImage, path: string): GeoTransform | undefined {
  const fd = image.getFileDirectory();
  const mt = numbers(fd.getValue('ModelTransformation'));
  let t: GeoTransform | undefined;
  if (mt !== undefined && mt.length >= 16) {
    const [a, b, , d, e, f, , h] = mt as [number, number, number, number, number, number, number, number];
    if (b !== 0 || e !== 0) {
      throw new Error(
        `${path}: rotated georeferencing (ModelTransformation with rotation terms) is not supported; expected a north-up raster`,
      );
    }
    t = { originX: d, originY: h, pixelWidth: a, pixelHeight: f };
  } else {
    const tie = numbers(fd.getValue('ModelTiepoint'));
    const scale = numbers(fd.getValue('ModelPixelScale'));
    if (tie === undefined || scale === undefined || tie.length < 6 || scale.length < 2) return undefined;
    const [i, j, , x, y] = tie as [number, number, number, number, number];
    const [sx, sy] = scale as [number, number];
    t = { originX: x - i * sx, originY: y + j * sy, pixelWidth: sx, pixelHeight: -sy };
  }
  const keys = (image.getGeoKeys() ?? {}) as Record<string, unknown>;
  if (keys.GTRasterTypeGeoKey === 2) {
    t = { ...t, originX: t.originX - t.pixelWidth / 2, originY: t.originY - t.pixelHeight / 2 };
  }
  if (!(Math.abs(t.pixelWidth) > 0) || !(Math.abs(t.pixelHeight) > 0)) {
    throw new Error(`${path}: georeferencing has a zero or invalid pixel size (${t.pixelWidth} x ${t.pixelHeight})`);
  }
  return t;
}

/** Georeferencing of a width x height grid (see RasterGeo). */
export function rasterGeo(transform: GeoTransform, crs: CrsInfo, width: number, height: number): RasterGeo {
  const pixelSizeM = pixelSizeMetres(transform, crs, width, height);
  return { transform, crs, bbox: transformBBox(transform, width, height), pixelSizeM, gsdM: gsdFromPixelSize(pixelSizeM) };
}

/** Decode a GeoTIFF held in memory; `path` names it in errors. */
/**
 * The decoded GeoTIFF of `rasters` (`size`: the image read, the full one or an overview):
 * dtype, GDAL band metadata, nodata and georeferencing from the full-resolution image
 * `full`, the geotransform scaled to an overview's grid. `name` labels errors.
 */
async function decodedOf(
  full: GeoTIFFImage,
  size: { width: number; height: number },
  rasters: RasterArray[],
  path: string,
  name: string,
  scale?: { x: number; y: number },
): Promise<DecodedGeoTiff> {
  const { width, height } = size;
  const fd = full.getFileDirectory();
  const xml = fd.hasTag('GDAL_METADATA') ? await fd.loadValue('GDAL_METADATA') : undefined;
  const metadata = typeof xml === 'string' ? parseGdalMetadata(xml, rasters.length, name) : rasters.map(() => ({}));
  const out: DecodedGeoTiff = { path, width, height, dtype: imageDType(full, name), bands: rasters, metadata };
  const nodata = full.getGDALNoData();
  // NaN as GDAL_NODATA needs no field: NaN values are missing atoms anyway.
  if (nodata !== null && !Number.isNaN(nodata)) out.nodata = nodata;
  const transform = transformOf(full, name);
  if (transform !== undefined)
    out.geo = rasterGeo(scale === undefined ? transform : scaleTransform(transform, scale), crsOf(full), width, height);
  return out;
}

export async function decodeGeoTiffBytes(bytes: Uint8Array, path: string): Promise<DecodedGeoTiff> {
  if (bytes.length < 8) throw invalid(path, `only ${bytes.length} bytes`);
  const magic = String.fromCharCode(bytes[0] as number, bytes[1] as number, bytes[2] as number, bytes[3] as number);
  if (!TIFF_MAGIC.has(magic)) throw invalid(path, 'no TIFF header: the file does not start with II*/MM*');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let image: GeoTIFFImage;
  let rasters: RasterArray[];
  try {
    const tiff = await fromArrayBuffer(buffer);
    // Image 0 is the full-resolution raster; further images are overviews.
    image = await tiff.getImage(0);
    await checkComplete(image, bytes.length, path);
    rasters = Array.from(await image.readRasters({ interleave: false }));
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(path)) throw err;
    throw invalid(path, err instanceof Error ? err.message : String(err));
  }
  return decodedOf(image, { width: image.getWidth(), height: image.getHeight() }, rasters, path, path);
}

/** The full image's geotransform brought to an overview's grid (same origin, pixels 1/scale as large). */
export function scaleTransform(t: GeoTransform, scale: { x: number; y: number }): GeoTransform {
  return { ...t, pixelWidth: t.pixelWidth / scale.x, pixelHeight: t.pixelHeight / scale.y };
}

/**
 * Read and decode one GeoTIFF: a local path, file://, http(s):// or s3:// URL.
 * With a resolution factor < 1 the overview geotiff-source.ts's rule picks is
 * read (see `overview` in the result), else the full resolution.
 */
export async function decodeGeoTiffFile(path: string, opts: GeoTiffOpenOptions = {}): Promise<DecodedGeoTiff> {
  if (!isRemote(path) && (opts.resolutionFactor ?? 1) >= 1) {
    // Every byte of a local file is decoded: read it at once and parse it in memory
    // (geotiff.js's per-strip source reads cost ~40% more on BigEarthNet's small band files).
    const source = await openRasterSource(path, { wholeFile: true });
    return decodeGeoTiffBytes(await source.read(0, source.size), path);
  }
  const opened = await openGeoTiffSource(path, opts);
  const { image, full, name } = opened;
  let rasters: RasterArray[];
  try {
    await checkComplete(image, opened.source.size, name);
    rasters = Array.from((await image.readRasters({ interleave: false })) as unknown as RasterArray[]);
  } catch (err) {
    await opened.close().catch(() => undefined);
    if (err instanceof Error && err.message.startsWith(name)) throw err;
    throw invalid(name, err instanceof Error ? err.message : String(err));
  }
  try {
    const out = await decodedOf(full, { width: image.getWidth(), height: image.getHeight() }, rasters, path, name, opened.scale);
    if (opened.index !== 0) out.overview = { index: opened.index, scale: opened.scale };
    return out;
  } finally {
    await opened.close().catch(() => undefined);
  }
}

/** Number of missing values (NaN or equal to nodata) in a band. */
export function countMissing(values: RasterArray, nodata: number | undefined): number {
  let n = 0;
  if (values instanceof Float32Array || values instanceof Float64Array) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v !== v || v === nodata) n++;
    }
  } else if (nodata !== undefined) {
    for (let i = 0; i < values.length; i++) if (values[i] === nodata) n++;
  }
  return n;
}

// The pieces of a little-endian tiled (Geo)TIFF: tile encoding, IFD entries
// and IFD serialisation, and a nearest-neighbour 2x reduction for overviews.
// Shared by the streaming COG writer (cog-writer.ts) and the test helper that
// re-encodes real rasters as COGs (test/tiled-tiff.ts).
//
// Specs followed:
// - TIFF 6.0 (Adobe, 1992), Section 2 "TIFF Structure": 8-byte header, IFD =
//   count + 12-byte entries sorted by tag + next-IFD offset; values over 4 bytes
//   stored elsewhere, starting on a word (even) boundary.
// - TIFF 6.0 Section 8 "Baseline Fields": NewSubfileType bit 0 = reduced
//   resolution image; PlanarConfiguration 1 (chunky) / 2 (planar); ExtraSamples.
// - TIFF 6.0 Section 15 "Tiled Images": TileWidth/TileLength multiples of 16;
//   edge tiles padded to full size; tiles ordered left-to-right, top-to-bottom,
//   and with PlanarConfiguration 2 all tiles of sample 0 first, then sample 1...
// - TIFF 6.0 Section 19 "Data Sample Format": SampleFormat 1 uint, 2 int, 3 float.
// - Deflate (Compression 8): zlib stream per tile (Adobe TIFF Technical Note 2).
// - GeoTIFF tags (OGC 19-008) and GDAL's private GDAL_METADATA (42112) /
//   GDAL_NODATA (42113) ASCII tags; overviews carry no georeferencing (a
//   reader derives it from the full-resolution image) but do carry nodata.

import { deflateSync } from 'node:zlib';
import { allocRaster } from '../raster-dtype.js';
import type { DType, RasterArray } from '../types.js';

/** Georeferencing and GDAL tags of a GeoTIFF, as stored (ASCII without the trailing NUL). */
export interface GeoTags {
  modelPixelScale?: number[];
  modelTiepoint?: number[];
  modelTransformation?: number[];
  geoKeyDirectory?: number[];
  geoDoubleParams?: number[];
  geoAsciiParams?: string;
  gdalNodata?: string;
  gdalMetadata?: string;
}

/** A raster in pixel-interleaved order: data[(y * width + x) * samplesPerPixel + s]. */
export interface InterleavedRaster {
  data: RasterArray;
  width: number;
  height: number;
  samplesPerPixel: number;
  dtype: DType;
}

export type TiffCompression = 'none' | 'deflate';

export const DTYPE_FORMAT: Readonly<Record<DType, { bytes: number; sampleFormat: number }>> = {
  uint8: { bytes: 1, sampleFormat: 1 },
  uint16: { bytes: 2, sampleFormat: 1 },
  uint32: { bytes: 4, sampleFormat: 1 },
  int8: { bytes: 1, sampleFormat: 2 },
  int16: { bytes: 2, sampleFormat: 2 },
  int32: { bytes: 4, sampleFormat: 2 },
  float32: { bytes: 4, sampleFormat: 3 },
  float64: { bytes: 8, sampleFormat: 3 },
};

/** A little-endian sample writer for one dtype (TIFF "II" byte order applies to image data too). */
function sampleSetter(dtype: DType): (view: DataView, at: number, v: number) => void {
  switch (dtype) {
    case 'uint8':
      return (d, at, v) => d.setUint8(at, v);
    case 'int8':
      return (d, at, v) => d.setInt8(at, v);
    case 'uint16':
      return (d, at, v) => d.setUint16(at, v, true);
    case 'int16':
      return (d, at, v) => d.setInt16(at, v, true);
    case 'uint32':
      return (d, at, v) => d.setUint32(at, v, true);
    case 'int32':
      return (d, at, v) => d.setInt32(at, v, true);
    case 'float32':
      return (d, at, v) => d.setFloat32(at, v, true);
    case 'float64':
      return (d, at, v) => d.setFloat64(at, v, true);
  }
}

/** Check a tile side: a positive multiple of 16 (TIFF 6.0 Section 15). */
export function checkTileSize(tile: number): void {
  if (!Number.isInteger(tile) || tile <= 0 || tile % 16 !== 0)
    throw new Error(`tile size ${tile}: expected a positive multiple of 16 (TIFF 6.0 Section 15)`);
}

/**
 * One tile (tile x tile pixels, full size: edge tiles zero-padded right and
 * below the image) of plane `plane` (planar 2) or of every sample (planar 1),
 * optionally deflated.
 */
export function encodeTile(
  r: InterleavedRaster,
  tile: number,
  tx: number,
  ty: number,
  planar: 1 | 2,
  plane: number,
  compression: TiffCompression,
): Uint8Array {
  const { bytes: bps } = DTYPE_FORMAT[r.dtype];
  const set = sampleSetter(r.dtype);
  const spp = r.samplesPerPixel;
  const perPixel = planar === 1 ? spp : 1;
  const buf = new Uint8Array(tile * tile * perPixel * bps);
  const view = new DataView(buf.buffer);
  const rows = Math.min(tile, r.height - ty * tile);
  const cols = Math.min(tile, r.width - tx * tile);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const src = ((ty * tile + y) * r.width + tx * tile + x) * spp;
      const dst = (y * tile + x) * perPixel;
      for (let k = 0; k < perPixel; k++) set(view, (dst + k) * bps, r.data[src + (planar === 1 ? k : plane)] as number);
    }
  }
  return compression === 'deflate' ? new Uint8Array(deflateSync(buf)) : buf;
}

/** Every tile of one image, in TileOffsets order (TIFF 6.0 Section 15). */
export function encodeTiles(r: InterleavedRaster, tile: number, planar: 1 | 2, compression: TiffCompression): Uint8Array[] {
  const across = Math.ceil(r.width / tile);
  const down = Math.ceil(r.height / tile);
  const planes = planar === 1 ? 1 : r.samplesPerPixel;
  const tiles: Uint8Array[] = [];
  for (let plane = 0; plane < planes; plane++) {
    for (let ty = 0; ty < down; ty++)
      for (let tx = 0; tx < across; tx++) tiles.push(encodeTile(r, tile, tx, ty, planar, plane, compression));
  }
  return tiles;
}

/** Every other pixel and row (nearest-neighbour 2x reduction), ceil-sized: right for class maps (no new values). */
export function decimate2x(r: InterleavedRaster): InterleavedRaster {
  const width = Math.ceil(r.width / 2);
  const height = Math.ceil(r.height / 2);
  const spp = r.samplesPerPixel;
  const data = allocRaster(r.dtype, width * height * spp);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (2 * y * r.width + 2 * x) * spp;
      const dst = (y * width + x) * spp;
      for (let s = 0; s < spp; s++) data[dst + s] = r.data[src + s] as number;
    }
  }
  return { data, width, height, samplesPerPixel: spp, dtype: r.dtype };
}

// TIFF field types (TIFF 6.0 Section 2): code and size in bytes.
const TYPES = { ASCII: [2, 1], SHORT: [3, 2], LONG: [4, 4], DOUBLE: [12, 8] } as const;
type FieldType = keyof typeof TYPES;

export interface IfdEntry {
  tag: number;
  type: FieldType;
  values: readonly number[] | string;
}

function entryCount(e: IfdEntry): number {
  // ASCII counts include the terminating NUL.
  return typeof e.values === 'string' ? Buffer.byteLength(e.values, 'latin1') + 1 : e.values.length;
}

export const even = (n: number): number => n + (n & 1);

function valueBytes(e: IfdEntry): number {
  return entryCount(e) * TYPES[e.type][1];
}

/** Bytes an IFD takes with its out-of-line values. */
export function ifdSize(entries: readonly IfdEntry[]): number {
  let n = 2 + 12 * entries.length + 4;
  for (const e of entries) if (valueBytes(e) > 4) n += even(valueBytes(e));
  return n;
}

function writeValues(view: DataView, at: number, e: IfdEntry): void {
  if (typeof e.values === 'string') {
    for (let i = 0; i < e.values.length; i++) view.setUint8(at + i, e.values.charCodeAt(i) & 0xff);
    view.setUint8(at + e.values.length, 0);
    return;
  }
  const size = TYPES[e.type][1];
  e.values.forEach((v, i) => {
    if (e.type === 'SHORT') view.setUint16(at + i * size, v, true);
    else if (e.type === 'LONG') view.setUint32(at + i * size, v, true);
    else view.setFloat64(at + i * size, v, true);
  });
}

/** Write one IFD at `at`, its out-of-line values right after its entries (ifdSize bytes in all). */
export function writeIfd(view: DataView, at: number, entries: readonly IfdEntry[], nextIfd: number): void {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  view.setUint16(at, sorted.length, true);
  let extra = at + 2 + 12 * sorted.length + 4;
  sorted.forEach((e, i) => {
    const p = at + 2 + 12 * i;
    view.setUint16(p, e.tag, true);
    view.setUint16(p + 2, TYPES[e.type][0], true);
    view.setUint32(p + 4, entryCount(e), true);
    if (valueBytes(e) <= 4) {
      writeValues(view, p + 8, e); // left-justified in the offset field
    } else {
      view.setUint32(p + 8, extra, true);
      writeValues(view, extra, e);
      extra += even(valueBytes(e));
    }
  });
  view.setUint32(at + 2 + 12 * sorted.length, nextIfd, true);
}

export interface ImageEntryOptions {
  width: number;
  height: number;
  samplesPerPixel: number;
  dtype: DType;
  tile: number;
  planar: 1 | 2;
  compression: TiffCompression;
  /** A reduced-resolution (overview) image: NewSubfileType 1, no georeferencing or GDAL_METADATA. */
  reduced: boolean;
  tileOffsets: readonly number[];
  tileByteCounts: readonly number[];
  geo: GeoTags;
}

/** The IFD entries of one tiled image. */
export function imageEntries(o: ImageEntryOptions): IfdEntry[] {
  const spp = o.samplesPerPixel;
  const { bytes, sampleFormat } = DTYPE_FORMAT[o.dtype];
  const entries: IfdEntry[] = [
    { tag: 254, type: 'LONG', values: [o.reduced ? 1 : 0] }, // NewSubfileType
    { tag: 256, type: 'LONG', values: [o.width] }, // ImageWidth
    { tag: 257, type: 'LONG', values: [o.height] }, // ImageLength
    { tag: 258, type: 'SHORT', values: new Array<number>(spp).fill(bytes * 8) }, // BitsPerSample
    { tag: 259, type: 'SHORT', values: [o.compression === 'deflate' ? 8 : 1] }, // Compression
    { tag: 262, type: 'SHORT', values: [1] }, // PhotometricInterpretation: BlackIsZero
    { tag: 277, type: 'SHORT', values: [spp] }, // SamplesPerPixel
    { tag: 284, type: 'SHORT', values: [o.planar] }, // PlanarConfiguration
    { tag: 322, type: 'LONG', values: [o.tile] }, // TileWidth
    { tag: 323, type: 'LONG', values: [o.tile] }, // TileLength
    { tag: 324, type: 'LONG', values: o.tileOffsets }, // TileOffsets
    { tag: 325, type: 'LONG', values: o.tileByteCounts }, // TileByteCounts
    { tag: 339, type: 'SHORT', values: new Array<number>(spp).fill(sampleFormat) }, // SampleFormat
  ];
  // BlackIsZero has one colour sample; the rest are unspecified extra samples.
  if (spp > 1) entries.push({ tag: 338, type: 'SHORT', values: new Array<number>(spp - 1).fill(0) });
  const geo = o.geo;
  if (!o.reduced) {
    if (geo.modelPixelScale) entries.push({ tag: 33550, type: 'DOUBLE', values: geo.modelPixelScale });
    if (geo.modelTiepoint) entries.push({ tag: 33922, type: 'DOUBLE', values: geo.modelTiepoint });
    if (geo.modelTransformation) entries.push({ tag: 34264, type: 'DOUBLE', values: geo.modelTransformation });
    if (geo.geoKeyDirectory) entries.push({ tag: 34735, type: 'SHORT', values: geo.geoKeyDirectory });
    if (geo.geoDoubleParams) entries.push({ tag: 34736, type: 'DOUBLE', values: geo.geoDoubleParams });
    if (geo.geoAsciiParams !== undefined) entries.push({ tag: 34737, type: 'ASCII', values: geo.geoAsciiParams });
    if (geo.gdalMetadata !== undefined) entries.push({ tag: 42112, type: 'ASCII', values: geo.gdalMetadata });
  }
  // GDAL writes the nodata tag on overviews too.
  if (geo.gdalNodata !== undefined) entries.push({ tag: 42113, type: 'ASCII', values: geo.gdalNodata });
  return entries;
}

// Test support: re-encode a real raster as a Cloud-Optimized GeoTIFF (tiled,
// one internal 2x overview), so reader tests can exercise the tiled code path
// that none of the stripped files in /work/shared/data takes. Test code only;
// the package does not export it.
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
// - COG (OGC 21-026 and GDAL's COG driver, "File format details"): full
//   resolution IFD first, overview IFDs after it, all IFDs at the start of the
//   file; then tile data, smallest overview first and full resolution last.
// - GeoTIFF tags (OGC 19-008) and GDAL's private GDAL_METADATA / GDAL_NODATA
//   tags are copied verbatim from the source file; overviews carry no
//   georeferencing (a reader derives it from the full-resolution image).

import { deflateSync } from 'node:zlib';
import { fromFile } from 'geotiff';
import { allocRaster, dtypeOf } from '../src/raster-dtype.js';
import type { DType, RasterArray } from '../src/types.js';

/** Georeferencing and GDAL tags of a source file, as stored (ASCII without the trailing NUL). */
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

export interface TiledTiffOptions {
  /** Tile width and length in pixels; a multiple of 16 (TIFF 6.0 Section 15). Default 64. */
  tileSize?: number;
  compression?: 'none' | 'deflate';
  /** 1: chunky (samples interleaved per pixel); 2: one plane per sample. Default 1. */
  planar?: 1 | 2;
  /** Add one 2x decimated reduced-resolution IFD. Default true. */
  overview?: boolean;
}

/** Where one image's tiles went, so tests can cut a file inside a known tile. */
export interface TiledImageLayout {
  width: number;
  height: number;
  tileOffsets: number[];
  tileByteCounts: number[];
}

export interface TiledTiff {
  bytes: Uint8Array;
  /** [full resolution, overview?] in IFD order. */
  images: TiledImageLayout[];
}

const DTYPE_FORMAT: Record<DType, { bytes: number; sampleFormat: number }> = {
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
    case 'uint8': return (d, at, v) => d.setUint8(at, v);
    case 'int8': return (d, at, v) => d.setInt8(at, v);
    case 'uint16': return (d, at, v) => d.setUint16(at, v, true);
    case 'int16': return (d, at, v) => d.setInt16(at, v, true);
    case 'uint32': return (d, at, v) => d.setUint32(at, v, true);
    case 'int32': return (d, at, v) => d.setInt32(at, v, true);
    case 'float32': return (d, at, v) => d.setFloat32(at, v, true);
    case 'float64': return (d, at, v) => d.setFloat64(at, v, true);
  }
}

function numberList(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return [v];
  if (ArrayBuffer.isView(v) || Array.isArray(v)) return Array.from(v as ArrayLike<number>, Number);
  return undefined;
}

const stripNul = (s: unknown): string | undefined => (typeof s === 'string' ? s.replace(/\0+$/, '') : undefined);

/**
 * Read a source GeoTIFF with the `geotiff` package (not the project's reader):
 * its full-resolution image pixel-interleaved in the stored dtype, and its
 * georeferencing and GDAL tags from the first IFD.
 */
export async function readSourceRaster(path: string): Promise<{ raster: InterleavedRaster; geo: GeoTags }> {
  const tiff = await fromFile(path);
  const image = await tiff.getImage(0);
  const fd = image.getFileDirectory();
  const load = async (tag: Parameters<typeof fd.hasTag>[0]): Promise<unknown> => (fd.hasTag(tag) ? fd.loadValue(tag) : undefined);
  const geo: GeoTags = {};
  const put = <K extends keyof GeoTags>(k: K, v: GeoTags[K] | undefined) => {
    if (v !== undefined) geo[k] = v;
  };
  put('modelPixelScale', numberList(await load('ModelPixelScale')));
  put('modelTiepoint', numberList(await load('ModelTiepoint')));
  put('modelTransformation', numberList(await load('ModelTransformation')));
  put('geoKeyDirectory', numberList(await load('GeoKeyDirectory')));
  put('geoDoubleParams', numberList(await load('GeoDoubleParams')));
  put('geoAsciiParams', stripNul(await load('GeoAsciiParams')));
  put('gdalNodata', stripNul(await load('GDAL_NODATA')));
  put('gdalMetadata', stripNul(await load('GDAL_METADATA')));
  const interleaved = (await image.readRasters({ interleave: true })) as unknown as RasterArray;
  const raster: InterleavedRaster = {
    data: interleaved,
    width: image.getWidth(),
    height: image.getHeight(),
    samplesPerPixel: image.getSamplesPerPixel(),
    dtype: dtypeOf(interleaved) ?? 'float64',
  };
  return { raster, geo };
}

/** Every other pixel and row (nearest-neighbour 2x reduction), ceil-sized. */
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

/** The (optionally deflated) tiles of one image, in TileOffsets order (TIFF 6.0 Section 15). */
function encodeTiles(r: InterleavedRaster, tile: number, planar: 1 | 2, compression: 'none' | 'deflate'): Uint8Array[] {
  const { bytes: bps } = DTYPE_FORMAT[r.dtype];
  const set = sampleSetter(r.dtype);
  const across = Math.ceil(r.width / tile);
  const down = Math.ceil(r.height / tile);
  const spp = r.samplesPerPixel;
  const planes = planar === 1 ? 1 : spp;
  const perPixel = planar === 1 ? spp : 1;
  const tiles: Uint8Array[] = [];
  for (let plane = 0; plane < planes; plane++) {
    for (let ty = 0; ty < down; ty++) {
      for (let tx = 0; tx < across; tx++) {
        // Full-size buffer: edge tiles keep zero padding right and below the image.
        const buf = new Uint8Array(tile * tile * perPixel * bps);
        const view = new DataView(buf.buffer);
        const rows = Math.min(tile, r.height - ty * tile);
        const cols = Math.min(tile, r.width - tx * tile);
        for (let y = 0; y < rows; y++) {
          for (let x = 0; x < cols; x++) {
            const src = ((ty * tile + y) * r.width + tx * tile + x) * spp;
            const dst = (y * tile + x) * perPixel;
            for (let k = 0; k < perPixel; k++) {
              const s = planar === 1 ? k : plane;
              set(view, (dst + k) * bps, r.data[src + s] as number);
            }
          }
        }
        tiles.push(compression === 'deflate' ? new Uint8Array(deflateSync(buf)) : buf);
      }
    }
  }
  return tiles;
}

// TIFF field types (TIFF 6.0 Section 2): code and size in bytes.
const TYPES = { ASCII: [2, 1], SHORT: [3, 2], LONG: [4, 4], DOUBLE: [12, 8] } as const;
type FieldType = keyof typeof TYPES;

interface Entry {
  tag: number;
  type: FieldType;
  values: readonly number[] | string;
}

function entryCount(e: Entry): number {
  // ASCII counts include the terminating NUL.
  return typeof e.values === 'string' ? Buffer.byteLength(e.values, 'latin1') + 1 : e.values.length;
}

const even = (n: number) => n + (n & 1);

function valueBytes(e: Entry): number {
  return entryCount(e) * TYPES[e.type][1];
}

/** Bytes an IFD takes with its out-of-line values. */
function ifdSize(entries: readonly Entry[]): number {
  let n = 2 + 12 * entries.length + 4;
  for (const e of entries) if (valueBytes(e) > 4) n += even(valueBytes(e));
  return n;
}

function writeValues(view: DataView, at: number, e: Entry): void {
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

/** Write one IFD at `at`; its values follow its entries. Returns nothing: sizes come from ifdSize. */
function writeIfd(view: DataView, at: number, entries: readonly Entry[], nextIfd: number): void {
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

function imageEntries(
  r: InterleavedRaster,
  tile: number,
  planar: 1 | 2,
  compression: 'none' | 'deflate',
  reduced: boolean,
  tileOffsets: number[],
  tileByteCounts: number[],
  geo: GeoTags,
): Entry[] {
  const spp = r.samplesPerPixel;
  const { bytes, sampleFormat } = DTYPE_FORMAT[r.dtype];
  const entries: Entry[] = [
    { tag: 254, type: 'LONG', values: [reduced ? 1 : 0] }, // NewSubfileType
    { tag: 256, type: 'LONG', values: [r.width] }, // ImageWidth
    { tag: 257, type: 'LONG', values: [r.height] }, // ImageLength
    { tag: 258, type: 'SHORT', values: new Array<number>(spp).fill(bytes * 8) }, // BitsPerSample
    { tag: 259, type: 'SHORT', values: [compression === 'deflate' ? 8 : 1] }, // Compression
    { tag: 262, type: 'SHORT', values: [1] }, // PhotometricInterpretation: BlackIsZero
    { tag: 277, type: 'SHORT', values: [spp] }, // SamplesPerPixel
    { tag: 284, type: 'SHORT', values: [planar] }, // PlanarConfiguration
    { tag: 322, type: 'LONG', values: [tile] }, // TileWidth
    { tag: 323, type: 'LONG', values: [tile] }, // TileLength
    { tag: 324, type: 'LONG', values: tileOffsets }, // TileOffsets
    { tag: 325, type: 'LONG', values: tileByteCounts }, // TileByteCounts
    { tag: 339, type: 'SHORT', values: new Array<number>(spp).fill(sampleFormat) }, // SampleFormat
  ];
  // BlackIsZero has one colour sample; the rest are unspecified extra samples.
  if (spp > 1) entries.push({ tag: 338, type: 'SHORT', values: new Array<number>(spp - 1).fill(0) });
  if (!reduced) {
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

/** Encode a raster as a little-endian tiled GeoTIFF laid out as a COG (see the header comment). */
export function writeTiledTiff(raster: InterleavedRaster, geo: GeoTags, opts: TiledTiffOptions = {}): TiledTiff {
  const tile = opts.tileSize ?? 64;
  const planar = opts.planar ?? 1;
  const compression = opts.compression ?? 'none';
  if (tile <= 0 || tile % 16 !== 0) throw new Error(`tileSize ${tile}: expected a positive multiple of 16 (TIFF 6.0 Section 15)`);
  if (raster.data.length !== raster.width * raster.height * raster.samplesPerPixel) {
    throw new Error(`raster: ${raster.data.length} values for ${raster.width}x${raster.height}x${raster.samplesPerPixel}`);
  }
  const rasters = opts.overview === false ? [raster] : [raster, decimate2x(raster)];
  const tiles = rasters.map((r) => encodeTiles(r, tile, planar, compression));
  const counts = tiles.map((ts) => ts.map((t) => t.length));

  // Pass 1: IFD sizes depend only on the number of tiles, not on their offsets.
  const placeholder = (i: number) => imageEntries(rasters[i]!, tile, planar, compression, i > 0, counts[i]!, counts[i]!, geo);
  const ifdAt: number[] = [];
  let pos = 8;
  rasters.forEach((_, i) => {
    ifdAt.push(pos);
    pos = even(pos + ifdSize(placeholder(i)));
  });
  // Pass 2: tile data after all IFDs, the overview's before the full resolution's.
  const offsets: number[][] = rasters.map(() => []);
  for (let i = rasters.length - 1; i >= 0; i--) {
    for (const t of tiles[i]!) {
      offsets[i]!.push(pos);
      pos += t.length;
    }
  }
  const bytes = new Uint8Array(pos);
  const view = new DataView(bytes.buffer);
  bytes.set([0x49, 0x49], 0); // "II": little-endian
  view.setUint16(2, 42, true);
  view.setUint32(4, ifdAt[0]!, true);
  rasters.forEach((r, i) => {
    const entries = imageEntries(r, tile, planar, compression, i > 0, offsets[i]!, counts[i]!, geo);
    writeIfd(view, ifdAt[i]!, entries, ifdAt[i + 1] ?? 0);
    tiles[i]!.forEach((t, k) => bytes.set(t, offsets[i]![k]!));
  });
  return {
    bytes,
    images: rasters.map((r, i) => ({ width: r.width, height: r.height, tileOffsets: offsets[i]!, tileByteCounts: counts[i]! })),
  };
}

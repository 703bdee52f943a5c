// A Cloud-Optimized GeoTIFF written tile by tile, so a map of any size is
// produced with memory bounded by one tile plus the first overview (a quarter
// of the image): geotiff.js writes only stripped, uncompressed TIFFs without
// overviews, hence this writer.
//
// Layout (GDAL's COG driver, "File format details", and OGC 21-026):
// - 8-byte classic little-endian TIFF header, then GDAL's "ghost area"
//   (GDAL_STRUCTURAL_METADATA: LAYOUT=IFDS_BEFORE_DATA, BLOCK_ORDER=ROW_MAJOR,
//   BLOCK_LEADER=SIZE_AS_UINT4, BLOCK_TRAILER=LAST_4_BYTES_REPEATED), which is
//   what makes GDAL >= 3.1 report LAYOUT=COG;
// - every IFD (full resolution first, then each overview) before any pixel;
// - tile data, smallest overview first and the full resolution last, each
//   tile preceded by its size (uint32) and followed by its last 4 bytes again.
// Overviews halve the previous level (nearest neighbour: class ids and
// nodata stay valid values) until one tile holds the whole level.
// Tiles arrive in row-major order and are deflated and appended to a side file
// at once; finish() writes `<out>.partial-<pid>` and renames it over `out`, so
// a failed or interrupted run never leaves a partial map under the final name.

import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { allocRaster } from '../raster-dtype.js';
import type { DType, RasterArray } from '../types.js';
import {
  checkTileSize,
  decimate2x,
  encodeTile,
  encodeTiles,
  even,
  ifdSize,
  imageEntries,
  writeIfd,
  type GeoTags,
  type InterleavedRaster,
  type TiffCompression,
} from './tiff-encoding.js';

export interface CogWriterOptions {
  /** Final path; written only by finish(). */
  path: string;
  width: number;
  height: number;
  /** Bands, pixel-interleaved in each tile (GDAL INTERLEAVE=PIXEL). */
  samplesPerPixel: number;
  dtype: DType;
  /** Tile side, a multiple of 16. Default 256 (GDAL's COG default). */
  tileSize?: number;
  /** Default deflate. */
  compression?: TiffCompression;
  /** Georeferencing, GDAL_NODATA and GDAL_METADATA tags of the full-resolution image. */
  tags: GeoTags;
}

/** What finish() wrote. */
export interface CogLayout {
  path: string;
  bytes: number;
  tileSize: number;
  /** [width, height] of the full resolution then of each overview. */
  levels: Array<[number, number]>;
}

const GHOST_BODY =
  'LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ';
const GHOST = `GDAL_STRUCTURAL_METADATA_SIZE=${String(GHOST_BODY.length).padStart(6, '0')} bytes\n${GHOST_BODY}`;
const MAX_CLASSIC_TIFF = 2 ** 32 - 1;

/** A tile framed as GDAL's COG driver frames it: uint32 size, the bytes, their last 4 bytes again. */
function framed(tile: Uint8Array): Uint8Array {
  const out = new Uint8Array(tile.length + 8);
  new DataView(out.buffer).setUint32(0, tile.length, true);
  out.set(tile, 4);
  out.set(tile.subarray(Math.max(0, tile.length - 4)), 4 + tile.length);
  return out;
}

export class CogWriter {
  readonly tileSize: number;
  readonly tilesAcross: number;
  readonly tilesDown: number;
  private readonly compression: TiffCompression;
  private readonly half: InterleavedRaster;
  /** Per full-resolution tile: data offset in the side file (after its leader) and byte count. */
  private readonly offsets: number[] = [];
  private readonly counts: number[] = [];
  private sideBytes = 0;
  private done = false;

  private constructor(
    private readonly opts: CogWriterOptions,
    private readonly side: FileHandle,
    private readonly sidePath: string,
  ) {
    this.tileSize = opts.tileSize ?? 256;
    this.compression = opts.compression ?? 'deflate';
    this.tilesAcross = Math.ceil(opts.width / this.tileSize);
    this.tilesDown = Math.ceil(opts.height / this.tileSize);
    const w = Math.ceil(opts.width / 2);
    const h = Math.ceil(opts.height / 2);
    this.half = {
      data: allocRaster(opts.dtype, w * h * opts.samplesPerPixel),
      width: w,
      height: h,
      samplesPerPixel: opts.samplesPerPixel,
      dtype: opts.dtype,
    };
  }

  /** Start a COG at opts.path (nothing is written there until finish()). */
  static async create(opts: CogWriterOptions): Promise<CogWriter> {
    checkTileSize(opts.tileSize ?? 256);
    if (!(opts.width > 0 && opts.height > 0 && opts.samplesPerPixel > 0)) {
      throw new Error(`${opts.path}: cannot write a ${opts.width}x${opts.height} image with ${opts.samplesPerPixel} bands`);
    }
    const sidePath = `${opts.path}.tiles-${process.pid}`;
    const side = await open(sidePath, 'w').catch((err: Error) => {
      throw new Error(`${opts.path}: cannot write the output map next to it (${err.message}); check the folder exists and is writable`);
    });
    return new CogWriter(opts, side, sidePath);
  }

  /** Index of the next tile expected (row-major). */
  get nextTile(): number {
    return this.offsets.length;
  }

  /**
   * Tile (tx, ty), in row-major order: `data` holds its pixels interleaved,
   * `cols` x `rows` of them (the tile's part inside the image).
   */
  async writeTile(tx: number, ty: number, data: RasterArray): Promise<void> {
    const { width, height, samplesPerPixel: spp, dtype } = this.opts;
    const t = this.tileSize;
    if (this.done) throw new Error(`${this.opts.path}: tile (${tx}, ${ty}) written after finish()`);
    if (ty * this.tilesAcross + tx !== this.nextTile) {
      throw new Error(`${this.opts.path}: tile (${tx}, ${ty}) out of order; tiles go row-major, next is #${this.nextTile}`);
    }
    const cols = Math.min(t, width - tx * t);
    const rows = Math.min(t, height - ty * t);
    if (data.length !== cols * rows * spp)
      throw new Error(`${this.opts.path}: tile (${tx}, ${ty}) has ${data.length} values, expected ${cols}x${rows}x${spp}`);
    const tile = encodeTile({ data, width: cols, height: rows, samplesPerPixel: spp, dtype }, t, 0, 0, 1, 0, this.compression);
    const f = framed(tile);
    await this.side.write(f, 0, f.length, this.sideBytes);
    this.offsets.push(this.sideBytes + 4);
    this.counts.push(tile.length);
    this.sideBytes += f.length;
    // First overview: pixels at even image rows and columns (tiles start at even ones).
    const h = this.half;
    for (let y = 0; y < rows; y += 2) {
      for (let x = 0; x < cols; x += 2) {
        const dst = (((ty * t + y) / 2) * h.width + (tx * t + x) / 2) * spp;
        const src = (y * cols + x) * spp;
        for (let s = 0; s < spp; s++) h.data[dst + s] = data[src + s] as number;
      }
    }
  }

  /** Write the overviews and the IFDs, then move the file into place. */
  async finish(): Promise<CogLayout> {
    const { path, width, height, samplesPerPixel, dtype, tags } = this.opts;
    const t = this.tileSize;
    const total = this.tilesAcross * this.tilesDown;
    if (this.nextTile !== total) throw new Error(`${path}: ${this.nextTile} of ${total} tiles written; the map is incomplete`);
    this.done = true;
    await this.side.close();
    const overviews: InterleavedRaster[] = [];
    if (width > t || height > t) {
      let level = this.half;
      overviews.push(level);
      while (level.width > t || level.height > t) {
        level = decimate2x(level);
        overviews.push(level);
      }
    }
    const ovTiles = overviews.map((r) => encodeTiles(r, t, 1, this.compression).map(framed));
    const ovCounts = ovTiles.map((ts) => ts.map((f) => f.length - 8));
    const dims: Array<[number, number]> = [[width, height], ...overviews.map((r): [number, number] => [r.width, r.height])];
    const entries = (i: number, offsets: readonly number[]) =>
      imageEntries({
        width: dims[i]![0],
        height: dims[i]![1],
        samplesPerPixel,
        dtype,
        tile: t,
        planar: 1,
        compression: this.compression,
        reduced: i > 0,
        tileOffsets: offsets,
        tileByteCounts: i === 0 ? this.counts : ovCounts[i - 1]!,
        geo: tags,
      });
    // IFD sizes depend on tile counts only, so placeholders place them.
    const ifdAt: number[] = [];
    let pos = even(8 + GHOST.length);
    dims.forEach((_, i) => {
      ifdAt.push(pos);
      pos = even(pos + ifdSize(entries(i, i === 0 ? this.counts : ovCounts[i - 1]!)));
    });
    const headEnd = pos;
    const ovOffsets: number[][] = overviews.map(() => []);
    for (let i = overviews.length - 1; i >= 0; i--) {
      for (const f of ovTiles[i]!) {
        ovOffsets[i]!.push(pos + 4);
        pos += f.length;
      }
    }
    const base = pos;
    const fullOffsets = this.offsets.map((o) => base + o);
    const size = base + this.sideBytes;
    if (size > MAX_CLASSIC_TIFF) {
      await rm(this.sidePath, { force: true });
      throw new Error(
        `${path}: the map would take ${size} bytes, over the 4 GiB a classic TIFF addresses; predict a smaller area (BigTIFF output is not written)`,
      );
    }
    const head = new Uint8Array(base);
    const view = new DataView(head.buffer);
    head.set([0x49, 0x49], 0); // "II": little-endian
    view.setUint16(2, 42, true);
    view.setUint32(4, ifdAt[0]!, true);
    for (let i = 0; i < GHOST.length; i++) head[8 + i] = GHOST.charCodeAt(i);
    dims.forEach((_, i) => writeIfd(view, ifdAt[i]!, entries(i, i === 0 ? fullOffsets : ovOffsets[i - 1]!), ifdAt[i + 1] ?? 0));
    let at = headEnd;
    for (let i = overviews.length - 1; i >= 0; i--) {
      for (const f of ovTiles[i]!) {
        head.set(f, at);
        at += f.length;
      }
    }
    const partial = `${path}.partial-${process.pid}`;
    try {
      const out = createWriteStream(partial);
      await new Promise<void>((resolve, reject) => out.write(head, (err) => (err ? reject(err) : resolve())));
      await pipeline(createReadStream(this.sidePath), out);
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw new Error(`${path}: cannot write the map (${(err as Error).message}); check free space and that the folder is writable`);
    } finally {
      await rm(this.sidePath, { force: true });
    }
    return { path, bytes: size, tileSize: t, levels: dims };
  }

  /** Drop what was written (the final path is never touched). */
  async abort(): Promise<void> {
    this.done = true;
    await this.side.close().catch(() => undefined);
    await rm(this.sidePath, { force: true });
  }
}

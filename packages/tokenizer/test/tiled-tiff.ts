// Test support: re-encode a real raster as a Cloud-Optimized GeoTIFF (tiled,
// one internal 2x overview), so reader tests can exercise the tiled code path
// that none of the stripped files in /work/shared/data takes. Test code only;
// the package does not export it.
//
// The TIFF pieces (tiles, IFDs, 2x reduction) are the package's own
// (src/writers/tiff-encoding.ts); this file adds reading a source file and
// laying out an in-memory COG: full resolution IFD first, overview IFDs after
// it, all IFDs at the start; tile data smallest overview first.

import { fromFile } from 'geotiff';
import { dtypeOf } from '../src/raster-dtype.js';
import { geoTagsOf } from '../src/readers/geo-tags.js';
import type { RasterArray } from '../src/types.js';
import {
  checkTileSize,
  decimate2x,
  encodeTiles,
  even,
  ifdSize,
  imageEntries,
  writeIfd,
  type GeoTags,
  type InterleavedRaster,
} from '../src/writers/tiff-encoding.js';

export { decimate2x, type GeoTags, type InterleavedRaster };

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

/**
 * Read a source GeoTIFF with the `geotiff` package (not the project's reader):
 * its full-resolution image pixel-interleaved in the stored dtype, and its
 * georeferencing and GDAL tags from the first IFD.
 */
export async function readSourceRaster(path: string): Promise<{ raster: InterleavedRaster; geo: GeoTags }> {
  const tiff = await fromFile(path);
  const image = await tiff.getImage(0);
  const geo = await geoTagsOf(image);
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

/** Encode a raster as a little-endian tiled GeoTIFF laid out as a COG (see the header comment). */
export function writeTiledTiff(raster: InterleavedRaster, geo: GeoTags, opts: TiledTiffOptions = {}): TiledTiff {
  const tile = opts.tileSize ?? 64;
  const planar = opts.planar ?? 1;
  const compression = opts.compression ?? 'none';
  checkTileSize(tile);
  if (raster.data.length !== raster.width * raster.height * raster.samplesPerPixel) {
    throw new Error(`raster: ${raster.data.length} values for ${raster.width}x${raster.height}x${raster.samplesPerPixel}`);
  }
  const rasters = opts.overview === false ? [raster] : [raster, decimate2x(raster)];
  const tiles = rasters.map((r) => encodeTiles(r, tile, planar, compression));
  const counts = tiles.map((ts) => ts.map((t) => t.length));

  // Pass 1: IFD sizes depend only on the number of tiles, not on their offsets.
  const entries = (i: number, offsets: readonly number[]) => {
    const r = rasters[i]!;
    return imageEntries({ ...r, tile, planar, compression, reduced: i > 0, tileOffsets: offsets, tileByteCounts: counts[i]!, geo });
  };
  const placeholder = (i: number) => entries(i, counts[i]!);
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
  rasters.forEach((_, i) => {
    writeIfd(view, ifdAt[i]!, entries(i, offsets[i]!), ifdAt[i + 1] ?? 0);
    tiles[i]!.forEach((t, k) => bytes.set(t, offsets[i]![k]!));
  });
  return {
    bytes,
    images: rasters.map((r, i) => ({ width: r.width, height: r.height, tileOffsets: offsets[i]!, tileByteCounts: counts[i]! })),
  };
}

// One GeoTIFF opened for windowed reading: the header (size, dtype, nodata,
// band metadata, georeferencing and its raw tags) is parsed up front; pixels
// are read a window at a time through geotiff-source.ts (a local file, or an
// http(s):// / s3:// URL by range requests through the block cache), which
// reads only the byte ranges of the strips or tiles the window touches. Memory
// is bounded by the window, not the file (decodeGeoTiffFile reads it whole).
// With a resolution factor < 1 the reader's grid is the chosen overview's
// (`overview` says which): width, height, geo and tags describe that grid.

import type { DType, RasterArray } from '../types.js';
import type { GeoTags } from '../writers/tiff-encoding.js';
import { parseGdalMetadata, type GdalBandMetadata } from './gdal-metadata.js';
import { geoTagsOf } from './geo-tags.js';
import {
  checkComplete,
  crsOf,
  imageDType,
  invalid,
  rasterGeo,
  scaleTransform,
  transformOf,
  type OverviewInfo,
  type RasterGeo,
} from './geotiff-file.js';
import { openGeoTiffSource, type GeoTiffOpenOptions } from './geotiff-source.js';

export interface GeoTiffWindowReader {
  path: string;
  width: number;
  height: number;
  dtype: DType;
  bandCount: number;
  /** GDAL_NODATA, when the file declares one (NaN left out: NaN values are missing anyway). */
  nodata?: number;
  metadata: GdalBandMetadata[];
  geo?: RasterGeo;
  /** The georeferencing tags as stored (scaled to an overview's grid), to copy onto an output on the same grid. */
  tags: GeoTags;
  /** Set when an overview is read instead of the full resolution. */
  overview?: OverviewInfo;
  /** Bands of the window of w x h pixels at column x0, row y0 (inside the image), row-major, stored dtype. */
  readWindow(x0: number, y0: number, w: number, h: number): Promise<RasterArray[]>;
  close(): Promise<void>;
}

/** Open `path` (a local path or an http(s):// / s3:// URL) for windowed reads; a missing, unreachable, non-TIFF or truncated file is an Error naming it. */
export async function openGeoTiffWindows(path: string, opts: GeoTiffOpenOptions = {}): Promise<GeoTiffWindowReader> {
  const opened = await openGeoTiffSource(path, opts);
  const { image, full, name } = opened;
  try {
    await checkComplete(image, opened.source.size, name);
  } catch (err) {
    await opened.close().catch(() => undefined);
    if (err instanceof Error && err.message.startsWith(name)) throw err;
    throw invalid(name, err instanceof Error ? err.message : String(err));
  }
  const width = image.getWidth();
  const height = image.getHeight();
  const bandCount = image.getSamplesPerPixel();
  const dtype = imageDType(full, name);
  const fd = full.getFileDirectory();
  const xml = fd.hasTag('GDAL_METADATA') ? await fd.loadValue('GDAL_METADATA') : undefined;
  const metadata = typeof xml === 'string' ? parseGdalMetadata(xml, bandCount, name) : Array.from({ length: bandCount }, () => ({}));
  const transform = transformOf(full, name);
  const reader: GeoTiffWindowReader = {
    path,
    width,
    height,
    dtype,
    bandCount,
    metadata,
    tags: scaleGeoTags(await geoTagsOf(full), opened.scale),
    async readWindow(x0, y0, w, h) {
      if (x0 < 0 || y0 < 0 || w <= 0 || h <= 0 || x0 + w > width || y0 + h > height) {
        throw new Error(`${name}: window ${w}x${h} at (${x0}, ${y0}) is not inside the ${width}x${height} image`);
      }
      try {
        return Array.from((await image.readRasters({ window: [x0, y0, x0 + w, y0 + h], interleave: false })) as unknown as RasterArray[]);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith(name)) throw err;
        throw invalid(name, `reading window ${w}x${h} at (${x0}, ${y0}): ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    close: () => opened.close(),
  };
  const nodata = full.getGDALNoData();
  if (nodata !== null && !Number.isNaN(nodata)) reader.nodata = nodata;
  if (transform !== undefined) reader.geo = rasterGeo(scaleTransform(transform, opened.scale), crsOf(full), width, height);
  if (opened.index !== 0) reader.overview = { index: opened.index, scale: opened.scale };
  return reader;
}

/** Georeferencing tags moved to an overview's grid: pixel sizes 1/scale as large, same corner origin. */
export function scaleGeoTags(tags: GeoTags, scale: { x: number; y: number }): GeoTags {
  if (scale.x === 1 && scale.y === 1) return tags;
  const out: GeoTags = { ...tags };
  if (tags.modelPixelScale !== undefined) {
    const [sx = 1, sy = 1, ...rest] = tags.modelPixelScale;
    out.modelPixelScale = [sx / scale.x, sy / scale.y, ...rest];
  }
  if (tags.modelTransformation !== undefined) {
    const m = [...tags.modelTransformation];
    for (const i of [0, 4]) m[i] = (m[i] ?? 0) / scale.x;
    for (const i of [1, 5]) m[i] = (m[i] ?? 0) / scale.y;
    out.modelTransformation = m;
  }
  return out;
}

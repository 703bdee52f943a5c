// One GeoTIFF opened for windowed reading: the header (size, dtype, nodata,
// band metadata, georeferencing and its raw tags) is parsed up front; pixels
// are read a window at a time through geotiff.js's file source, which reads
// only the byte ranges of the strips or tiles the window touches. Memory is
// bounded by the window, not the file (decodeGeoTiffFile reads it whole).

import { stat } from 'node:fs/promises';
import { fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import type { DType, RasterArray } from '../types.js';
import type { GeoTags } from '../writers/tiff-encoding.js';
import { parseGdalMetadata, type GdalBandMetadata } from './gdal-metadata.js';
import { geoTagsOf } from './geo-tags.js';
import { checkComplete, crsOf, imageDType, invalid, rasterGeo, transformOf, type RasterGeo } from './geotiff-file.js';

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
  /** The georeferencing tags as stored, to copy onto an output on the same grid. */
  tags: GeoTags;
  /** Bands of the window of w x h pixels at column x0, row y0 (inside the image), row-major, stored dtype. */
  readWindow(x0: number, y0: number, w: number, h: number): Promise<RasterArray[]>;
  close(): Promise<void>;
}

/** Open `path` for windowed reads; a missing, non-TIFF or truncated file is an Error naming it. */
export async function openGeoTiffWindows(path: string): Promise<GeoTiffWindowReader> {
  const info = await stat(path).catch((err: Error) => {
    throw new Error(`${path}: cannot read GeoTIFF (${err.message})`);
  });
  let tiff: GeoTIFF;
  let image: GeoTIFFImage;
  try {
    tiff = await fromFile(path);
    image = await tiff.getImage(0);
    await checkComplete(image, info.size, path);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(path)) throw err;
    throw invalid(path, err instanceof Error ? err.message : String(err));
  }
  const width = image.getWidth();
  const height = image.getHeight();
  const bandCount = image.getSamplesPerPixel();
  const dtype = imageDType(image, path);
  const fd = image.getFileDirectory();
  const xml = fd.hasTag('GDAL_METADATA') ? await fd.loadValue('GDAL_METADATA') : undefined;
  const metadata = typeof xml === 'string' ? parseGdalMetadata(xml, bandCount, path) : Array.from({ length: bandCount }, () => ({}));
  const transform = transformOf(image, path);
  const reader: GeoTiffWindowReader = {
    path,
    width,
    height,
    dtype,
    bandCount,
    metadata,
    tags: await geoTagsOf(image),
    async readWindow(x0, y0, w, h) {
      if (x0 < 0 || y0 < 0 || w <= 0 || h <= 0 || x0 + w > width || y0 + h > height) {
        throw new Error(`${path}: window ${w}x${h} at (${x0}, ${y0}) is not inside the ${width}x${height} image`);
      }
      try {
        return Array.from((await image.readRasters({ window: [x0, y0, x0 + w, y0 + h], interleave: false })) as unknown as RasterArray[]);
      } catch (err) {
        throw invalid(path, `reading window ${w}x${h} at (${x0}, ${y0}): ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    async close() {
      const closable = tiff as unknown as { close?: () => Promise<void> | void };
      await closable.close?.();
    },
  };
  const nodata = image.getGDALNoData();
  if (nodata !== null && !Number.isNaN(nodata)) reader.nodata = nodata;
  if (transform !== undefined) reader.geo = rasterGeo(transform, crsOf(image), width, height);
  return reader;
}

// The georeferencing and GDAL tags of a GeoTIFF image, as stored: what a
// writer copies to give another raster on the same grid the same CRS and
// geotransform (ModelPixelScale/ModelTiepoint or ModelTransformation and the
// GeoKey directory with its double and ASCII parameters).

import type { GeoTIFFImage } from 'geotiff';
import type { GeoTags } from '../writers/tiff-encoding.js';

function numberList(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return [v];
  if (ArrayBuffer.isView(v) || Array.isArray(v)) return Array.from(v as ArrayLike<number>, Number);
  return undefined;
}

const stripNul = (s: unknown): string | undefined => (typeof s === 'string' ? s.replace(/\0+$/, '') : undefined);

/** The GeoTIFF and GDAL tags of the image's IFD (each absent tag left out). */
export async function geoTagsOf(image: GeoTIFFImage): Promise<GeoTags> {
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
  return geo;
}

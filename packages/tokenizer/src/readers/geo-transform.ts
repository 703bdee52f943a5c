// Georeferencing of a raster: the affine pixel -> world transform, its
// footprint, and its pixel size in metres (what a band's GSD is).

/** [minX, minY, maxX, maxY] in CRS units (metres for projected CRS, degrees for geographic). */
export type BBox = [number, number, number, number];

/**
 * North-up affine transform (GDAL geotransform without rotation terms):
 * world x = originX + col * pixelWidth, world y = originY + row * pixelHeight,
 * where (col, row) are pixel-corner coordinates, so pixel centres are at +0.5.
 * pixelHeight is negative for the usual north-up image.
 */
export interface GeoTransform {
  originX: number;
  originY: number;
  pixelWidth: number;
  pixelHeight: number;
}

/** What we know of a raster's coordinate reference system. */
export interface CrsInfo {
  /** EPSG code when the file names one (ProjectedCSTypeGeoKey or GeographicTypeGeoKey). */
  epsg?: number;
  /** True for a geographic (degrees) CRS: GTModelTypeGeoKey = 2. */
  geographic: boolean;
  /** Human-readable citation from the GeoKeys, when present. */
  name?: string;
}

// Approximate metres per degree on the WGS 84 ellipsoid: one degree of longitude
// spans 111,320 m x cos(latitude); one degree of latitude about 110,574 m (its
// value at the equator; it grows to 111,694 m at the poles, an error under 1%).
export const METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320;
export const METRES_PER_DEGREE_LAT = 110_574;

/** Footprint of a width x height raster under `t`. */
export function transformBBox(t: GeoTransform, width: number, height: number): BBox {
  const x0 = t.originX;
  const x1 = t.originX + width * t.pixelWidth;
  const y0 = t.originY;
  const y1 = t.originY + height * t.pixelHeight;
  return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
}

/** World coordinates of the centre of pixel (col, row). */
export function pixelCentre(t: GeoTransform, col: number, row: number): [number, number] {
  return [t.originX + (col + 0.5) * t.pixelWidth, t.originY + (row + 0.5) * t.pixelHeight];
}

/** The pixel (col, row) containing world point (x, y); may be outside the raster. */
export function worldToPixel(t: GeoTransform, x: number, y: number): [number, number] {
  return [Math.floor((x - t.originX) / t.pixelWidth), Math.floor((y - t.originY) / t.pixelHeight)];
}

/**
 * Pixel size in metres along x and y. Projected CRS: the transform's units
 * (GeoTIFFs we read use metre units, ProjLinearUnitsGeoKey 9001). Geographic
 * CRS: degrees converted at the latitude of the footprint centre with the
 * constants above.
 */
export function pixelSizeMetres(t: GeoTransform, crs: CrsInfo, width: number, height: number): { x: number; y: number } {
  const dx = Math.abs(t.pixelWidth);
  const dy = Math.abs(t.pixelHeight);
  if (!crs.geographic) return { x: dx, y: dy };
  const [, minY, , maxY] = transformBBox(t, width, height);
  const latRad = (((minY + maxY) / 2) * Math.PI) / 180;
  return { x: dx * METRES_PER_DEGREE_LON_AT_EQUATOR * Math.cos(latRad), y: dy * METRES_PER_DEGREE_LAT };
}

/**
 * One GSD for a band: the geometric mean of the x and y pixel sizes, i.e. the
 * side of the square pixel of the same ground area (x and y differ by under
 * 1% for the geographic file we ship, sen2.tif).
 */
export function gsdFromPixelSize(size: { x: number; y: number }): number {
  return Math.sqrt(size.x * size.y);
}

/** Largest absolute difference between corresponding bbox edges. */
export function bboxMaxDifference(a: BBox, b: BBox): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]), Math.abs(a[3] - b[3]));
}

export function formatBBox(b: BBox): string {
  const f = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(2) : v.toPrecision(10));
  return `[${b.map(f).join(', ')}]`;
}

// Vector labels in any CRS: the polygons of a GeoJSON file are brought to the
// scene's CRS (its GeoTIFF GeoKeys' EPSG code) with proj4js, the maintained
// JavaScript port of PROJ. The projection definitions come from proj4-list
// (~5,400 EPSG codes as proj4 strings in one 1 MB file, no dependencies): UTM
// zones on every datum, WGS 84, Web Mercator and the national grids (British
// National Grid, Lambert-93, RD New, LV95, Gauss-Krueger, ETRS89-LAEA, CONUS
// Albers ...). It is loaded only when the labels and the scene differ.
//
// CRS of the file: the legacy `crs` member when present (`urn:ogc:def:crs:EPSG::32633`,
// `EPSG:32633`, `urn:ogc:def:crs:OGC:1.3:CRS84`); without it RFC 7946 says WGS 84
// longitude/latitude, and coordinates that cannot be degrees are refused.
//
// Vertices are reprojected, edges stay straight in the target CRS. An edge straight
// in one CRS is slightly curved in another; for the sen2 polygons (edges up to 225 m)
// the midpoint of an edge straight in UTM or Web Mercator is 25 micrometres from the
// straight edge in degrees, against 10 m pixels (docs/datasets.md), so no densifying.

import proj4 from 'proj4';
import { bboxOf, epsgOfCrsName, type LabelledPolygon, type PolygonFile } from './geojson-polygons.js';

/** proj4 definition of an EPSG code, or undefined when the table does not have it. */
export async function projDefinition(epsg: number): Promise<string | undefined> {
  const { default: list } = (await import('proj4-list')) as { default: Record<string, [string, string]> };
  return list[`EPSG:${epsg}`]?.[1];
}

/**
 * EPSG code of a polygon file's CRS. Without a `crs` member the file is WGS 84
 * lon/lat (RFC 7946): coordinates outside [-180, 180] x [-90, 90] are an error
 * telling the user to add a `crs` member or reproject.
 */
export function polygonFileEpsg(file: PolygonFile, source: string): number {
  if (!file.crsDeclared) {
    let maxX = 0;
    let maxY = 0;
    for (const p of file.polygons) {
      maxX = Math.max(maxX, Math.abs(p.bbox[0]), Math.abs(p.bbox[2]));
      maxY = Math.max(maxY, Math.abs(p.bbox[1]), Math.abs(p.bbox[3]));
    }
    if (maxX > 180 || maxY > 90) {
      throw new Error(
        `${source}: has no 'crs' member, so its coordinates must be WGS 84 longitude/latitude (RFC 7946), but |x| reaches ${maxX} and |y| ${maxY}, which cannot be degrees; ` +
          `add a 'crs' member naming the CRS (e.g. "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}}) or reproject the file to WGS 84`,
      );
    }
    return 4326;
  }
  const epsg = epsgOfCrsName(file.crs);
  if (epsg === undefined) {
    throw new Error(
      `${source}: unknown CRS '${file.crs}' in the 'crs' member; name an EPSG code (e.g. "urn:ogc:def:crs:EPSG::32633") or reproject the labels to the scene's CRS`,
    );
  }
  return epsg;
}

async function definitionOrThrow(epsg: number, what: string): Promise<string> {
  const def = await projDefinition(epsg);
  if (def === undefined) {
    throw new Error(
      `${what} EPSG:${epsg} has no projection definition in proj4-list; reproject the labels to the scene's CRS (e.g. ogr2ogr -t_srs) and retry`,
    );
  }
  return def;
}

/**
 * The file's polygons in EPSG:`toEpsg` (the scene's CRS). Unchanged when the file
 * is already in it; `source` names the labels file and `target` the scene in errors.
 */
export async function reprojectPolygons(
  file: PolygonFile,
  toEpsg: number | undefined,
  source: string,
  target: string,
): Promise<LabelledPolygon[]> {
  const fromEpsg = polygonFileEpsg(file, source);
  if (toEpsg === undefined) {
    throw new Error(
      `${target}: the scene's GeoKeys name no EPSG code, so the labels (${source}, EPSG:${fromEpsg}) cannot be placed on it; give a scene with an EPSG CRS`,
    );
  }
  if (fromEpsg === toEpsg) return file.polygons;
  const from = await definitionOrThrow(fromEpsg, `${source}: the labels' CRS`);
  const to = await definitionOrThrow(toEpsg, `${target}: the scene's CRS`);
  const conv = proj4(from, to);
  return file.polygons.map((poly, i) => {
    const parts = poly.polygons.map((rings) =>
      rings.map((ring) =>
        ring.map(([x, y]) => {
          const [px, py] = conv.forward([x, y]);
          if (px === undefined || py === undefined || !Number.isFinite(px) || !Number.isFinite(py)) {
            throw new Error(
              `${source}: polygon ${poly.id} (features[${i}]) has position [${x}, ${y}] that EPSG:${fromEpsg} -> EPSG:${toEpsg} cannot project; check the file's CRS`,
            );
          }
          return [px, py] as [number, number];
        }),
      ),
    );
    return { ...poly, polygons: parts, bbox: bboxOf(parts) };
  });
}

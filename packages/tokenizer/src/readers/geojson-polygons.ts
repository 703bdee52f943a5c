// Labelled polygons from a GeoJSON FeatureCollection (Polygon / MultiPolygon
// features with a class property), and the even-odd ray-casting test that
// decides which pixel centres they cover.

import { readFile } from 'node:fs/promises';

/** A ring is a closed list of [x, y] positions. A polygon is an outer ring and holes. */
export type Ring = Array<[number, number]>;

export interface LabelledPolygon {
  /** The polygon's id: the id property when present, else its feature index. */
  id: string;
  className: string;
  /** One or more polygons (MultiPolygon), each a list of rings (outer first, then holes). */
  polygons: Ring[][];
  /** [minX, minY, maxX, maxY] of all rings. */
  bbox: [number, number, number, number];
}

export interface PolygonFile {
  /** The CRS named by the legacy `crs` member, or 'CRS84' when absent (RFC 7946 default). */
  crs: string;
  /** True when the file has a `crs` member naming its CRS; false when 'CRS84' is the RFC 7946 default. */
  crsDeclared: boolean;
  polygons: LabelledPolygon[];
}

/**
 * Even-odd ray casting: a horizontal ray from (x, y) crosses the rings' edges
 * an odd number of times iff the point is inside (holes flip it back out).
 */
export function pointInPolygon(x: number, y: number, rings: readonly Ring[]): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i] as [number, number];
      const [xj, yj] = ring[j] as [number, number];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

function ringsOf(coords: unknown, where: string): Ring[] {
  if (!Array.isArray(coords) || coords.length === 0) throw new Error(`${where}: expected an array of rings`);
  return coords.map((ring, r) => {
    if (!Array.isArray(ring) || ring.length < 4) throw new Error(`${where}: ring ${r} must have at least 4 positions`);
    return ring.map((p, k) => {
      if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
        throw new Error(`${where}: ring ${r} position ${k} is not [x, y] numbers`);
      }
      return [p[0], p[1]] as [number, number];
    });
  });
}

/**
 * Parse labelled polygons. `classField` names the class property; `idField`
 * the polygon id property (default: `poly_id`, then `id`, then the feature
 * index). Errors name the file, the feature and the field.
 */
export function parsePolygons(text: string, source: string, classField = 'class', idField?: string): PolygonFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const fc = json as { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } };
  if (fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) {
    throw new Error(`${source}: expected a GeoJSON FeatureCollection with a 'features' array`);
  }
  const crsName = fc.crs?.properties?.name;
  const polygons: LabelledPolygon[] = [];
  const seenIds = new Set<string>();
  fc.features.forEach((f: unknown, i: number) => {
    const where = `${source}: features[${i}]`;
    const feat = f as {
      properties?: Record<string, unknown> | null;
      geometry?: { type?: unknown; coordinates?: unknown } | null;
      id?: unknown;
    };
    const props = feat.properties ?? {};
    const cls = props[classField];
    if (typeof cls !== 'string' && typeof cls !== 'number') {
      throw new Error(`${where}: property '${classField}' is ${JSON.stringify(cls)}, expected a class name or number`);
    }
    const idValue = idField !== undefined ? props[idField] : (props.poly_id ?? props.id ?? feat.id);
    if (idField !== undefined && idValue === undefined) throw new Error(`${where}: property '${idField}' (polygon id) is missing`);
    const id = idValue === undefined || idValue === null ? String(i) : String(idValue);
    if (seenIds.has(id)) throw new Error(`${where}: polygon id '${id}' is used twice; ids must be unique`);
    seenIds.add(id);
    const g = feat.geometry;
    let parts: Ring[][];
    if (g?.type === 'Polygon') parts = [ringsOf(g.coordinates, `${where}.geometry`)];
    else if (g?.type === 'MultiPolygon' && Array.isArray(g.coordinates)) {
      parts = g.coordinates.map((p, k) => ringsOf(p, `${where}.geometry.coordinates[${k}]`));
    } else {
      throw new Error(`${where}: geometry type ${JSON.stringify(g?.type)}, expected Polygon or MultiPolygon`);
    }
    const bbox = bboxOf(parts);
    polygons.push({ id, className: String(cls), polygons: parts, bbox });
  });
  if (fc.crs !== undefined && fc.crs !== null && typeof crsName !== 'string') {
    throw new Error(
      `${source}: the 'crs' member has no properties.name (e.g. "urn:ogc:def:crs:EPSG::32633"); name the CRS there, or remove 'crs' if the coordinates are WGS 84 longitude/latitude`,
    );
  }
  return typeof crsName === 'string' ? { crs: crsName, crsDeclared: true, polygons } : { crs: 'CRS84', crsDeclared: false, polygons };
}

export async function readPolygons(path: string, classField?: string, idField?: string): Promise<PolygonFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read GeoJSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return parsePolygons(text, path, classField, idField);
}

/**
 * The EPSG code a GeoJSON CRS name means: CRS84 (lon/lat WGS 84, the GeoJSON
 * default) counts as 4326 with x = longitude; `urn:ogc:def:crs:EPSG::32633`
 * or `EPSG:32633` give 32633. Undefined when not recognised.
 */
export function epsgOfCrsName(name: string): number | undefined {
  if (/CRS84$/i.test(name)) return 4326;
  const m = /EPSG:(?:[\d.]*:)?(\d+)$/i.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** [minX, minY, maxX, maxY] of polygons' rings. */
export function bboxOf(parts: readonly (readonly Ring[])[]): [number, number, number, number] {
  const bbox: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const rings of parts) {
    for (const ring of rings) {
      for (const [x, y] of ring) {
        bbox[0] = Math.min(bbox[0], x);
        bbox[1] = Math.min(bbox[1], y);
        bbox[2] = Math.max(bbox[2], x);
        bbox[3] = Math.max(bbox[3], y);
      }
    }
  }
  return bbox;
}

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import proj4 from 'proj4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { parsePolygons } from './geojson-polygons.js';
import { polygonFileEpsg, projDefinition, reprojectPolygons } from './label-reprojection.js';
import { readSceneLabels, type SceneLabelResult } from './scene-labels.js';

// The real sen2 polygons (CRS84, the scene sen2.tif is EPSG:4326) reprojected here
// with proj4 to other CRSs, written as GeoJSON and fed back as labels: the reader
// must reproject them to the scene's CRS and give the same patches as the original.

const SEN2 = dataPath('rstoolbox-sen2', 'sen2.tif');
const POLYS = dataPath('rstoolbox-sen2', 'sen2_polygons.geojson');
const LF_SCENE = ['sr_b4_20200829.tif', 'sr_b5_20200829.tif', 'sr_b6_20200829.tif'].map((f) => dataPath('landsat8_landfire_gdalraster', f));

// Definitions written out here (not read from proj4-list), so the test also checks the reader's table.
const UTM_21S = '+proj=utm +zone=21 +south +datum=WGS84 +units=m +no_defs';
const WEB_MERCATOR = 'EPSG:3857'; // built into proj4

type Position = [number, number];
interface Fc {
  type: string;
  crs?: unknown;
  features: Array<{ geometry: { type: string; coordinates: Position[][] } }>;
}

let dir: string;
let original: Fc;
let base: SceneLabelResult;

/** The original polygons with every vertex mapped by `f`, and `crs` set (or removed when undefined). */
function mapped(f: (p: Position) => Position, crsName: string | undefined): Fc {
  const out = structuredClone(original);
  for (const feat of out.features) {
    expect(feat.geometry.type).toBe('Polygon');
    feat.geometry.coordinates = feat.geometry.coordinates.map((ring) => ring.map(f));
  }
  if (crsName === undefined) delete out.crs;
  else out.crs = { type: 'name', properties: { name: crsName } };
  return out;
}

async function labelsFrom(name: string, fc: Fc): Promise<SceneLabelResult> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(fc));
  return readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: path, patchSize: 5, seed: 7 });
}

/** Labelled pixels as 'row,col:class:group:split' keys. */
function keys(r: SceneLabelResult): Set<string> {
  return new Set(r.items.map((i) => `${i.row},${i.col}:${String(i.sample.labels[0])}:${i.group}:${i.split}`));
}

/** Pixels present in one result and not the other (edge flips of the pixel-centre-in-polygon test). */
function flips(a: SceneLabelResult, b: SceneLabelResult): number {
  const ka = keys(a);
  const kb = keys(b);
  let n = 0;
  for (const k of ka) if (!kb.has(k)) n++;
  for (const k of kb) if (!ka.has(k)) n++;
  return n;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-label-crs-'));
  original = JSON.parse(await readFile(POLYS, 'utf8')) as Fc;
  base = await readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: POLYS, patchSize: 5, seed: 7 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('labels in another CRS than the scene are reprojected to it', () => {
  it('the original: CRS84 polygons on an EPSG:4326 scene, 2370 labelled pixels', () => {
    expect(base.counts.labelledPixels).toBe(2370);
    expect(base.classes).toEqual(['dryout', 'forest', 'village', 'water']);
  });

  it('WGS 84 without a crs member (RFC 7946 default): identical patches', async () => {
    const r = await labelsFrom(
      'wgs84-no-crs.geojson',
      mapped((p) => p, undefined),
    );
    expect(flips(base, r)).toBe(0);
    expect(r.counts).toEqual(base.counts);
  });

  it('UTM 21S (EPSG:32721) and Web Mercator (EPSG:3857): the same samples and classes, no edge flip', async () => {
    const utm = proj4('EPSG:4326', UTM_21S);
    const merc = proj4('EPSG:4326', WEB_MERCATOR);
    const rUtm = await labelsFrom(
      'utm21s.geojson',
      mapped((p) => utm.forward(p), 'urn:ogc:def:crs:EPSG::32721'),
    );
    const rMerc = await labelsFrom(
      'webmercator.geojson',
      mapped((p) => merc.forward(p), 'EPSG:3857'),
    );
    // Measured: 0 flips for both. proj4's forward + inverse round trip moves a vertex by
    // < 2e-14 degrees (2 nm) against 10 m pixels, and edges are straight in the scene CRS
    // either way, so a flip could only come from the round trip: no tolerance is needed.
    for (const r of [rUtm, rMerc]) {
      expect(flips(base, r)).toBe(0);
      expect(r.classes).toEqual(base.classes);
      expect(r.counts).toEqual(base.counts);
      expect(r.items.map((i) => i.sample.id)).toEqual(base.items.map((i) => i.sample.id));
    }
    // The patches' pixel values are the scene's at the same place.
    expect(rUtm.items[100]!.sample.bands[3]!.values).toEqual(base.items[100]!.sample.bands[3]!.values);
  });

  it('a shifted reprojection is seen: the comparison can fail', async () => {
    // 30 m east in UTM (3 pixels): many pixels change, so 0 flips above is a real check.
    const utm = proj4('EPSG:4326', UTM_21S);
    const r = await labelsFrom(
      'utm21s-shifted.geojson',
      mapped((p) => {
        const [x, y] = utm.forward(p);
        return [x + 30, y];
      }, 'urn:ogc:def:crs:EPSG::32721'),
    );
    expect(flips(base, r)).toBeGreaterThan(100);
  });

  it('polygons on a scene far away (Utah, EPSG:26912) are reprojected and fall outside it', async () => {
    const r = await readSceneLabels({ scene: LF_SCENE, sensor: 'landsat-8', labels: POLYS });
    expect(r.counts.outsideScene).toBe(25);
    expect(r.counts.labelledPixels).toBe(0);
  });
});

describe('CRS of a GeoJSON file', () => {
  const square = (x: number, y: number, crs?: string) =>
    JSON.stringify({
      type: 'FeatureCollection',
      ...(crs !== undefined ? { crs: { type: 'name', properties: { name: crs } } } : {}),
      features: [
        {
          type: 'Feature',
          properties: { class: 'a' },
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [x, y],
                [x + 10, y],
                [x + 10, y + 10],
                [x, y + 10],
                [x, y],
              ],
            ],
          },
        },
      ],
    });

  it('legacy crs names: EPSG URN, EPSG:n, CRS84; none = WGS 84', () => {
    expect(polygonFileEpsg(parsePolygons(square(500000, 9800000, 'urn:ogc:def:crs:EPSG::32633'), 'a.geojson'), 'a.geojson')).toBe(32633);
    expect(polygonFileEpsg(parsePolygons(square(500000, 9800000, 'EPSG:27700'), 'a.geojson'), 'a.geojson')).toBe(27700);
    expect(polygonFileEpsg(parsePolygons(square(10, 50, 'urn:ogc:def:crs:OGC:1.3:CRS84'), 'a.geojson'), 'a.geojson')).toBe(4326);
    expect(polygonFileEpsg(parsePolygons(square(10, 50), 'a.geojson'), 'a.geojson')).toBe(4326);
  });

  it('no crs member and coordinates that cannot be degrees: an error saying so and what to do', () => {
    expect(() => polygonFileEpsg(parsePolygons(square(500000, 9800000), 'utm.geojson'), 'utm.geojson')).toThrow(
      /^utm\.geojson: has no 'crs' member, so its coordinates must be WGS 84 longitude\/latitude \(RFC 7946\), but \|x\| reaches 500010 and \|y\| 9800010, which cannot be degrees; add a 'crs' member .* or reproject the file to WGS 84$/,
    );
  });

  it('an unknown CRS name, or an EPSG code without a definition, is a one-line error naming the file', async () => {
    expect(() => polygonFileEpsg(parsePolygons(square(1, 1, 'urn:ogc:def:crs:ESRI::102003'), 'esri.geojson'), 'esri.geojson')).toThrow(
      /^esri\.geojson: unknown CRS 'urn:ogc:def:crs:ESRI::102003' in the 'crs' member; name an EPSG code/,
    );
    const file = parsePolygons(square(1, 1, 'EPSG:999999'), 'odd.geojson');
    await expect(reprojectPolygons(file, 4326, 'odd.geojson', 'scene.tif')).rejects.toThrow(
      /^odd\.geojson: the labels' CRS EPSG:999999 has no projection definition in proj4-list; reproject the labels/,
    );
    expect(() => parsePolygons(JSON.stringify({ type: 'FeatureCollection', crs: { type: 'link' }, features: [] }), 'l.geojson')).toThrow(
      /^l\.geojson: the 'crs' member has no properties\.name/,
    );
  });

  it('the table covers UTM zones, WGS 84, Web Mercator and national grids', async () => {
    for (const code of [
      4326, 3857, 32601, 32660, 32701, 32760, 25832, 26912, 27700, 2154, 28992, 2056, 3035, 31467, 5070, 3577, 2193, 3006,
    ]) {
      expect(await projDefinition(code), `EPSG:${code}`).toMatch(/^\+proj=/);
    }
  });

  it('British National Grid: the Ordnance Survey worked example lands within a millimetre', async () => {
    // OS "A Guide to Coordinate Systems in Great Britain", transverse Mercator example:
    // Caister water tower, OSGB36 52 39' 27.2531" N, 1 43' 4.5177" E -> E 651409.903, N 313177.270.
    const lat = 52 + 39 / 60 + 27.2531 / 3600;
    const lon = 1 + 43 / 60 + 4.5177 / 3600;
    const file = parsePolygons(square(lon, lat, 'EPSG:4277'), 'bng.geojson');
    const [p] = await reprojectPolygons(file, 27700, 'bng.geojson', 'scene.tif');
    const [x, y] = p!.polygons[0]![0]![0]!;
    expect(Math.abs(x - 651409.903)).toBeLessThan(1e-3);
    expect(Math.abs(y - 313177.27)).toBeLessThan(1e-3);
  });
});

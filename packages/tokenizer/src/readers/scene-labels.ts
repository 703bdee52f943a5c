// A scene plus labels -> labelled KxK patches, split train/val/test by label
// GROUP so no group's pixels sit on two sides: a polygon (GeoJSON labels) or
// a connected component / spatial block of a label raster. Label pixels are
// placed on the scene through georeferencing (world coordinates of their
// centres), never by index, since label and scene grids may differ.

import { extname } from 'node:path';
import type { BandRaster, RasterArray, Sample } from '../types.js';
import { SeededRng, deriveSeed } from '../rng.js';
import { DEFAULT_GROUP_SPLIT_FRACTIONS, SPLIT_NAMES, checkSplitFractions, type SplitFractions, type SplitName } from '../split.js';
import type { SensorCatalog } from '../sensors/index.js';
import { readClassTable } from './class-table.js';
import { pointInPolygon, readPolygons, type LabelledPolygon } from './geojson-polygons.js';
import { reprojectPolygons } from './label-reprojection.js';
import { pixelCentre, worldToPixel, type GeoTransform } from './geo-transform.js';
import { decodeGeoTiffFile } from './geotiff-file.js';
import { readBandFiles, readGeoTiff, type BandScaling, type GeoSample } from './geotiff.js';
import type { Level1Radiometry } from './landsat-level1.js';

export interface SceneLabelOptions {
  /** One multi-band GeoTIFF, or one file per band (all on one grid). */
  scene: string | string[];
  sensor?: string;
  bands?: string[];
  catalog?: SensorCatalog;
  /** physical = stored * scale + offset for every band, over the files' own metadata (e.g. Landsat Collection 2 surface reflectance: 0.0000275, -0.2). */
  scale?: number;
  offset?: number;
  /** Per band (one per file for band files, one per band of a multi-band file): scale, offset, nodata over `scale`/`offset` and the files' (as a STAC item's raster:bands). */
  bandMeta?: Array<BandScaling | undefined>;
  /** Landsat Level-1 MTL: 'auto' (default: beside the band files), 'off' or a path (geotiff.ts GeoTiffReadOptions.mtl). */
  mtl?: string;
  /** GeoJSON polygons (.geojson/.json) or a label raster (.tif). */
  labels: string;
  /** GeoJSON: the class property (default 'class'). */
  classField?: string;
  /** GeoJSON: the polygon id property (default poly_id, then id, then the feature index). */
  idField?: string;
  /**
   * CSV id -> class name. Required for a label raster. For GeoJSON labels optional: when
   * given, every polygon's class must be in it (by name, or by id), and the classes are the
   * table's in id order, as a label raster with the same table gives them.
   */
  classTable?: string;
  /** Patch side K in pixels (odd: centred on the labelled pixel). Default 5. */
  patchSize?: number;
  /** Keep labelled pixels whose scene row and column are multiples of `stride`. Default 1 (all). */
  stride?: number;
  /** At most this many patches per group (seeded choice). Default: all. */
  maxPerGroup?: number;
  /** Default DEFAULT_GROUP_SPLIT_FRACTIONS, 0.7 / 0.15 / 0.15 (our choice). */
  fractions?: SplitFractions;
  seed?: number;
  /** Label raster groups: 4-connected same-class components (default) or square blocks of label pixels. */
  splitBy?: 'component' | 'block';
  /** Block side in label pixels for splitBy 'block'. Default 16. */
  blockSize?: number;
}

export interface LabelledPatch {
  sample: Sample;
  split: SplitName;
  /** The group (polygon id, `component:<n>` or `block:<r>,<c>`) the centre pixel belongs to. */
  group: string;
  /** Centre pixel in scene coordinates. */
  row: number;
  col: number;
}

export interface SceneLabelResult {
  classes: string[];
  /** Set when a Landsat Level-1 MTL converted the scene's bands to physical units. */
  radiometry?: Level1Radiometry;
  items: LabelledPatch[];
  /** Split of every group that has labelled pixels on the scene. */
  groupSplits: Map<string, SplitName>;
  counts: {
    /** Scene pixels that received a label. */
    labelledPixels: number;
    /** Labelled pixels whose KxK patch would leave the scene. */
    skippedBorder: number;
    /** Label-raster pixels with nodata or an id missing from the class table. */
    skippedUnlabelled: number;
    /** Label pixels (or polygon parts) falling outside the scene. */
    outsideScene: number;
    /** Scene pixels claimed by a second polygon or label pixel (first one wins). */
    overlaps: number;
    patches: Record<SplitName, number>;
  };
}

interface LabelledPixel {
  row: number;
  col: number;
  classIndex: number;
  group: string;
}

interface Grid {
  width: number;
  height: number;
  transform: GeoTransform;
}

function sceneGrid(scene: GeoSample, where: string): Grid {
  const first = scene.bands[0];
  if (first === undefined) throw new Error(`${where}: scene has no bands`);
  for (const b of scene.bands) {
    if (b.width !== first.width || b.height !== first.height) {
      throw new Error(
        `${where}: scene bands must share one grid; ${b.name} is ${b.width}x${b.height} but ${first.name} is ${first.width}x${first.height}`,
      );
    }
  }
  const bb = scene.geo.bbox;
  if (bb === undefined) throw new Error(`${where}: scene has no georeferencing; labels cannot be placed on it`);
  const transform: GeoTransform = {
    originX: bb[0],
    originY: bb[3],
    pixelWidth: (bb[2] - bb[0]) / first.width,
    pixelHeight: -(bb[3] - bb[1]) / first.height,
  };
  return { width: first.width, height: first.height, transform };
}

/**
 * Assign groups to splits, per stratum (class), seeded: groups are shuffled,
 * then each goes to the split furthest below its target share of the
 * stratum's pixels. Every group lands in exactly one split.
 */
export function assignGroupSplits(
  groups: ReadonlyArray<{ id: string; stratum: string; weight: number }>,
  fractions: SplitFractions,
  seed: number,
): Map<string, SplitName> {
  checkSplitFractions(fractions);
  const strata = new Map<string, Array<{ id: string; weight: number }>>();
  for (const g of groups) {
    const list = strata.get(g.stratum) ?? [];
    list.push({ id: g.id, weight: g.weight });
    strata.set(g.stratum, list);
  }
  const out = new Map<string, SplitName>();
  [...strata.keys()].sort().forEach((key, k) => {
    const list = (strata.get(key) as Array<{ id: string; weight: number }>).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const rng = new SeededRng(deriveSeed(seed, k));
    for (let i = list.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [list[i], list[j]] = [list[j] as { id: string; weight: number }, list[i] as { id: string; weight: number }];
    }
    const total = list.reduce((a, g) => a + g.weight, 0);
    const assigned: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
    for (const g of list) {
      let best: SplitName = 'train';
      let bestDeficit = -Infinity;
      for (const s of SPLIT_NAMES) {
        if (fractions[s] === 0) continue;
        const deficit = fractions[s] * total - assigned[s];
        if (deficit > bestDeficit) {
          best = s;
          bestDeficit = deficit;
        }
      }
      assigned[best] += g.weight;
      out.set(g.id, best);
    }
  });
  return out;
}

/** A class table's names for an error line: all of a short table, the first 30 of a long one. */
function knownList(names: readonly string[]): string {
  return names.length <= 30 ? names.join(', ') : `${names.slice(0, 30).join(', ')}, ... (${names.length} in all)`;
}

/** Without a class table: the polygons' class names, sorted. */
function polygonClasses(polygons: readonly LabelledPolygon[]): { classes: string[]; classIndex: Map<string, number> } {
  const classes = [...new Set(polygons.map((p) => p.className))].sort();
  return { classes, classIndex: new Map(classes.map((c, i) => [c, i])) };
}

/**
 * With a class table: each polygon's class is a name of the table (or one of its ids); the
 * classes are those present, in id order. A class the table does not know is an error naming
 * it, the labels file and the known classes (it would otherwise train as a new class).
 */
async function polygonClassesFromTable(
  polygons: readonly LabelledPolygon[],
  labels: string,
  tablePath: string,
  classField: string,
): Promise<{ classes: string[]; classIndex: Map<string, number> }> {
  const table = await readClassTable(tablePath);
  const idOfName = new Map<string, number>();
  for (const [id, name] of table) if (!idOfName.has(name)) idOfName.set(name, id);
  const idOf = (cls: string): number | undefined =>
    idOfName.get(cls) ?? (/^-?\d+$/.test(cls) && table.has(Number(cls)) ? Number(cls) : undefined);
  const unknown = [...new Set(polygons.map((p) => p.className))].filter((c) => idOf(c) === undefined).sort();
  if (unknown.length > 0) {
    throw new Error(
      `${labels}: class${unknown.length === 1 ? '' : 'es'} ${unknown.map((c) => `'${c}'`).join(', ')} (property '${classField}') ${unknown.length === 1 ? 'is' : 'are'} not in the class table ${tablePath}; ` +
        `known classes: ${knownList([...table.values()])}. Fix the labels, or add the class to the table`,
    );
  }
  const ids = [...new Set(polygons.map((p) => idOf(p.className) as number))].sort((a, b) => a - b);
  const indexOfId = new Map(ids.map((id, i) => [id, i]));
  return {
    classes: ids.map((id) => table.get(id) as string),
    classIndex: new Map(polygons.map((p) => [p.className, indexOfId.get(idOf(p.className) as number) as number])),
  };
}

async function pixelsFromPolygons(
  opts: SceneLabelOptions,
  scene: GeoSample,
  grid: Grid,
  counts: SceneLabelResult['counts'],
): Promise<{ classes: string[]; pixels: LabelledPixel[]; groupClass: Map<string, number> }> {
  const file = await readPolygons(opts.labels, opts.classField, opts.idField);
  // Labels in another CRS than the scene are reprojected to it (label-reprojection.ts).
  const polygons = await reprojectPolygons(file, scene.geo.crs?.epsg, opts.labels, scene.source ?? String(opts.scene));
  const { classes, classIndex } =
    opts.classTable !== undefined
      ? await polygonClassesFromTable(polygons, opts.labels, opts.classTable, opts.classField ?? 'class')
      : polygonClasses(polygons);
  const owner = new Int32Array(grid.width * grid.height).fill(-1);
  const pixels: LabelledPixel[] = [];
  const groupClass = new Map<string, number>();
  polygons.forEach((poly, pi) => {
    const t = grid.transform;
    // Pixel window of the polygon's bbox (pixel rows grow southwards).
    const [c0, r0] = worldToPixel(t, poly.bbox[0], poly.bbox[3]);
    const [c1, r1] = worldToPixel(t, poly.bbox[2], poly.bbox[1]);
    const cMin = Math.max(0, Math.min(c0, c1));
    const cMax = Math.min(grid.width - 1, Math.max(c0, c1));
    const rMin = Math.max(0, Math.min(r0, r1));
    const rMax = Math.min(grid.height - 1, Math.max(r0, r1));
    if (cMin > cMax || rMin > rMax) counts.outsideScene++;
    const cls = classIndex.get(poly.className) as number;
    groupClass.set(poly.id, cls);
    for (let r = rMin; r <= rMax; r++) {
      for (let c = cMin; c <= cMax; c++) {
        const [x, y] = pixelCentre(t, c, r);
        if (!poly.polygons.some((rings) => pointInPolygon(x, y, rings))) continue;
        const k = r * grid.width + c;
        if (owner[k] !== -1) {
          counts.overlaps++;
          continue;
        }
        owner[k] = pi;
        pixels.push({ row: r, col: c, classIndex: cls, group: poly.id });
      }
    }
  });
  return { classes, pixels, groupClass };
}

async function pixelsFromRaster(
  opts: SceneLabelOptions,
  scene: GeoSample,
  grid: Grid,
  counts: SceneLabelResult['counts'],
): Promise<{ classes: string[]; pixels: LabelledPixel[]; groupClass: Map<string, number> }> {
  if (opts.classTable === undefined) {
    throw new Error(`${opts.labels}: a label raster needs a class table (classTable: CSV of id,name)`);
  }
  const [lab, table] = await Promise.all([decodeGeoTiffFile(opts.labels), readClassTable(opts.classTable)]);
  if (lab.bands.length !== 1) throw new Error(`${opts.labels}: label raster has ${lab.bands.length} bands; expected 1 band of class ids`);
  if (lab.geo === undefined) throw new Error(`${opts.labels}: label raster has no georeferencing; it cannot be placed on the scene`);
  if (lab.geo.crs.epsg !== scene.geo.crs?.epsg) {
    throw new Error(
      `${opts.labels}: label raster CRS EPSG:${lab.geo.crs.epsg ?? '?'} differs from the scene's EPSG:${scene.geo.crs?.epsg ?? '?'}`,
    );
  }
  const values = lab.bands[0] as RasterArray;
  const { width: lw, height: lh } = lab;
  // Valid label = an id of the class table that is not nodata (nor a "Fill-NoData" row).
  const valid = (v: number) => v === v && v !== lab.nodata && table.has(v) && !/^(fill-?)?no-?data$/i.test(table.get(v) as string);
  const present = new Set<number>();
  for (let i = 0; i < values.length; i++) if (valid(values[i] as number)) present.add(values[i] as number);
  // Several ids may share a name (a legend that merges classes, e.g. every forest type of
  // LANDFIRE's EVT as 'forest'): one class per name, in the order of its lowest id present.
  const ids = [...present].sort((a, b) => a - b);
  const classes = [...new Set(ids.map((id) => table.get(id) as string))];
  const classOf = new Map(ids.map((id) => [id, classes.indexOf(table.get(id) as string)]));

  // Groups on the label grid.
  const group = new Int32Array(lw * lh).fill(-1);
  const groupClass = new Map<string, number>();
  const groupName: string[] = [];
  if ((opts.splitBy ?? 'component') === 'component') {
    const stack: number[] = [];
    for (let start = 0; start < values.length; start++) {
      const v = values[start] as number;
      if (group[start] !== -1 || !valid(v)) continue;
      const g = groupName.length;
      groupName.push(`component:${g}`);
      groupClass.set(`component:${g}`, classOf.get(v) as number);
      group[start] = g;
      stack.push(start);
      while (stack.length > 0) {
        const k = stack.pop() as number;
        const r = Math.floor(k / lw);
        const c = k - r * lw;
        const nbrs = [c > 0 ? k - 1 : -1, c < lw - 1 ? k + 1 : -1, r > 0 ? k - lw : -1, r < lh - 1 ? k + lw : -1];
        for (const n of nbrs) {
          if (n >= 0 && group[n] === -1 && valid(values[n] as number) && classOf.get(values[n] as number) === classOf.get(v)) {
            group[n] = g;
            stack.push(n);
          }
        }
      }
    }
  } else {
    const bs = opts.blockSize ?? 16;
    const blocksPerRow = Math.ceil(lw / bs);
    for (let k = 0; k < values.length; k++) {
      if (!valid(values[k] as number)) continue;
      const r = Math.floor(k / lw);
      const c = k - r * lw;
      const g = Math.floor(r / bs) * blocksPerRow + Math.floor(c / bs);
      group[k] = g;
      groupName[g] = `block:${Math.floor(r / bs)},${Math.floor(c / bs)}`;
    }
  }

  const owner = new Uint8Array(grid.width * grid.height);
  const pixels: LabelledPixel[] = [];
  for (let r = 0; r < lh; r++) {
    for (let c = 0; c < lw; c++) {
      const k = r * lw + c;
      const v = values[k] as number;
      if (!valid(v)) {
        counts.skippedUnlabelled++;
        continue;
      }
      const [x, y] = pixelCentre(lab.geo.transform, c, r);
      const [sc, sr] = worldToPixel(grid.transform, x, y);
      if (sc < 0 || sr < 0 || sc >= grid.width || sr >= grid.height) {
        counts.outsideScene++;
        continue;
      }
      const sk = sr * grid.width + sc;
      if (owner[sk] === 1) {
        counts.overlaps++;
        continue;
      }
      owner[sk] = 1;
      pixels.push({ row: sr, col: sc, classIndex: classOf.get(v) as number, group: groupName[group[k] as number] as string });
    }
  }
  return { classes, pixels, groupClass };
}

/** Copy the KxK window at (r0, c0) of a band. */
function cutBand(band: BandRaster, r0: number, c0: number, k: number): BandRaster {
  const Ctor = band.values.constructor as new (n: number) => RasterArray;
  const out = new Ctor(k * k);
  for (let r = 0; r < k; r++) {
    const from = (r0 + r) * band.width + c0;
    out.set(band.values.subarray(from, from + k), r * k);
  }
  return { ...band, width: k, height: k, values: out };
}

/** Read a scene and its labels and cut labelled KxK patches, split by group. */
export async function readSceneLabels(opts: SceneLabelOptions): Promise<SceneLabelResult> {
  const k = opts.patchSize ?? 5;
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0)
    throw new Error(`patchSize must be an odd positive integer (the patch is centred on a pixel), got ${k}`);
  const stride = opts.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`stride must be a positive integer, got ${stride}`);
  const seed = opts.seed ?? 42;
  const readOpts = {
    ...(opts.sensor !== undefined ? { sensor: opts.sensor } : {}),
    ...(opts.catalog !== undefined ? { catalog: opts.catalog } : {}),
    ...(opts.scale !== undefined ? { scale: opts.scale } : {}),
    ...(opts.offset !== undefined ? { offset: opts.offset } : {}),
    ...(opts.bandMeta !== undefined ? { bandMeta: opts.bandMeta } : {}),
    ...(opts.mtl !== undefined ? { mtl: opts.mtl } : {}),
  };
  const ext = extname(opts.labels).toLowerCase();
  const fromRaster = ext === '.tif' || ext === '.tiff';
  if (!fromRaster && ext !== '.geojson' && ext !== '.json') {
    throw new Error(`${opts.labels}: labels must be GeoJSON polygons (.geojson/.json) or a label raster (.tif)`);
  }
  if (fromRaster && opts.classTable === undefined) {
    throw new Error(`${opts.labels}: a label raster needs a class table (classTable: CSV of id,name)`);
  }
  const scene = Array.isArray(opts.scene)
    ? await readBandFiles(opts.scene, { ...readOpts, ...(opts.bands !== undefined ? { bands: opts.bands } : {}) })
    : await readGeoTiff(opts.scene, { ...readOpts, ...(opts.bands !== undefined ? { bands: opts.bands } : {}) });
  const where = scene.source ?? String(opts.scene);
  if (opts.bandMeta !== undefined && opts.bandMeta.length !== scene.bands.length) {
    throw new Error(
      `${where}: ${opts.bandMeta.length} per-band scale/offset entries for ${scene.bands.length} bands; give one per band, in file order`,
    );
  }
  const grid = sceneGrid(scene, where);
  const counts: SceneLabelResult['counts'] = {
    labelledPixels: 0,
    skippedBorder: 0,
    skippedUnlabelled: 0,
    outsideScene: 0,
    overlaps: 0,
    patches: { train: 0, val: 0, test: 0 },
  };
  const { classes, pixels, groupClass } = fromRaster
    ? await pixelsFromRaster(opts, scene, grid, counts)
    : await pixelsFromPolygons(opts, scene, grid, counts);
  counts.labelledPixels = pixels.length;

  // Groups weighted by their labelled pixels; stratified by class (blocks: one stratum).
  const weights = new Map<string, number>();
  for (const p of pixels) weights.set(p.group, (weights.get(p.group) ?? 0) + 1);
  const groupSplits = assignGroupSplits(
    [...weights].map(([id, weight]) => ({ id, weight, stratum: groupClass.has(id) ? String(groupClass.get(id)) : '' })),
    opts.fractions ?? DEFAULT_GROUP_SPLIT_FRACTIONS,
    seed,
  );

  const half = (k - 1) / 2;
  const byGroup = new Map<string, LabelledPixel[]>();
  for (const p of pixels) {
    if (p.row % stride !== 0 || p.col % stride !== 0) continue;
    if (p.row - half < 0 || p.col - half < 0 || p.row + half >= grid.height || p.col + half >= grid.width) {
      counts.skippedBorder++;
      continue;
    }
    const list = byGroup.get(p.group) ?? [];
    list.push(p);
    byGroup.set(p.group, list);
  }
  const items: LabelledPatch[] = [];
  const groupIds = [...byGroup.keys()].sort();
  groupIds.forEach((gid, gi) => {
    let list = byGroup.get(gid) as LabelledPixel[];
    if (opts.maxPerGroup !== undefined && list.length > opts.maxPerGroup) {
      // Seeded partial Fisher-Yates, then back to raster order for a stable listing.
      const rng = new SeededRng(deriveSeed(seed, 1_000_003, gi));
      const a = list.slice();
      for (let i = 0; i < opts.maxPerGroup; i++) {
        const j = i + rng.int(a.length - i);
        [a[i], a[j]] = [a[j] as LabelledPixel, a[i] as LabelledPixel];
      }
      list = a.slice(0, opts.maxPerGroup).sort((p, q) => p.row - q.row || p.col - q.col);
    }
    const split = groupSplits.get(gid) as SplitName;
    for (const p of list) {
      const sample: Sample = {
        id: `${scene.id}:${gid}:r${p.row}c${p.col}`,
        bands: scene.bands.map((b) => cutBand(b, p.row - half, p.col - half, k)),
        labels: [p.classIndex],
        source: `${where} (row ${p.row}, col ${p.col})`,
      };
      if (scene.time !== undefined) sample.time = scene.time;
      items.push({ sample, split, group: gid, row: p.row, col: p.col });
      counts.patches[split]++;
    }
  });
  return { classes, items, groupSplits, counts, ...(scene.geo.radiometry !== undefined ? { radiometry: scene.geo.radiometry } : {}) };
}

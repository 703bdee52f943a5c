import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { parseClassTable } from './class-table.js';
import { decodeGeoTiffFile } from './geotiff-file.js';
import { pointInPolygon, type Ring } from './geojson-polygons.js';
import { assignGroupSplits, readSceneLabels, type SceneLabelResult } from './scene-labels.js';

const SEN2 = dataPath('rstoolbox-sen2', 'sen2.tif');
const POLYS = dataPath('rstoolbox-sen2', 'sen2_polygons.geojson');
const LABELS = dataPath('rstoolbox-sen2', 'sen2_labels.tif');
const LF = (f: string) => dataPath('landsat8_landfire_gdalraster', f);
const LF_SCENE = ['sr_b4_20200829.tif', 'sr_b5_20200829.tif', 'sr_b6_20200829.tif'].map(LF);

let poly: SceneLabelResult;
beforeAll(async () => {
  poly = await readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: POLYS, patchSize: 5, seed: 7 });
});

describe('pointInPolygon', () => {
  const square: Ring = [
    [0, 0],
    [4, 0],
    [4, 4],
    [0, 4],
    [0, 0],
  ];
  const hole: Ring = [
    [1, 1],
    [3, 1],
    [3, 3],
    [1, 3],
    [1, 1],
  ];
  it('inside, outside, and inside a hole', () => {
    expect(pointInPolygon(0.5, 0.5, [square])).toBe(true);
    expect(pointInPolygon(5, 2, [square])).toBe(false);
    expect(pointInPolygon(2, 2, [square, hole])).toBe(false);
    expect(pointInPolygon(0.5, 2, [square, hole])).toBe(true);
  });
});

describe('sen2 scene + 25 GeoJSON polygons', () => {
  it('4 classes; the polygons cover exactly the pixels of the rasterised sen2_labels.tif', async () => {
    expect(poly.classes).toEqual(['dryout', 'forest', 'village', 'water']);
    expect(poly.groupSplits.size).toBe(25);
    // Independent reference: the label raster RStoolbox rasterised from the same
    // polygons (pixel-centre rule) has 2370 labelled pixels, each with class id 1..4.
    const lab = await decodeGeoTiffFile(LABELS);
    const ids = lab.bands[0]!;
    let labelled = 0;
    for (const v of ids) if (v >= 1 && v <= 4) labelled++;
    expect(poly.counts.labelledPixels).toBe(labelled);
    // Every patch's centre pixel has, in the label raster, the class of its polygon.
    const wrong = poly.items.filter((item) => ids[item.row * 247 + item.col]! - 1 !== item.sample.labels[0]);
    expect(wrong).toEqual([]);
    expect(poly.items.length + poly.counts.skippedBorder).toBe(labelled);
  });

  it('every polygon lies in exactly one split, each split has patches, and each class reaches train', () => {
    const splitsOf = new Map<string, Set<string>>();
    for (const item of poly.items) {
      const s = splitsOf.get(item.group) ?? new Set<string>();
      s.add(item.split);
      splitsOf.set(item.group, s);
    }
    for (const [, s] of splitsOf) expect(s.size).toBe(1);
    for (const split of ['train', 'val', 'test'] as const) expect(poly.counts.patches[split]).toBeGreaterThan(0);
    const trainClasses = new Set(poly.items.filter((i) => i.split === 'train').map((i) => i.sample.labels[0]));
    expect(trainClasses.size).toBe(4);
  });

  it('patches are KxK cuts of the scene in its dtype, centred on the labelled pixel', async () => {
    const item = poly.items[0]!;
    const b = item.sample.bands[2]!;
    expect([b.name, b.width, b.height, b.sensor]).toEqual(['B03', 5, 5, 'sentinel-2a']);
    expect(b.values).toBeInstanceOf(Float32Array);
    const scene = await decodeGeoTiffFile(SEN2);
    const full = scene.bands[2]!;
    // Centre of the patch = the scene value at (row, col); corner = (row-2, col-2).
    expect(b.values[12]).toBe(full[item.row * 247 + item.col]);
    expect(b.values[0]).toBe(full[(item.row - 2) * 247 + item.col - 2]);
  });

  it('the same seed gives the same splits; another seed may move polygons', async () => {
    const again = await readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: POLYS, patchSize: 5, seed: 7, stride: 3 });
    expect([...again.groupSplits].sort()).toEqual([...poly.groupSplits].sort());
    // stride 3 keeps only pixels on every third row and column
    expect(again.items.every((i) => i.row % 3 === 0 && i.col % 3 === 0)).toBe(true);
    expect(again.items.length).toBeLessThan(poly.items.length / 5);
  });
});

describe('GeoJSON polygons with a class table', () => {
  it('takes the classes from the table in id order and maps each polygon by name', async () => {
    const same = await readSceneLabels({
      scene: SEN2,
      sensor: 'sentinel-2a',
      labels: POLYS,
      classTable: dataPath('rstoolbox-sen2', 'sen2_classes.csv'),
      patchSize: 5,
      seed: 7,
    });
    expect(same.classes).toEqual(['dryout', 'forest', 'village', 'water']);
    expect(same.items.map((i) => [i.row, i.col, i.sample.labels[0]])).toEqual(poly.items.map((i) => [i.row, i.col, i.sample.labels[0]]));
    // Another id order: the same pixels get the same class names under the table's order.
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-classes-'));
    const reversed = join(dir, 'reversed.csv');
    await writeFile(reversed, 'id,name\n1,water\n2,village\n3,forest\n4,dryout\n');
    const r = await readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: POLYS, classTable: reversed, patchSize: 5, seed: 7 });
    expect(r.classes).toEqual(['water', 'village', 'forest', 'dryout']);
    const nameAt = (res: SceneLabelResult) => new Map(res.items.map((i) => [`${i.row},${i.col}`, res.classes[i.sample.labels[0]!]]));
    expect(nameAt(r)).toEqual(nameAt(poly));
  });

  it('refuses polygons whose class the table does not know, naming the classes, the labels file and the known classes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-classes-'));
    const partial = join(dir, 'partial.csv');
    await writeFile(partial, '1,dryout\n2,forest\n4,water\n');
    const read = readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: POLYS, classTable: partial, patchSize: 5 });
    await expect(read).rejects.toThrow(
      `${POLYS}: class 'village' (property 'class') is not in the class table ${partial}; known classes: dryout, forest, water. Fix the labels, or add the class to the table`,
    );
    const other = join(dir, 'other.csv');
    await writeFile(other, '1,cropland\n2,urban\n');
    await expect(readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: POLYS, classTable: other })).rejects.toThrow(
      /classes 'dryout', 'forest', 'village', 'water' \(property 'class'\) are not in the class table .*other\.csv; known classes: cropland, urban\./,
    );
  });
});

describe('label rasters', () => {
  it('sen2_labels.tif by connected component: 25 components (one per polygon), split-disjoint', async () => {
    const r = await readSceneLabels({
      scene: SEN2,
      sensor: 'sentinel-2a',
      labels: LABELS,
      classTable: dataPath('rstoolbox-sen2', 'sen2_classes.csv'),
      patchSize: 3,
      maxPerGroup: 10,
    });
    expect(r.classes).toEqual(['dryout', 'forest', 'village', 'water']);
    expect(r.counts.labelledPixels).toBe(2370);
    expect(r.groupSplits.size).toBe(25);
    const per = new Map<string, number>();
    for (const i of r.items) per.set(i.group, (per.get(i.group) ?? 0) + 1);
    expect(Math.max(...per.values())).toBe(10);
  });

  it('LANDFIRE EVT on the Landsat scene: label pixels placed through georeferencing, 23 classes, groups split-disjoint', async () => {
    const r = await readSceneLabels({
      scene: LF_SCENE,
      sensor: 'landsat-8',
      labels: LF('storml_evt.tif'),
      classTable: LF('LF20_EVT_220.csv'),
      patchSize: 5,
      stride: 2,
    });
    expect(r.classes.length).toBe(23);
    const evt = await decodeGeoTiffFile(LF('storml_evt.tif'));
    const nodata = Array.from(evt.bands[0]!).filter((v) => v === 32767).length;
    expect(r.counts.skippedUnlabelled).toBe(nodata);
    // The 143x107 label grid lies inside the 149x112 scene, so every valid label pixel lands on it.
    expect(r.counts.outsideScene).toBe(0);
    expect(r.counts.labelledPixels).toBe(143 * 107 - nodata);
    // The label grid starts about 75 m (2.5 px) east of the scene's corner: not index-aligned.
    const colsUsed = r.items.map((i) => i.col);
    expect(Math.min(...colsUsed)).toBeGreaterThanOrEqual(2);
    const splitOf = new Map<string, string>();
    let crossing = 0;
    for (const i of r.items) {
      if ((splitOf.get(i.group) ?? i.split) !== i.split) crossing++;
      splitOf.set(i.group, i.split);
    }
    expect(crossing).toBe(0);
    expect(
      r.items.every((i) => i.sample.bands.map((b) => b.name).join() === 'B4,B5,B6' && i.sample.bands[0]!.values instanceof Uint16Array),
    ).toBe(true);
    expect(new Set(splitOf.values()).size).toBe(3);
  });

  it('spatial blocks as groups keep each block on one side', async () => {
    const r = await readSceneLabels({
      scene: LF_SCENE,
      sensor: 'landsat-8',
      labels: LF('storml_evt.tif'),
      classTable: LF('LF20_EVT_220.csv'),
      patchSize: 3,
      stride: 4,
      splitBy: 'block',
      blockSize: 32,
    });
    // ceil(143/32) x ceil(107/32) = 5 x 4 blocks.
    expect(r.groupSplits.size).toBe(20);
    expect(r.items.filter((i) => r.groupSplits.get(i.group) !== i.split)).toEqual([]);
  });
});

describe('a class table that merges ids (a legend)', () => {
  it('several LANDFIRE EVT ids named alike are one class; ids left out of the table are not labels; components follow the merged class', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-legend-'));
    const legend = join(dir, 'legend.csv');
    // Every conifer type as 'forest', open water as 'water'; grass, shrub and rock left out.
    await writeFile(legend, 'id,class\n7046,forest\n7050,forest\n7055,forest\n7056,forest\n7292,water\n');
    const r = await readSceneLabels({
      scene: LF_SCENE,
      sensor: 'landsat-8',
      labels: LF('storml_evt.tif'),
      classTable: legend,
      patchSize: 3,
      stride: 1,
    });
    expect(r.classes).toEqual(['forest', 'water']);
    const evt = await decodeGeoTiffFile(LF('storml_evt.tif'));
    const ids = Array.from(evt.bands[0]!);
    const count = (set: number[]) => ids.filter((v) => set.includes(v)).length;
    expect(r.counts.labelledPixels).toBe(count([7046, 7050, 7055, 7056, 7292]));
    const perClass = [0, 0];
    for (const i of r.items) perClass[i.sample.labels[0]!]!++;
    expect(perClass[1]).toBe(count([7292]));
    // One group per connected area of a merged class: fewer groups than with the ids apart.
    const apart = await readSceneLabels({
      scene: LF_SCENE,
      sensor: 'landsat-8',
      labels: LF('storml_evt.tif'),
      classTable: LF('LF20_EVT_220.csv'),
      patchSize: 3,
      stride: 1,
    });
    const forestGroups = (res: SceneLabelResult) =>
      new Set(
        res.items
          .filter(
            (i) =>
              res.classes[i.sample.labels[0]!] === 'forest' ||
              /Spruce|Subalpine Woodland|Lodgepole/.test(res.classes[i.sample.labels[0]!]!),
          )
          .map((i) => i.group),
      ).size;
    expect(forestGroups(r)).toBeLessThan(forestGroups(apart));
  });
});

describe('errors and helpers', () => {
  it('a label raster without a class table, and an even patch size, are Errors', async () => {
    await expect(readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: LABELS })).rejects.toThrow(/needs a class table/);
    await expect(readSceneLabels({ scene: SEN2, sensor: 'sentinel-2a', labels: POLYS, patchSize: 4 })).rejects.toThrow(
      /patchSize must be an odd/,
    );
  });

  it('class tables with and without a header', () => {
    expect([...parseClassTable('1,dryout\n2,forest\n', 'c.csv')]).toEqual([
      [1, 'dryout'],
      [2, 'forest'],
    ]);
    expect(parseClassTable('VALUE,EVT_NAME,EVT_LF\n7011,Rocky Mountain Aspen,Tree\n', 'e.csv').get(7011)).toBe('Rocky Mountain Aspen');
    expect(() => parseClassTable('1,a\nx,b\n', 'c.csv')).toThrow(/c\.csv: line 2: id 'x' is not a number/);
  });

  it('assignGroupSplits: weights follow the fractions within each stratum', () => {
    const groups = Array.from({ length: 20 }, (_, i) => ({ id: `g${i}`, stratum: i < 10 ? 'a' : 'b', weight: 1 }));
    const s = assignGroupSplits(groups, { train: 0.6, val: 0.2, test: 0.2 }, 1);
    for (const stratum of ['a', 'b']) {
      const ids = groups.filter((g) => g.stratum === stratum).map((g) => s.get(g.id));
      expect(ids.filter((x) => x === 'train').length).toBe(6);
      expect(ids.filter((x) => x === 'val').length).toBe(2);
      expect(ids.filter((x) => x === 'test').length).toBe(2);
    }
    expect(() => assignGroupSplits(groups, { train: 0.5, val: 0.2, test: 0.2 }, 1)).toThrow(/sum to 1/);
  });
});

import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { BIGEARTHNET_19_CLASSES } from './bigearthnet-classes.js';
import { imageGroups, parseReaderSpec, readDataset, readSampleAt, type DatasetItem, type DatasetSource } from './dataset.js';
import { STATLOG_CLASSES } from './statlog.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-dataset-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function collect(source: DatasetSource): Promise<DatasetItem[]> {
  const out: DatasetItem[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('parseReaderSpec', () => {
  it('kind:path with query options', () => {
    expect(parseReaderSpec('scene:/d/sen2.tif?labels=/d/p.geojson&sensor=s2a&k=5&bands=B1,B2&fractions=0.8,0.1,0.1')).toEqual({
      kind: 'scene',
      path: '/d/sen2.tif',
      labels: '/d/p.geojson',
      sensor: 's2a',
      patchSize: 5,
      bands: ['B1', 'B2'],
      fractions: { train: 0.8, val: 0.1, test: 0.1 },
    });
    expect(parseReaderSpec('statlog:/x.csv')).toEqual({ kind: 'statlog', path: '/x.csv' });
  });

  it('bad specs are Errors saying what is expected', () => {
    expect(() => parseReaderSpec('/just/a/path')).toThrow(/has no kind; write <kind>:<path>/);
    expect(() => parseReaderSpec('zarr:/x')).toThrow(/unknown dataset kind 'zarr'.*bigearthnet, statlog, geotiff, scene, stac/);
    expect(() => parseReaderSpec('scene:/x.tif?k=five')).toThrow(/option k=five is not a number/);
  });
});

describe('readDataset', () => {
  it('statlog: 6435 single-label items in the standard split, the 6 class names', async () => {
    const src = readDataset(`statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`);
    expect(src.classes).toBe(STATLOG_CLASSES);
    expect(src.task).toBe('single');
    const items = await collect(src);
    expect(items.length).toBe(6435);
    expect(items.filter((i) => i.split === 'test').length).toBe(2000);
  });

  it('bigearthnet: every patch under the root, multi-label over the 19 classes', async () => {
    const src = readDataset({ kind: 'bigearthnet', path: dataPath('bigearthnet_tiny') });
    expect(src.classes).toBe(BIGEARTHNET_19_CLASSES);
    const items = await collect(src);
    expect(items.length).toBe(14);
    expect(src.total).toBe(14);
    expect(items.filter((i) => i.sample.bands.length === 12).length).toBe(11);
    expect(items.every((i) => i.sample.labels.every((l) => l >= 0 && l < 19))).toBe(true);
  });

  it('geotiff folder: band files grouped per scene, quality bands and the duplicate VCID_2 thermal band left out', async () => {
    const groups = await imageGroups(dataPath('landsat_satellite_pkg'));
    expect(groups.length).toBe(2);
    const items = await collect(readDataset(`geotiff:${dataPath('landsat_satellite_pkg')}`));
    const bySensor = new Map(items.map((i) => [i.sample.bands[0]!.sensor, i.sample.bands.map((b) => b.name)]));
    expect(bySensor.get('landsat-8')).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11']);
    expect(bySensor.get('landsat-7')).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8']);
    expect(items.every((i) => i.split === 'train')).toBe(true);
  });

  it('scene from a YAML description: polygons, classes known once read, group-disjoint splits', async () => {
    const desc = join(tmp, 'sen2-scene.yaml');
    await writeFile(
      desc,
      [
        `scene: ${dataPath('rstoolbox-sen2', 'sen2.tif')}`,
        `labels: ${dataPath('rstoolbox-sen2', 'sen2_polygons.geojson')}`,
        'sensor: sentinel-2a',
        'patchSize: 3',
        'stride: 4',
      ].join('\n'),
    );
    const src = readDataset(`scene:${desc}`);
    const items = await collect(src);
    expect(src.classes).toEqual(['dryout', 'forest', 'village', 'water']);
    expect(items.length).toBeGreaterThan(50);
    const splitOf = new Map<string, string>();
    let crossing = 0;
    for (const i of items) {
      const poly = i.sample.id.split(':')[1]!;
      if ((splitOf.get(poly) ?? i.split) !== i.split) crossing++;
      splitOf.set(poly, i.split);
    }
    expect(crossing).toBe(0);
    expect(items[0]!.sample.bands[0]!.width).toBe(3);
  });

  it('scene without labels is an Error telling what to pass', async () => {
    await expect(collect(readDataset(`scene:${dataPath('rstoolbox-sen2', 'sen2.tif')}`))).rejects.toThrow(/no labels given; pass labels=/);
  });
});

describe('readSampleAt', () => {
  it('a BigEarthNet patch folder', async () => {
    const s = await readSampleAt(dataPath('bigearthnet_tiny', 's2', 'S2B_MSIL2A_20180502T093039_43_14'));
    expect(s.bands.length).toBe(12);
    expect(s.bands[0]!.sensor).toBe('sentinel-2b');
  });

  it('a .tif file, with the sensor given', async () => {
    const s = await readSampleAt(dataPath('rstoolbox-sen2', 'sen2.tif'), { sensor: 'sentinel-2b' });
    expect(s.bands.length).toBe(12);
    expect(s.bands[0]!.sensor).toBe('sentinel-2b');
  });

  it("a folder of one scene's band files (copied to a temp dir)", async () => {
    const dir = join(tmp, 'l8');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    for (const b of ['B2', 'B3', 'B4', 'BQA']) {
      const f = `LC08_L1TP_195025_20130707_20170503_01_T1_${b}.TIF`;
      await copyFile(dataPath('landsat_satellite_pkg', f), join(dir, f));
    }
    const s = await readSampleAt(dir);
    expect(s.bands.map((b) => b.name)).toEqual(['B2', 'B3', 'B4']);
    expect(s.id).toBe('LC08_L1TP_195025_20130707_20170503_01_T1');
  });

  it('a folder holding several images, or a file that is not a GeoTIFF, is an Error', async () => {
    await expect(readSampleAt(dataPath('landsat_satellite_pkg'))).rejects.toThrow(/holds 2 images.*point at one file/);
    await expect(readSampleAt(dataPath('statlog', 'statlog_landsat_satellite.csv'))).rejects.toThrow(/not a GeoTIFF/);
    await expect(readSampleAt(join(tmp, 'nope'))).rejects.toThrow(/no such file or folder/);
  });
});

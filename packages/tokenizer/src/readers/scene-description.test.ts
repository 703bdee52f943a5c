import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BandStatsAccumulator } from '../band-stats.js';
import { dataPath } from '../data-dir.js';
import { readDataset, type DatasetItem } from './dataset.js';
import { sceneDescriptionOptions } from './scene-description.js';

// Scale and offset in a scene description: the real Landsat-8 surface
// reflectance files hold DN without any scale metadata; the description's
// Collection 2 scaling (2.75e-5 x DN - 0.2) makes them reflectance, through
// the GeoTIFF reader's per-band overrides (as a STAC item's raster:bands).

const L8 = (f: string) => dataPath('landsat8_landfire_gdalraster', f);
const FILES = ['sr_b4_20200829.tif', 'sr_b5_20200829.tif', 'sr_b6_20200829.tif'].map(L8);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-scene-desc-'));
  await writeFile(join(tmp, 'legend.csv'), 'id,class\n7011,forest\n7166,forest\n7292,water\n9016,dryout\n9018,dryout\n');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Physical mean per band key of every patch of a description written with these extra lines. */
async function means(lines: string[], scene = `scene: [${FILES.join(', ')}]`): Promise<Record<string, number>> {
  const desc = join(tmp, `d${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    desc,
    [scene, `labels: ${L8('storml_evt.tif')}`, 'classTable: legend.csv', 'sensor: landsat-8', 'patchSize: 1', 'stride: 3', ...lines].join(
      '\n',
    ),
  );
  const acc = new BandStatsAccumulator();
  const items: DatasetItem[] = [];
  for await (const item of readDataset(`scene:${desc}`)) items.push(item);
  expect(items.length).toBeGreaterThan(100);
  for (const i of items) acc.add(i.sample);
  return Object.fromEntries(acc.result().map((b) => [b.key, b.mean]));
}

describe('scale and offset in a scene description', () => {
  let dn: Record<string, number>;
  beforeAll(async () => {
    dn = await means([]);
  }, 60_000);

  it('without them the Landsat SR files are read as DN (thousands)', () => {
    expect(Object.keys(dn)).toEqual(['landsat-8:B4', 'landsat-8:B5', 'landsat-8:B6']);
    for (const v of Object.values(dn)) expect(v).toBeGreaterThan(5000);
  });

  it('one scale/offset for every band turns DN into surface reflectance', async () => {
    const sr = await means(['scale: 0.0000275', 'offset: -0.2']);
    for (const k of Object.keys(dn)) expect(sr[k]).toBeCloseTo(dn[k]! * 2.75e-5 - 0.2, 6);
    expect(sr['landsat-8:B5']).toBeGreaterThan(0.05);
    expect(sr['landsat-8:B5']).toBeLessThan(0.6);
  }, 60_000);

  it('per band file, and as lists in file order: each band its own', async () => {
    const perFile = await means([], `scene:\n${FILES.map((f, i) => `  - { path: ${f}, scale: ${i + 1}, offset: ${-i} }`).join('\n')}`);
    const lists = await means(['scale: [1, 2, 3]', 'offset: [0, -1, -2]']);
    FILES.forEach((_, i) => {
      const k = `landsat-8:B${i + 4}`;
      expect(perFile[k]).toBeCloseTo(dn[k]! * (i + 1) - i, 3);
      expect(lists[k]).toBeCloseTo(perFile[k]!, 6);
    });
  }, 60_000);

  it('a list of the wrong length: one line naming the file, the count and what to give', async () => {
    await expect(means(['scale: [1, 2]'])).rejects.toThrow(
      /^.*sr_b4_20200829\.tif.*: 2 per-band scale\/offset entries for 3 bands; give one per band, in file order$/,
    );
  });

  it('bad fields: one line naming the description file and the field', () => {
    expect(() => sceneDescriptionOptions({ scene: 'x.tif', scale: 'big' }, '/d/s.yaml')).toThrow(
      /^\/d\/s\.yaml: field 'scale' must be a number, got "big"$/,
    );
    expect(() => sceneDescriptionOptions({ scene: [{ path: 'a.tif', gain: 2 }] }, '/d/s.yaml')).toThrow(
      /^\/d\/s\.yaml: scene\[0\] has unknown field\(s\) gain; a scene file entry takes path, scale, offset, nodata$/,
    );
    expect(() => sceneDescriptionOptions({ scene: [{ path: 'a.tif', scale: 2 }], scale: [1] }, '/d/s.yaml')).toThrow(
      /scale is given both as a list and per scene file; keep one/,
    );
    expect(() => sceneDescriptionOptions({ scene: ['a.tif', 'b.tif'], scale: [1], offset: [0, 1] }, '/d/s.yaml')).toThrow(
      /offset lists 2 values, another per-band field 1/,
    );
    expect(sceneDescriptionOptions({ scene: ['a.tif', { path: 'b.tif', offset: -0.2 }] }, '/d/s.yaml')).toEqual({
      scene: ['/d/a.tif', '/d/b.tif'],
      bandMeta: [undefined, { offset: -0.2 }],
    });
  });
});

import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BandRaster } from '../types.js';
import { dataPath } from '../data-dir.js';
import { readDataset, readSampleAt } from './dataset.js';
import { readBandFiles, readGeoTiff } from './geotiff.js';
import { level1Note } from './landsat-level1.js';
import { C2_ID, c2MtlText } from '../testing/landsat-c2-mtl.js';
import { openSceneWindows } from './scene-windows.js';

// Landsat Level-1 DN to physical units on the real scenes of
// landsat_satellite_pkg, checked against a hand computation with the MTL's
// numbers copied here (not read through the parser).

const PKG = dataPath('landsat_satellite_pkg');
const L8_ID = 'LC08_L1TP_195025_20130707_20170503_01_T1';
const L7_ID = 'LE07_L1TP_195025_20010730_20170204_01_T1';
const L8 = (b: string) => join(PKG, `${L8_ID}_${b}.TIF`);
const L7 = (b: string) => join(PKG, `${L7_ID}_${b}.TIF`);
const L8_MTL = join(PKG, `${L8_ID}_MTL.txt`);
const L7_MTL = join(PKG, `${L7_ID}_MTL.txt`);
const sin = (deg: number) => Math.sin((deg * Math.PI) / 180);

const physical = (b: BandRaster, i: number) => (b.values[i] as number) * b.scale + b.offset;
const band = (bands: BandRaster[], name: string) => bands.find((b) => b.name === name) as BandRaster;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-level1-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('Landsat Level-1 in physical units, the MTL found beside the band files', () => {
  it('Landsat 8: reflective bands TOA reflectance = (M DN + A) / sin(sun elevation), thermal bands brightness temperature (K), by hand', async () => {
    const files = ['B2', 'B4', 'B5', 'B8', 'B10'].map(L8);
    const dn = await readBandFiles(files, { mtl: 'off' });
    const toa = await readBandFiles(files);
    expect(toa.geo.radiometry).toEqual({
      mtl: L8_MTL,
      productId: L8_ID,
      sunElevationDeg: 58.9967518,
      reflectance: ['B2', 'B4', 'B5', 'B8'],
      brightnessTemperature: ['B10'],
    });
    expect(dn.geo.radiometry).toBeUndefined();
    // From the MTL: REFLECTANCE_MULT_BAND_x 2.0000E-05, REFLECTANCE_ADD_BAND_x -0.100000, SUN_ELEVATION 58.99675180.
    for (const name of ['B2', 'B4', 'B5', 'B8']) {
      const d = band(dn.bands, name);
      const t = band(toa.bands, name);
      expect(t.values).toBe(t.values); // DN kept as stored (int16), the units in scale/offset
      expect(t.values.constructor).toBe(d.values.constructor);
      expect(t.nodata).toBe(0);
      for (const i of [0, 400, 840, d.values.length - 1]) {
        const byHand = (2.0e-5 * (d.values[i] as number) - 0.1) / sin(58.9967518);
        expect(physical(t, i)).toBeCloseTo(byHand, 12);
      }
    }
    // Pixel 0 of B4 is DN 8321: (2e-5 * 8321 - 0.1) / sin(58.99675 deg) = 0.06642 / 0.857166 = 0.077489.
    expect(band(dn.bands, 'B4').values[0]).toBe(8321);
    expect(physical(band(toa.bands, 'B4'), 0)).toBeCloseTo(0.07749, 5);
    // B10: RADIANCE_MULT 3.3420E-04, RADIANCE_ADD 0.10000, K1 774.8853, K2 1321.0789.
    const d10 = band(dn.bands, 'B10');
    const t10 = band(toa.bands, 'B10');
    expect(t10.values).toBeInstanceOf(Float32Array);
    expect([t10.scale, t10.offset, t10.nodata]).toEqual([1, 0, undefined]);
    for (const i of [0, 400, 1680]) {
      const l = 3.342e-4 * (d10.values[i] as number) + 0.1;
      expect(t10.values[i]).toBeCloseTo(1321.0789 / Math.log(774.8853 / l + 1), 3);
    }
  });

  it('Landsat 7 ETM+: per-band gains, B6_VCID_1 as brightness temperature, pan B8 on its own 15 m grid', async () => {
    const files = ['B3', 'B4', 'B6_VCID_1', 'B8'].map(L7);
    const dn = await readBandFiles(files, { mtl: 'off' });
    const toa = await readBandFiles(files);
    const e = sin(53.8776531);
    const gains: Record<string, [number, number]> = { B3: [1.3198e-3, -0.011935], B4: [2.9302e-3, -0.018348], B8: [2.3947e-3, -0.013931] };
    for (const [name, [m, a]] of Object.entries(gains)) {
      const d = band(dn.bands, name);
      for (const i of [0, 100, d.values.length - 1])
        expect(physical(band(toa.bands, name), i)).toBeCloseTo((m * (d.values[i] as number) + a) / e, 12);
    }
    expect([band(toa.bands, 'B8').width, band(toa.bands, 'B4').width]).toEqual([82, 41]);
    const d6 = band(dn.bands, 'B6');
    const l = 6.7087e-2 * (d6.values[0] as number) - 0.06709;
    expect(band(toa.bands, 'B6').values[0]).toBeCloseTo(1282.71 / Math.log(666.09 / l + 1), 3);
  });

  it('the whole OLI and ETM+ scenes (a folder read): every reflective value in [0, 1.3], every temperature in [250, 330] K, nothing missing', async () => {
    const src = readDataset(`geotiff:${PKG}`);
    const seen: string[] = [];
    for await (const { sample } of src) {
      for (const b of sample.bands) {
        let lo = Infinity;
        let hi = -Infinity;
        let missing = 0;
        for (let i = 0; i < b.values.length; i++) {
          const v = b.values[i] as number;
          if (v === b.nodata || Number.isNaN(v)) missing++;
          else {
            lo = Math.min(lo, v * b.scale + b.offset);
            hi = Math.max(hi, v * b.scale + b.offset);
          }
        }
        const thermal = b.values instanceof Float32Array;
        seen.push(`${b.sensor}:${b.name}${thermal ? ' K' : ''}`);
        expect(missing, `${b.sensor}:${b.name}`).toBe(0);
        if (thermal) expect([lo > 250, hi < 330], `${b.sensor}:${b.name} ${lo}..${hi}`).toEqual([true, true]);
        else expect([lo >= 0, hi <= 1.3], `${b.sensor}:${b.name} ${lo}..${hi}`).toEqual([true, true]);
      }
    }
    expect(seen).toEqual([
      ...['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10 K', 'B11 K'].map((b) => `landsat-8:${b}`),
      ...['B1', 'B2', 'B3', 'B4', 'B5', 'B6 K', 'B7', 'B8'].map((b) => `landsat-7:${b}`),
    ]);
    expect(src.notes).toEqual([
      `Landsat Level-1 MTL ${L8_MTL} applied to ${L8_ID}: B1, B2, B3, B4, B5, B6, B7, B8, B9 as top-of-atmosphere reflectance (sun elevation 59.00 deg); B10, B11 as brightness temperature (K)`,
      `Landsat Level-1 MTL ${L7_MTL} applied to ${L7_ID}: B1, B2, B3, B4, B5, B7, B8 as top-of-atmosphere reflectance (sun elevation 53.88 deg); B6 as brightness temperature (K)`,
    ]);
  });

  it('the MTL as the source: its band files (no BQA, B6_VCID_1 of the two), as readSampleAt, geotiff: and the windowed reader take it', async () => {
    const s = await readSampleAt(L7_MTL);
    expect(s.bands.map((b) => b.name)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8']);
    expect(s.geo.files.map((f) => f.split('/').pop())).not.toContain(`${L7_ID}_BQA.TIF`);
    expect(s.geo.radiometry?.mtl).toBe(L7_MTL);
    const viaSpec = readDataset(`geotiff:${L8_MTL}`);
    const items: BandRaster[][] = [];
    for await (const it of viaSpec) items.push(it.sample.bands);
    expect(items.length).toBe(1);
    expect(viaSpec.notes).toHaveLength(1);
    // Windows give the values the whole-file reader gives, calibration included.
    const whole = await readSampleAt(L8_MTL);
    const scene = await openSceneWindows(L8_MTL);
    try {
      expect(scene.radiometry).toEqual(whole.geo.radiometry);
      const w = await scene.readWindow(0, 0, 82, 82);
      for (const b of whole.bands) {
        const wb = band(w.bands, b.name);
        expect([wb.scale, wb.offset, wb.nodata]).toEqual([b.scale, b.offset, b.nodata]);
        expect(Array.from(wb.values)).toEqual(Array.from(b.values));
      }
    } finally {
      await scene.close();
    }
  });

  it('a single band file with its MTL beside it: converted; a folder without the MTL: as before (DN, the file nodata); mtl=off keeps DN', async () => {
    const one = await readGeoTiff(L8('B4'));
    expect(one.geo.radiometry?.reflectance).toEqual(['B4']);
    const dir = join(tmp, 'no-mtl');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    for (const b of ['B4', 'B5']) await symlink(L8(b), join(dir, `${L8_ID}_${b}.TIF`));
    const s = await readSampleAt(dir);
    // These files carry a nodata tag of -32768 (as written by R); with the MTL, Level-1 fill 0 is the nodata.
    expect([s.geo.radiometry, s.bands[0]!.scale, s.bands[0]!.nodata]).toEqual([undefined, 1, -32768]);
    expect(one.bands[0]!.nodata).toBe(0);
    const off = readDataset(`geotiff:${L8_MTL}?mtl=off`);
    for await (const it of off) expect(it.sample.bands[0]!.scale).toBe(1);
    expect(off.notes).toEqual([]);
  });
});

describe('a labelled Level-1 scene (scene description listing the band files)', () => {
  it('patches in TOA reflectance with the MTL beside the files, in DN with mtl: off; the note once', async () => {
    const files = ['B2', 'B3', 'B4', 'B5'].map(L8);
    const { geo } = await readBandFiles(files, { mtl: 'off' });
    const [x0, y0, x1, y1] = geo.bbox!;
    const half = (a: number, b: number) => (a + b) / 2;
    const ring = (xa: number, xb: number) => [
      [
        [xa, y0],
        [xb, y0],
        [xb, y1],
        [xa, y1],
        [xa, y0],
      ],
    ];
    const labels = join(tmp, 'halves.geojson');
    await writeFile(
      labels,
      JSON.stringify({
        type: 'FeatureCollection',
        crs: { type: 'name', properties: { name: 'EPSG:32632' } },
        features: [
          {
            type: 'Feature',
            properties: { class: 'west', poly_id: 1 },
            geometry: { type: 'Polygon', coordinates: ring(x0, half(x0, x1)) },
          },
          {
            type: 'Feature',
            properties: { class: 'east', poly_id: 2 },
            geometry: { type: 'Polygon', coordinates: ring(half(x0, x1), x1) },
          },
        ],
      }),
    );
    const desc = (extra: string[]) => {
      const p = join(tmp, `l1-scene-${extra.length}.yaml`);
      return writeFile(p, [`scene: [${files.join(', ')}]`, `labels: ${labels}`, 'patchSize: 3', 'stride: 8', ...extra].join('\n')).then(
        () => p,
      );
    };
    const toa = readDataset(`scene:${await desc([])}`);
    const items = [];
    for await (const it of toa) items.push(it);
    expect(items.length).toBeGreaterThan(10);
    expect(toa.notes).toHaveLength(1);
    expect(toa.notes[0]).toMatch(/B2, B3, B4, B5 as top-of-atmosphere reflectance \(sun elevation 59\.00 deg\)$/);
    const b4 = items[0]!.sample.bands[2]!;
    expect([b4.name, b4.nodata, physical(b4, 0) > 0, physical(b4, 0) < 0.3]).toEqual(['B4', 0, true, true]);
    const dn = readDataset(`scene:${await desc(['mtl: off'])}`);
    for await (const it of dn) expect(it.sample.bands[2]!.scale).toBe(1);
    expect(dn.notes).toEqual([]);
  });
});

describe('a Collection 2 scene (the C2 MTL fixture beside links to the real band files)', () => {
  it('read in TOA reflectance as the Collection 1 MTL reads it, QA_PIXEL never a band', async () => {
    const dir = join(tmp, 'c2');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    for (const b of ['B4', 'B5', 'B10']) await symlink(L8(b), join(dir, `${C2_ID}_${b}.TIF`));
    await symlink(L8('BQA'), join(dir, `${C2_ID}_QA_PIXEL.TIF`));
    await writeFile(join(dir, `${C2_ID}_MTL.txt`), c2MtlText());
    const c2 = await readSampleAt(dir);
    const c1 = await readBandFiles(['B4', 'B5', 'B10'].map(L8));
    expect(c2.bands.map((b) => b.name)).toEqual(['B4', 'B5', 'B10']);
    for (const [i, b] of c2.bands.entries()) {
      expect([b.scale, b.offset]).toEqual([c1.bands[i]!.scale, c1.bands[i]!.offset]);
      expect(Array.from(b.values)).toEqual(Array.from(c1.bands[i]!.values));
    }
    expect(level1Note(c2.geo.radiometry!)).toBe(
      `Landsat Level-1 MTL ${join(dir, `${C2_ID}_MTL.txt`)} applied to ${C2_ID}: B4, B5 as top-of-atmosphere reflectance (sun elevation 59.00 deg); B10 as brightness temperature (K)`,
    );
    await expect(readBandFiles([join(dir, `${C2_ID}_QA_PIXEL.TIF`)], { sensor: 'landsat-8', bands: ['B4'] })).rejects.toThrow(
      /QA_PIXEL\.TIF: listed in .*_MTL\.txt as a quality layer \(bit mask\), not imagery/,
    );
  });
});

describe('errors: one line naming the files and the key', () => {
  it('scale/offset given and an MTL for one band', async () => {
    await expect(readBandFiles([L8('B4'), L8('B5')], { scale: 2.75e-5, offset: -0.2 })).rejects.toThrow(
      new RegExp(
        `^${L8('B4')}: band B4 has scale 0.0000275, offset -0.2 given for every band \\(scale/offset option\\) and Landsat MTL gains from ${L8_MTL}; keep one \\(drop the scale/offset, or pass mtl=off\\)$`.replace(
          '0.0000275',
          '0\\.0000275|2\\.75e-5',
        ),
      ),
    );
    await expect(readBandFiles([L8('B4')], { bandMeta: [{ scale: 1e-4 }] })).rejects.toThrow(
      /B4\.TIF: band B4 has scale 0\.0001 given per band \(scene description or STAC raster:bands\) and Landsat MTL gains from .*_MTL\.txt/,
    );
    // With mtl=off the scale/offset is the only source.
    const off = await readBandFiles([L8('B4')], { scale: 2.75e-5, offset: -0.2, mtl: 'off' });
    expect(off.bands[0]!.scale).toBe(2.75e-5);
  });

  it('a band the MTL lacks, an MTL of another level, a missing MTL file', async () => {
    // Landsat 7's MTL given for a band file of another name: B9 is not in it.
    const b9 = join(tmp, 'scene_B9.TIF');
    await symlink(L8('B9'), b9);
    await expect(readBandFiles([b9], { sensor: 'landsat-8', mtl: L7_MTL })).rejects.toThrow(
      new RegExp(`^${b9}: band 9 is not in ${L7_MTL} \\(its bands: 1, 2, 3, 4, 5, 6_VCID_1, 6_VCID_2, 7, 8\\); expected the scene's MTL$`),
    );
    // Landsat 7's MTL given for a folder holding a Landsat 8 scene too: refused, not applied with the wrong gains.
    const both = readDataset(`geotiff:${PKG}?mtl=${L7_MTL}`);
    await expect(
      (async () => {
        for await (const _ of both) void _;
      })(),
    ).rejects.toThrow(
      new RegExp(`^${L8('B1')}: product ${L8_ID} is not the product of ${L7_MTL} \\(${L7_ID}\\); give each scene its own MTL$`),
    );
    const l2 = join(tmp, 'l2_MTL.txt');
    await writeFile(l2, c2MtlText().replace('PROCESSING_LEVEL = "L1TP"', 'PROCESSING_LEVEL = "L2SP"'));
    await expect(readBandFiles([L8('B4')], { mtl: l2 })).rejects.toThrow(/l2_MTL\.txt: processing level L2SP is not Level-1/);
    await expect(readBandFiles([L8('B4')], { mtl: join(tmp, 'none_MTL.txt') })).rejects.toThrow(
      /none_MTL\.txt: cannot read the Landsat MTL file \(ENOENT/,
    );
    const broken = join(tmp, 'broken');
    await import('node:fs/promises').then((fs) => fs.mkdir(broken));
    await symlink(L8('B4'), join(broken, `${C2_ID}_B4.TIF`));
    await writeFile(join(broken, `${C2_ID}_MTL.txt`), c2MtlText({ drop: 'REFLECTANCE_MULT_BAND_4' }));
    await expect(readSampleAt(join(broken, `${C2_ID}_B4.TIF`))).rejects.toThrow(
      /_MTL\.txt: REFLECTANCE_MULT_BAND_4 is missing, and band 4 has no K1_CONSTANT_BAND_4 either/,
    );
  });
});

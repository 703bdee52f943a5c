import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atomize } from '../atomize.js';
import { BandStatsAccumulator } from '../band-stats.js';
import { dataPath } from '../data-dir.js';
import { readDataset, readSampleAt } from './dataset.js';
import { SensorCatalog, loadStacItem, sensorFromStacItem } from '../sensors/index.js';
import { readBandFiles } from './geotiff.js';
import { readStacItem } from './stac-item.js';
import { openSceneWindows } from './scene-windows.js';
import { cropBand } from '../modality.js';

// STAC Items written into a temp dir, their assets pointing at the real files
// in /work/shared/data (never copied).

const L8_ID = 'LC08_L1TP_195025_20130707_20170503_01_T1';
const l8File = (band: string): string => dataPath('landsat_satellite_pkg', `${L8_ID}_${band}.TIF`);

/**
 * Landsat 8 B1..B7 as a USGS Collection 2 item looks (STAC 1.0): one asset
 * per band keyed by common name, `eo:bands` on each asset (micrometres),
 * a thumbnail and the MTL file as assets without band metadata.
 */
function landsat8Item(hrefOf: (band: string) => string): Record<string, unknown> {
  // [asset key, band, centre um, width um] as USGS lists them.
  const rows: Array<[string, string, number, number]> = [
    ['coastal', 'B1', 0.44, 0.02],
    ['blue', 'B2', 0.48, 0.06],
    ['green', 'B3', 0.56, 0.06],
    ['red', 'B4', 0.65, 0.04],
    ['nir08', 'B5', 0.86, 0.03],
    ['swir16', 'B6', 1.6, 0.08],
    ['swir22', 'B7', 2.2, 0.2],
  ];
  const assets: Record<string, unknown> = {
    thumbnail: { href: 'https://landsatlook.usgs.gov/thumb.jpeg', type: 'image/jpeg', roles: ['thumbnail'] },
    'MTL.txt': { href: dataPath('landsat_satellite_pkg', `${L8_ID}_MTL.txt`), type: 'text/plain', roles: ['metadata'] },
  };
  for (const [key, band, centre, width] of rows) {
    assets[key] = {
      href: hrefOf(band),
      type: 'image/vnd.stac.geotiff; cloud-optimized=true',
      roles: ['data'],
      'eo:bands': [{ name: band, common_name: key, gsd: 30, center_wavelength: centre, full_width_half_max: width }],
    };
  }
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    stac_extensions: ['https://stac-extensions.github.io/eo/v1.0.0/schema.json'],
    id: L8_ID,
    geometry: null,
    properties: { datetime: '2013-07-07T10:17:42.166196Z', platform: 'LANDSAT_8', instruments: ['OLI', 'TIRS'], 'eo:cloud_cover': 7.6 },
    assets,
  };
}

/** Landsat 8 surface reflectance bands 4, 5, 6 (landfire files), STAC 1.1 `bands` with eo:/raster: fields. */
function landfireItem(hrefOf: (band: number) => string): Record<string, unknown> {
  const rows: Array<[number, string, number, number]> = [
    [4, 'red', 0.655, 0.05],
    [5, 'nir08', 0.865, 0.04],
    [6, 'swir16', 1.61, 0.1],
  ];
  const assets: Record<string, unknown> = {};
  for (const [n, common, centre, width] of rows) {
    assets[`sr_b${n}`] = {
      href: hrefOf(n),
      type: 'image/tiff; application=geotiff',
      roles: ['data', 'reflectance'],
      bands: [
        {
          name: `SR_B${n}`,
          'eo:common_name': common,
          'eo:center_wavelength': centre,
          'eo:full_width_half_max': width,
          'raster:spatial_resolution': 30,
          'raster:scale': 0.0000275,
          'raster:offset': -0.2,
        },
      ],
    };
  }
  return {
    type: 'Feature',
    stac_version: '1.1.0',
    id: 'storml_sr_20200829',
    geometry: null,
    properties: { datetime: '2020-08-29T18:30:00Z', platform: 'landsat-8', instruments: ['oli'] },
    assets,
  };
}

let tmp: string;
let l8ItemPath: string;
let landfirePath: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-stac-'));
  l8ItemPath = join(tmp, 'l8.json');
  await writeFile(l8ItemPath, JSON.stringify(landsat8Item(l8File)));
  // One asset by a path relative to the item file, one by a file:// URL, one absolute.
  landfirePath = join(tmp, 'landfire.json');
  const lf = (n: number) => dataPath('landsat8_landfire_gdalraster', `sr_b${n}_20200829.tif`);
  await writeFile(
    landfirePath,
    JSON.stringify(landfireItem((n) => (n === 4 ? relative(tmp, lf(4)) : n === 5 ? pathToFileURL(lf(5)).href : lf(6)))),
  );
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('readStacItem', () => {
  it("STAC 1.0 Landsat 8 item: bands B1..B7 with the item's wavelengths (nm), 30 m, 41x41, time from properties.datetime", async () => {
    const s = await readStacItem(l8ItemPath);
    expect(s.id).toBe(L8_ID);
    expect(s.bands.map((b) => b.name)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7']);
    // The item's micrometres x 1000, not the catalogue's Landsat 8 numbers (443, 482.5 ...).
    expect(s.bands.map((b) => (b.kind === 'spectral' ? [b.wavelengthNm, b.bandwidthNm] : []))).toEqual([
      [440, 20],
      [480, 60],
      [560, 60],
      [650, 40],
      [860, 30],
      [1600, 80],
      [2200, 200],
    ]);
    expect(s.bands.every((b) => b.gsdM === 30 && b.width === 41 && b.height === 41)).toBe(true);
    // The sensor is the item's (platform + instruments), in the Landsat 8 family through LANDSAT_8.
    expect(s.bands[0]!.sensor).toBe('landsat_8-oli-tirs');
    // 2013-07-07 is day 188 (the scene id LC81950252013188LGN01 says so too).
    expect(s.time).toEqual({ iso: '2013-07-07T10:17:42Z', year: 2013, doy: 188 });
    expect(s.geo.files).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7'].map(l8File));
    expect(s.geo.crs?.epsg).toBe(32632);
    const { atoms, missing } = atomize(s);
    expect(missing).toBe(0);
    expect(atoms.length).toBe(7 * 41 * 41);
  });

  it("the item's sensor borrows Landsat 8 statistics through its family (same band names)", async () => {
    const s = await readStacItem(l8ItemPath);
    const acc = new BandStatsAccumulator();
    // DN, as the item (no raster:bands) reads them: the MTL beside the files is not the item's.
    acc.add(await readBandFiles(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7'].map(l8File), { mtl: 'off' }));
    const stats = new Map(acc.result().map((st) => [st.key, st]));
    expect(stats.has('landsat-8:B4')).toBe(true);
    // The item's sensor is in no catalogue until added: then its family (landsat-oli) is known.
    expect(() => atomize(s, { stats })).toThrow(
      /sensor landsat_8-oli-tirs is not in the catalogue.*add it to the catalogue given to atomize/,
    );
    const catalog = SensorCatalog.default();
    const sensor = catalog.add(sensorFromStacItem(await loadStacItem(l8ItemPath)));
    expect(sensor.family).toBe('landsat-oli');
    const z = atomize(s, { stats, catalog }).atoms;
    // Statistics of these very pixels: every band's z-scores have mean 0.
    for (let b = 0; b < 7; b++) {
      let sum = 0;
      let n = 0;
      for (let i = 0; i < z.length; i++) {
        if (z.band[i] !== b) continue;
        sum += z.value[i]!;
        n++;
      }
      expect(n).toBe(41 * 41);
      expect(Math.abs(sum / n)).toBeLessThan(1e-4);
    }
  });

  it('STAC 1.1 item (bands with eo:/raster: fields), relative, file:// and absolute hrefs: SR_B4/5/6, 149x112 at 30 m, raster:scale applied', async () => {
    const s = await readStacItem(landfirePath);
    expect(s.bands.map((b) => b.name)).toEqual(['SR_B4', 'SR_B5', 'SR_B6']);
    expect(s.bands.map((b) => (b.kind === 'spectral' ? [b.wavelengthNm, b.bandwidthNm] : []))).toEqual([
      [655, 50],
      [865, 40],
      [1610, 100],
    ]);
    expect(s.bands.every((b) => b.gsdM === 30 && b.width === 149 && b.height === 112)).toBe(true);
    expect(s.bands.every((b) => b.scale === 0.0000275 && b.offset === -0.2)).toBe(true);
    expect(s.time).toEqual({ iso: '2020-08-29T18:30:00Z', year: 2020, doy: 242 });
    expect(atomize(s).atoms.length).toBe(3 * 149 * 112);
  });

  it('unreadable schemes, missing files and items without band metadata are Errors saying what to do', async () => {
    const remote = join(tmp, 'remote.json');
    await writeFile(remote, JSON.stringify(landsat8Item((b) => `ftp://example.org/l8/${L8_ID}_${b}.TIF`)));
    await expect(readStacItem(remote)).rejects.toThrow(
      /asset 'coastal' href ftp:.* uses a scheme this reader does not read; expected a local path, file:\/\/, http\(s\):\/\/ or s3:/,
    );
    const missing = join(tmp, 'missing.json');
    await writeFile(missing, JSON.stringify(landsat8Item((b) => join(tmp, `${b}.TIF`))));
    await expect(readStacItem(missing)).rejects.toThrow(/asset 'coastal' file .*B1\.TIF does not exist/);
    const bare = join(tmp, 'bare.json');
    await writeFile(bare, JSON.stringify({ ...landsat8Item(l8File), assets: { thumbnail: { href: 'x.jpg' } } }));
    await expect(readStacItem(bare)).rejects.toThrow(/bare\.json: no band metadata/);
    const badTime = join(tmp, 'bad-time.json');
    await writeFile(badTime, JSON.stringify({ ...landsat8Item(l8File), properties: { datetime: 'yesterday', platform: 'LANDSAT_8' } }));
    await expect(readStacItem(badTime)).rejects.toThrow(/properties\.datetime 'yesterday' is not an RFC 3339 date-time/);
  });
});

describe('stac dataset kind and readSampleAt', () => {
  it('stac:<folder of items> yields one unlabelled train sample per item; readSampleAt reads an item file', async () => {
    const dir = join(tmp, 'items');
    await mkdir(dir);
    await writeFile(join(dir, 'a-l8.json'), JSON.stringify(landsat8Item(l8File)));
    await writeFile(
      join(dir, 'b-landfire.json'),
      JSON.stringify(landfireItem((n) => dataPath('landsat8_landfire_gdalraster', `sr_b${n}_20200829.tif`))),
    );
    const src = readDataset(`stac:${dir}`);
    const items = [];
    for await (const item of src) items.push(item);
    expect(src.total).toBe(2);
    expect(src.classes).toEqual([]);
    expect(items.map((i) => [i.sample.id, i.split, i.sample.bands.length])).toEqual([
      [L8_ID, 'train', 7],
      ['storml_sr_20200829', 'train', 3],
    ]);
    const one = await readSampleAt(l8ItemPath);
    expect(one.bands.map((b) => b.name)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7']);
  });
});

describe('a STAC Item read by windows', () => {
  it('gives the bands, scale and pixels readStacItem gives, cropped to the window', async () => {
    const whole = await readStacItem(landfirePath);
    const scene = await openSceneWindows(landfirePath);
    try {
      expect(scene.bandNames).toEqual(whole.bands.map((b) => `${b.sensor}:${b.name}`));
      const win = await scene.readWindow(10, 20, 30, 15);
      const crop = whole.bands.map((b) => cropBand(b, 10, 20, 30, 15));
      expect(win.bands.map((b) => ({ ...b, values: Array.from(b.values) }))).toEqual(
        crop.map((b) => ({ ...b, values: Array.from(b.values) })),
      );
    } finally {
      await scene.close();
    }
  });
});

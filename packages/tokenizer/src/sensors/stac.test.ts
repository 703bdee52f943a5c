import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BandSpec, Sensor } from '../types.js';
import { SensorCatalog } from './catalog.js';
import { loadStacItem, sensorFromStacItem, stacAssetBands } from './stac.js';

// Small items modelled on real ones: Earth Search v1 `sentinel-2-l2a` (STAC 1.0,
// eo:bands per asset, raster:bands), USGS Landsat Collection 2 Level-2 (STAC 1.0,
// platform LANDSAT_8), a STAC 1.1 item (`bands` with eo: prefixed fields, fields
// on single-band assets), and a Planetary Computer style Sentinel-1 GRD item.

const COG = 'image/tiff; application=geotiff; profile=cloud-optimized';
const S2_BASE = 'https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/32/T/NS/2023/6/S2A_32TNS_20230617_0_L2A';
const s2Raster = (res: number) => [{ nodata: 0, data_type: 'uint16', spatial_resolution: res, scale: 0.0001, offset: -0.1 }];

function earthSearchS2(): Record<string, unknown> {
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    stac_extensions: [
      'https://stac-extensions.github.io/eo/v1.1.0/schema.json',
      'https://stac-extensions.github.io/raster/v1.1.0/schema.json',
    ],
    id: 'S2A_32TNS_20230617_0_L2A',
    geometry: null,
    properties: {
      datetime: '2023-06-17T10:26:03Z',
      platform: 'sentinel-2a',
      constellation: 'sentinel-2',
      instruments: ['msi'],
      'eo:cloud_cover': 3.1,
    },
    assets: {
      blue: {
        href: `${S2_BASE}/B02.tif`,
        type: COG,
        roles: ['data', 'reflectance'],
        gsd: 10,
        'eo:bands': [{ name: 'B02', common_name: 'blue', center_wavelength: 0.49, full_width_half_max: 0.098 }],
        'raster:bands': s2Raster(10),
      },
      red: {
        href: `${S2_BASE}/B04.tif`,
        type: COG,
        roles: ['data', 'reflectance'],
        gsd: 10,
        'eo:bands': [{ name: 'B04', common_name: 'red', center_wavelength: 0.665, full_width_half_max: 0.038 }],
        'raster:bands': s2Raster(10),
      },
      rededge1: {
        href: `${S2_BASE}/B05.tif`,
        type: COG,
        roles: ['data', 'reflectance'],
        gsd: 20,
        'eo:bands': [{ name: 'B05', common_name: 'rededge', center_wavelength: 0.704, full_width_half_max: 0.019 }],
        'raster:bands': s2Raster(20),
      },
      swir22: {
        href: `${S2_BASE}/B12.tif`,
        type: COG,
        roles: ['data', 'reflectance'],
        // No asset gsd: the GSD comes from raster:bands[0].spatial_resolution.
        'eo:bands': [{ name: 'B12', common_name: 'swir22', center_wavelength: 2.19, full_width_half_max: 0.242 }],
        'raster:bands': s2Raster(20),
      },
      visual: {
        href: `${S2_BASE}/TCI.tif`,
        type: COG,
        roles: ['visual'],
        gsd: 10,
        'eo:bands': [
          { name: 'B04', common_name: 'red', center_wavelength: 0.665, full_width_half_max: 0.038 },
          { name: 'B03', common_name: 'green', center_wavelength: 0.56, full_width_half_max: 0.045 },
          { name: 'B02', common_name: 'blue', center_wavelength: 0.49, full_width_half_max: 0.098 },
        ],
      },
      'blue-jp2': {
        href: 's3://sentinel-s2-l2a/tiles/32/T/NS/2023/6/17/0/R10m/B02.jp2',
        type: 'image/jp2',
        roles: ['data', 'reflectance'],
        gsd: 10,
        'eo:bands': [{ name: 'B02', common_name: 'blue', center_wavelength: 0.49, full_width_half_max: 0.098 }],
      },
      scl: {
        href: `${S2_BASE}/SCL.tif`,
        type: COG,
        roles: ['data'],
        'raster:bands': [{ nodata: 0, spatial_resolution: 20, data_type: 'uint8' }],
      },
      thumbnail: { href: `${S2_BASE}/thumbnail.jpg`, type: 'image/jpeg', roles: ['thumbnail'] },
    },
  };
}

function landsatC2(): Record<string, unknown> {
  const raster = (scale: number, offset: number) => [{ data_type: 'uint16', nodata: 0, spatial_resolution: 30, scale, offset }];
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    id: 'LC08_L2SP_047027_20201204_02_T1_SR',
    properties: { datetime: '2020-12-04T19:02:04Z', platform: 'LANDSAT_8', instruments: ['OLI', 'TIRS'] },
    assets: {
      red: {
        href: './LC08_L2SP_047027_20201204_20210313_02_T1_SR_B4.TIF',
        type: COG,
        roles: ['data'],
        'eo:bands': [{ name: 'SR_B4', common_name: 'red', center_wavelength: 0.65, full_width_half_max: 0.04 }],
        'raster:bands': raster(0.0000275, -0.2),
      },
      nir08: {
        href: './LC08_L2SP_047027_20201204_20210313_02_T1_SR_B5.TIF',
        type: COG,
        roles: ['data'],
        'eo:bands': [{ name: 'SR_B5', common_name: 'nir08', center_wavelength: 0.86, full_width_half_max: 0.03 }],
        'raster:bands': raster(0.0000275, -0.2),
      },
      lwir11: {
        href: './LC08_L2SP_047027_20201204_20210313_02_T1_ST_B10.TIF',
        type: COG,
        roles: ['data', 'temperature'],
        'eo:bands': [{ name: 'ST_B10', common_name: 'lwir11', center_wavelength: 10.9, full_width_half_max: 0.8 }],
        'raster:bands': raster(0.00341802, 149),
      },
    },
  };
}

function stac11(): Record<string, unknown> {
  return {
    type: 'Feature',
    stac_version: '1.1.0',
    id: 'S2B_T33UUP_20240701',
    properties: { datetime: '2024-07-01T10:00:00Z', platform: 'sentinel-2b', instruments: ['msi'] },
    assets: {
      B02: {
        href: 'B02.tif',
        type: COG,
        bands: [
          {
            name: 'B02',
            'eo:common_name': 'blue',
            'eo:center_wavelength': 0.4923,
            'eo:full_width_half_max': 0.066,
            'raster:spatial_resolution': 10,
          },
        ],
      },
      // STAC 1.1 best practice: fields shared by the asset's one band sit on the asset.
      B11: {
        href: 'B11.tif',
        type: COG,
        'eo:center_wavelength': 1.6104,
        'eo:full_width_half_max': 0.091,
        'eo:common_name': 'swir16',
        gsd: 20,
        bands: [{ name: 'B11' }],
      },
      nir08: {
        href: 'B8A.tif',
        type: COG,
        'eo:center_wavelength': 0.864,
        'eo:full_width_half_max': 0.021,
        'eo:common_name': 'nir08',
        'raster:spatial_resolution': 20,
      },
      scl: { href: 'SCL.tif', type: COG, bands: [{ nodata: 0, data_type: 'uint8' }] },
    },
  };
}

function sentinel1(): Record<string, unknown> {
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    id: 'S1A_IW_GRDH_1SDV_20230601T054512',
    properties: {
      datetime: '2023-06-01T05:45:12Z',
      platform: 'SENTINEL-1A',
      instruments: ['c-sar'],
      'sar:instrument_mode': 'IW',
      'sar:polarizations': ['VV', 'VH'],
      'sar:pixel_spacing_range': 10,
      'sar:pixel_spacing_azimuth': 10,
    },
    assets: {
      vh: { href: 'measurement/iw-vh.tiff', type: COG, roles: ['data'], title: 'VH: vertical transmit, horizontal receive' },
      vv: { href: 'measurement/iw-vv.tiff', type: COG, roles: ['data'], title: 'VV: vertical transmit, vertical receive' },
      thumbnail: { href: 'preview/quick-look.png', type: 'image/png', roles: ['thumbnail'] },
    },
  };
}

const band = (s: Sensor, name: string): BandSpec => {
  const b = s.bands.find((x) => x.name === name);
  if (b === undefined) throw new Error(`test: no band ${name} in ${s.id}: ${s.bands.map((x) => x.name).join(',')}`);
  return b;
};
const physics = (b: BandSpec) => (b.kind === 'spectral' ? [b.wavelengthNm, b.bandwidthNm, b.gsdM] : [b.channelKind, b.gsdM]);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-stac-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sensorFromStacItem', () => {
  it('STAC 1.0 Earth Search Sentinel-2: eo:bands per asset, micrometres -> nm, duplicates merged', () => {
    const s = sensorFromStacItem(earthSearchS2());
    expect(s.id).toBe('sentinel-2a-msi');
    // blue, red, rededge1, swir22 in asset order, then B03 (only in visual); SCL and thumbnail have no band metadata.
    expect(s.bands.map((b) => b.name)).toEqual(['B02', 'B04', 'B05', 'B12', 'B03']);
    expect(physics(band(s, 'B02'))).toEqual([490, 98, 10]);
    expect(physics(band(s, 'B05'))).toEqual([704, 19, 20]);
    expect(physics(band(s, 'B12'))).toEqual([2190, 242, 20]);
    expect(band(s, 'B02').commonName).toBe('blue');
    // Asset keys of single-band assets become aliases.
    expect(band(s, 'B05').aliases).toEqual(['rededge1']);
    expect(band(s, 'B02').aliases).toEqual(['blue', 'blue-jp2']);
    expect(s.source).toContain('S2A_32TNS_20230617_0_L2A');

    // The sensor resolves through a catalogue like any other.
    const catalog = SensorCatalog.default();
    catalog.add(s);
    expect(catalog.resolveBand('sentinel-2a-msi', 'REDEDGE1').name).toBe('B05');
    expect(catalog.resolveBand('sentinel-2a-msi', 'swir22').name).toBe('B12');
  });

  it('STAC 1.0 Landsat C2: GSD from raster:bands, thermal in micrometres, platform LANDSAT_8', () => {
    const s = sensorFromStacItem(landsatC2());
    expect(s.id).toBe('landsat_8-oli-tirs');
    expect(s.bands.map((b) => b.name)).toEqual(['SR_B4', 'SR_B5', 'ST_B10']);
    expect(physics(band(s, 'SR_B5'))).toEqual([860, 30, 30]);
    expect(physics(band(s, 'ST_B10'))).toEqual([10900, 800, 30]);
    expect(sensorFromStacItem(landsatC2(), { id: 'my-l8', name: 'L8 from STAC' })).toMatchObject({ id: 'my-l8', name: 'L8 from STAC' });
  });

  it('STAC 1.1: bands with eo: fields, asset-level fields, asset-only bands; raster-only bands skipped', () => {
    const s = sensorFromStacItem(stac11());
    expect(s.id).toBe('sentinel-2b-msi');
    expect(s.bands.map((b) => b.name)).toEqual(['B02', 'B11', 'nir08']);
    expect(physics(band(s, 'B02'))).toEqual([492.3, 66, 10]);
    expect(physics(band(s, 'B11'))).toEqual([1610.4, 91, 20]);
    expect(physics(band(s, 'nir08'))).toEqual([864, 21, 20]);
    expect(band(s, 'B11').commonName).toBe('swir16');
  });

  it('item-level eo:bands referenced by name from assets (older STAC 1.0 layout)', () => {
    const item = {
      type: 'Feature',
      id: 'legacy',
      properties: {
        platform: 'landsat-7',
        instruments: ['etm+'],
        gsd: 30,
        'eo:bands': [
          { name: 'B3', common_name: 'red', center_wavelength: 0.66, full_width_half_max: 0.06 },
          { name: 'B4', common_name: 'nir', center_wavelength: 0.835, full_width_half_max: 0.13 },
        ],
      },
      assets: { B4: { href: 'B4.TIF', 'eo:bands': [{ name: 'B4' }] }, B3: { href: 'B3.TIF', 'eo:bands': [0] } },
    };
    const s = sensorFromStacItem(item);
    expect(s.id).toBe('landsat-7-etm+');
    expect(s.bands.map((b) => [b.name, ...physics(b)])).toEqual([
      ['B4', 835, 130, 30],
      ['B3', 660, 60, 30],
    ]);
  });

  it('Sentinel-1: polarisations become channel bands, GSD from the SAR pixel spacing', () => {
    const s = sensorFromStacItem(sentinel1());
    expect(s.id).toBe('sentinel-1a-c-sar');
    expect(s.bands.map((b) => [b.name, ...physics(b)])).toEqual([
      ['VH', 'sar-vh', 10],
      ['VV', 'sar-vv', 10],
    ]);
    for (const b of s.bands) expect(b.kind).toBe('channel');
  });

  it('errors name the asset and band, or the missing field', () => {
    const noWl = earthSearchS2();
    (noWl.assets as Record<string, Record<string, unknown>>).blue!['eo:bands'] = [{ name: 'B02', common_name: 'blue' }];
    expect(() => sensorFromStacItem(noWl)).toThrow(
      /STAC item S2A_32TNS_20230617_0_L2A: asset 'blue' band 'B02': optical band without a centre wavelength/,
    );

    const noWidth = stac11();
    delete (noWidth.assets as Record<string, Record<string, unknown>>).B11!['eo:full_width_half_max'];
    expect(() => sensorFromStacItem(noWidth, { sourceName: 'items/s2b.json' })).toThrow(
      /items\/s2b.json: asset 'B11' band 'B11': optical band without a width/,
    );

    const noGsd = landsatC2();
    delete (noGsd.assets as Record<string, Record<string, unknown>>).red!['raster:bands'];
    expect(() => sensorFromStacItem(noGsd)).toThrow(/asset 'red' band 'SR_B4': no ground sample distance/);
    expect(sensorFromStacItem(noGsd, { gsdM: 30 }).bands[0]!.gsdM).toBe(30);

    const conflict = earthSearchS2();
    (conflict.assets as Record<string, Record<string, unknown>>)['blue-jp2']!['eo:bands'] = [
      { name: 'B02', common_name: 'blue', center_wavelength: 0.492, full_width_half_max: 0.098 },
    ];
    expect(() => sensorFromStacItem(conflict)).toThrow(/band 'B02' of asset 'blue-jp2' disagrees with the same band of asset 'blue'/);

    const noPlatform = landsatC2();
    delete (noPlatform.properties as Record<string, unknown>).platform;
    expect(() => sensorFromStacItem(noPlatform)).toThrow(/no properties.platform to name the sensor; pass opts.id/);

    expect(() => sensorFromStacItem({ type: 'FeatureCollection', id: 'x', properties: {}, assets: {} })).toThrow(
      /type: expected "Feature" \(a STAC Item\), got "FeatureCollection"/,
    );
    expect(() => sensorFromStacItem({ type: 'Feature', id: 'empty', properties: { platform: 'p' }, assets: {} })).toThrow(
      /STAC item empty: no band metadata/,
    );
    expect(() => sensorFromStacItem(earthSearchS2(), { assets: ['coastal'] })).toThrow(/no asset 'coastal'; assets: blue, red/);
  });
});

describe('stacAssetBands and loadStacItem', () => {
  it('maps each asset with bands to its band names in file order', () => {
    const map = stacAssetBands(earthSearchS2());
    expect(Object.fromEntries(map.map((a) => [a.asset, a.bands]))).toEqual({
      blue: ['B02'],
      red: ['B04'],
      rededge1: ['B05'],
      swir22: ['B12'],
      visual: ['B04', 'B03', 'B02'],
      'blue-jp2': ['B02'],
    });
    const blue = map.find((a) => a.asset === 'blue');
    expect(blue).toMatchObject({ href: `${S2_BASE}/B02.tif`, type: COG, roles: ['data', 'reflectance'] });
    expect(stacAssetBands(sentinel1()).map((a) => [a.asset, a.bands])).toEqual([
      ['vh', ['VH']],
      ['vv', ['VV']],
    ]);
  });

  it('loads an item file and resolves relative hrefs against its folder; bad files are named', async () => {
    const path = join(dir, 'landsat-item.json');
    await writeFile(path, JSON.stringify(landsatC2()));
    const item = await loadStacItem(path);
    expect(item.id).toBe('LC08_L2SP_047027_20201204_02_T1_SR');
    const map = stacAssetBands(item, { itemPath: path });
    expect(map[0]).toMatchObject({ asset: 'red', bands: ['SR_B4'], href: join(dir, 'LC08_L2SP_047027_20201204_20210313_02_T1_SR_B4.TIF') });
    // Absolute URLs stay as they are.
    expect(stacAssetBands(earthSearchS2(), { itemPath: path })[0]!.href).toBe(`${S2_BASE}/B02.tif`);

    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"type": "Feature", "id": 3}');
    await expect(loadStacItem(bad)).rejects.toThrow(new RegExp(`${bad}: id: expected the item id`));
    await writeFile(bad, 'not json');
    await expect(loadStacItem(bad)).rejects.toThrow(/bad.json: not valid JSON/);
  });
});

describe('STAC sensors beside the built-in catalogue', () => {
  it('derived ids do not collide with built-in ids or aliases', () => {
    const catalog = SensorCatalog.default();
    for (const item of [earthSearchS2(), landsatC2(), stac11(), sentinel1()]) catalog.add(sensorFromStacItem(item));
    expect(catalog.list()).toHaveLength(12 + 4);
  });
});

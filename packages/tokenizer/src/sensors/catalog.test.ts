import { describe, expect, it } from 'vitest';
import type { Sensor } from '../types.js';
import { SensorCatalog } from './catalog.js';

const catalog = SensorCatalog.default();
const names = (sensor: string, list: string[]) => catalog.resolveGroup(sensor, list).map((b) => b.name);

function userSensor(over: Partial<Sensor> = {}): Sensor {
  return {
    id: 'my-cam',
    name: 'My camera',
    aliases: ['mycam'],
    bands: [
      { kind: 'spectral', name: 'C1', aliases: [], commonName: 'blue', wavelengthNm: 480, bandwidthNm: 40, gsdM: 0.1 },
      { kind: 'spectral', name: 'C2', aliases: ['nir-band'], wavelengthNm: 850, bandwidthNm: 40, gsdM: 0.1 },
    ],
    groups: {},
    source: 'test',
    ...over,
  };
}

describe('SensorCatalog sensors', () => {
  it('finds sensors by id and alias, case-insensitively', () => {
    for (const [alias, id] of [
      ['s2a', 'sentinel-2a'],
      ['S2A', 'sentinel-2a'],
      ['Sentinel2A', 'sentinel-2a'],
      ['sentinel-2', 'sentinel-2a'],
      ['S2B', 'sentinel-2b'],
      ['landsat8', 'landsat-8'],
      ['L8', 'landsat-8'],
      ['LC08', 'landsat-8'],
      ['LC09', 'landsat-9'],
      ['LE07', 'landsat-7'],
      ['LT05', 'landsat-5-tm'],
      ['LT04', 'landsat-4-tm'],
      ['s1', 'sentinel-1'],
      ['MSS', 'landsat-mss'],
      ['SuperDove', 'planetscope-superdove'],
    ]) {
      expect(catalog.get(alias as string).id, alias).toBe(id);
      expect(catalog.has(alias as string)).toBe(true);
    }
    expect(catalog.has('sentinel-3')).toBe(false);
  });

  it('an unknown sensor is an Error naming it and listing the known ids', () => {
    expect(() => catalog.get('worldview-3')).toThrow(/unknown sensor 'worldview-3'.*sentinel-2a.*landsat-8.*naip/);
  });

  it('sensors are frozen: a caller cannot corrupt the shared numbers', () => {
    const b02 = catalog.resolveBand('s2a', 'B02');
    expect(() => {
      (b02 as { gsdM: number }).gsdM = 20;
    }).toThrow(TypeError);
    expect(catalog.resolveBand('s2a', 'B02').gsdM).toBe(10);
  });

  it('default() gives independent catalogues', () => {
    const a = SensorCatalog.default();
    a.add(userSensor());
    expect(a.has('my-cam')).toBe(true);
    expect(SensorCatalog.default().has('my-cam')).toBe(false);
  });

  it('add() validates, adds an `all` group, and rejects a duplicate id or alias', () => {
    const c = SensorCatalog.default();
    const s = c.add(userSensor());
    expect(s.groups.all).toEqual(['C1', 'C2']);
    expect(c.get('MYCAM').id).toBe('my-cam');
    expect(() => c.add(userSensor())).toThrow(/id 'my-cam' is already used by sensor 'my-cam'/);
    expect(() => c.add(userSensor({ id: 'other', aliases: ['L8'] }))).toThrow(/alias 'L8' is already used by sensor 'landsat-8'/);
    expect(() => c.add(userSensor({ id: 'sentinel-2a' }))).toThrow(/'sentinel-2a' is already used/);
  });

  it('add() rejects bad numbers and clashing band names, naming the field', () => {
    const c = new SensorCatalog();
    const bad = userSensor();
    (bad.bands[1] as { wavelengthNm: number }).wavelengthNm = -850;
    expect(() => c.add(bad)).toThrow(/sensor 'my-cam': bands\[1\]\.wavelengthNm: expected a positive number, got -850/);
    const nan = userSensor();
    nan.bands[0]!.gsdM = Number.NaN;
    expect(() => c.add(nan)).toThrow(/bands\[0\]\.gsdM: expected a positive number, got NaN/);
    const clash = userSensor();
    clash.bands[1]!.aliases = ['c1'];
    expect(() => c.add(clash)).toThrow(/bands\[1\]\.aliases\[0\]: 'c1' is already a name or alias of band 'C1'/);
    expect(() => c.add(userSensor({ groups: { vis: ['C1', 'C9'] } }))).toThrow(/groups\.vis\[1\]: unknown band 'C9'/);
    expect(() => c.add(userSensor({ id: 'a:b' }))).toThrow(/id: expected an id without spaces or ':'/);
    expect(c.list()).toEqual([]);
  });
});

describe('SensorCatalog bands', () => {
  it('resolves band names, unpadded names, STAC common names and asset keys', () => {
    expect(catalog.resolveBand('sentinel-2a', 'B2').name).toBe('B02');
    expect(catalog.resolveBand('sentinel-2a', 'b02').name).toBe('B02');
    expect(catalog.resolveBand('S2A', 'blue').name).toBe('B02');
    expect(catalog.resolveBand('s2a', 'b8a').name).toBe('B8A');
    expect(catalog.resolveBand('s2a', 'nir').name).toBe('B08');
    expect(catalog.resolveBand('s2a', 'nir08').name).toBe('B8A');
    expect(catalog.resolveBand('s2a', 'rededge2').name).toBe('B06');
    expect(catalog.resolveBand('s2a', 'swir22').name).toBe('B12');
    expect(catalog.resolveBand('landsat-8', 'lwir11').name).toBe('B10');
    expect(catalog.resolveBand('landsat-8', 'SR_B4').name).toBe('B4');
    expect(catalog.resolveBand('landsat-8', 'sr_b5').name).toBe('B5');
    expect(catalog.resolveBand('landsat-8', 'pan').name).toBe('B8');
    expect(catalog.resolveBand('LE07', 'B6_VCID_1').name).toBe('B6');
    expect(catalog.resolveBand('LE07', 'B6_VCID_2').name).toBe('B6');
    expect(catalog.resolveBand('modis', 'sur_refl_b02').name).toBe('B2');
    expect(catalog.resolveBand('s1', 'vv').name).toBe('VV');
  });

  it('MSS: Landsat 4/5 numbering and the Statlog order map onto MSS 4..7', () => {
    expect(['B1', 'B2', 'B3', 'B4'].map((b) => catalog.resolveBand('landsat-mss', b).name)).toEqual(['MSS4', 'MSS5', 'MSS6', 'MSS7']);
    expect(['1', '2', '3', '4'].map((b) => catalog.resolveBand('landsat-mss', b).name)).toEqual(['MSS4', 'MSS5', 'MSS6', 'MSS7']);
  });

  it('an unknown band is an Error naming the band and the sensor and listing its bands', () => {
    let message = '';
    try {
      catalog.resolveBand('s2a', 'B99');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/unknown band 'B99'/);
    expect(message).toMatch(/sentinel-2a/);
    expect(message).toMatch(/B01, B02, B03, B04, B05, B06, B07, B08, B8A, B09, B10, B11, B12/);
    // A band of another sensor is pointed at.
    expect(() => catalog.resolveBand('landsat-8', 'B8A')).toThrow(/'B8A' is a band of sentinel-2a, sentinel-2b/);
  });

  it('a common name shared by several bands is ambiguous, with the candidates named', () => {
    expect(() => catalog.resolveBand('s2a', 'rededge')).toThrow(/ambiguous.*B05, B06, B07/);
  });

  it('findBand lists every sensor that knows a band name', () => {
    expect(catalog.findBand('B8A').map((m) => m.sensor.id)).toEqual(['sentinel-2a', 'sentinel-2b']);
    const vh = catalog.findBand('VH');
    expect(vh.map((m) => m.sensor.id)).toEqual(['sentinel-1']);
    const swir16 = catalog.findBand('swir16').map((m) => `${m.sensor.id}:${m.band.name}`);
    expect(swir16).toContain('landsat-8:B6');
    expect(swir16).toContain('landsat-7:B5');
    expect(swir16).toContain('modis:B6');
    expect(catalog.findBand('nothing-like-this')).toEqual([]);
  });

  it('resolveBand accepts a Sensor object that is not in the catalogue', () => {
    expect(catalog.resolveBand(userSensor(), 'NIR-BAND').name).toBe('C2');
  });
});

describe('SensorCatalog groups', () => {
  it('Sentinel-2 groups', () => {
    expect(names('s2a', ['rgb'])).toEqual(['B02', 'B03', 'B04']);
    expect(names('s2a', ['rgbn'])).toEqual(['B02', 'B03', 'B04', 'B08']);
    expect(names('s2a', ['rededge'])).toEqual(['B05', 'B06', 'B07']);
    expect(names('s2a', ['nir'])).toEqual(['B08', 'B8A']);
    expect(names('s2a', ['swir'])).toEqual(['B11', 'B12']);
    expect(names('s2a', ['10m'])).toEqual(['B02', 'B03', 'B04', 'B08']);
    expect(names('s2a', ['20m'])).toEqual(['B05', 'B06', 'B07', 'B8A', 'B11', 'B12']);
    expect(names('s2a', ['60m'])).toEqual(['B01', 'B09', 'B10']);
    expect(names('s2a', ['all'])).toHaveLength(13);
    const ben = names('s2b', ['BigEarthNet']);
    expect(ben).toHaveLength(12);
    expect(ben).not.toContain('B10');
    // Every 10/20/60 m group member has that GSD.
    for (const [g, gsd] of [
      ['10m', 10],
      ['20m', 20],
      ['60m', 60],
    ] as const) {
      for (const b of catalog.resolveGroup('s2a', [g])) expect(b.gsdM, `${g} ${b.name}`).toBe(gsd);
    }
  });

  it('Landsat and Sentinel-1 groups', () => {
    expect(names('landsat-8', ['thermal'])).toEqual(['B10', 'B11']);
    expect(names('landsat-8', ['swir'])).toEqual(['B6', 'B7']);
    expect(names('l8', ['reflective'])).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7']);
    expect(names('landsat-7', ['reflective'])).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B7']);
    expect(names('landsat-5-tm', ['visible'])).toEqual(['B1', 'B2', 'B3']);
    expect(names('landsat-7', ['thermal'])).toEqual(['B6']);
    expect(names('s1', ['dual-vv'])).toEqual(['VV', 'VH']);
    expect(names('s1', ['dual-hh'])).toEqual(['HH', 'HV']);
  });

  it('mixes groups and band names, keeps order and drops duplicates', () => {
    expect(names('s2a', ['swir', 'B2', 'blue', 'RGB'])).toEqual(['B11', 'B12', 'B02', 'B03', 'B04']);
  });

  it('an unknown entry is an Error naming it, the sensor, its groups and bands', () => {
    expect(() => catalog.resolveGroup('s2a', ['rgb', 'thermal'])).toThrow(
      /unknown band or group 'thermal' for sensor sentinel-2a.*its bands: B01.*its groups: rgb/,
    );
    expect(() => catalog.resolveGroup('s2a', [])).toThrow(/no bands requested for sensor sentinel-2a/);
  });
});

import { describe, expect, it } from 'vitest';
import type { BandSpec } from '../types.js';
import { SensorCatalog } from './catalog.js';

// Expected numbers are typed from the band tables of docs/sensors.md, not from
// the catalogue source: [band, centre nm, width nm, GSD m].
type Row = [string, number, number, number];

const catalog = SensorCatalog.default();

function expectSpectral(sensor: string, [band, centre, width, gsd]: Row): void {
  const b: BandSpec = catalog.resolveBand(sensor, band);
  expect(b.kind, `${sensor} ${band}`).toBe('spectral');
  if (b.kind !== 'spectral') return;
  expect([b.wavelengthNm, b.bandwidthNm, b.gsdM], `${sensor} ${band}`).toEqual([centre, width, gsd]);
}

describe('built-in sensors (docs/sensors.md)', () => {
  it('holds every sensor of docs/sensors.md under the agreed ids', () => {
    expect(
      catalog
        .list()
        .map((s) => s.id)
        .sort(),
    ).toEqual(
      [
        'landsat-4-tm',
        'landsat-5-tm',
        'landsat-7',
        'landsat-8',
        'landsat-9',
        'landsat-mss',
        'modis',
        'naip',
        'planetscope-superdove',
        'sentinel-1',
        'sentinel-2a',
        'sentinel-2b',
      ].sort(),
    );
    for (const s of catalog.list()) expect(s.source.length, s.id).toBeGreaterThan(10);
  });

  it('Sentinel-2A: 13 bands with the S2-SRF numbers', () => {
    const rows: Row[] = [
      ['B01', 442.7, 21, 60],
      ['B02', 492.4, 66, 10],
      ['B05', 704.1, 15, 20],
      ['B08', 832.8, 106, 10],
      ['B8A', 864.7, 21, 20],
      ['B10', 1373.5, 31, 60],
      ['B12', 2202.4, 175, 20],
    ];
    for (const r of rows) expectSpectral('sentinel-2a', r);
    expect(catalog.get('sentinel-2a').bands).toHaveLength(13);
  });

  it('Sentinel-2B: its own centres, S2A widths and GSDs, B10 included', () => {
    const rows: Row[] = [
      ['B01', 442.2, 21, 60],
      ['B04', 664.9, 31, 10],
      ['B07', 779.7, 20, 20],
      ['B8A', 864.0, 21, 20],
      ['B10', 1376.9, 31, 60],
      ['B12', 2185.7, 175, 20],
    ];
    for (const r of rows) expectSpectral('sentinel-2b', r);
    expect(catalog.get('sentinel-2b').bands.map((b) => b.name)).toEqual(catalog.get('sentinel-2a').bands.map((b) => b.name));
  });

  it('Landsat 8 and 9: OLI/TIRS', () => {
    for (const id of ['landsat-8', 'landsat-9']) {
      expectSpectral(id, ['B1', 443, 20, 30]);
      expectSpectral(id, ['B2', 482.5, 65, 30]);
      expectSpectral(id, ['B5', 865, 40, 30]);
      expectSpectral(id, ['B8', 590, 180, 15]);
      expectSpectral(id, ['B9', 1375, 30, 30]);
      expectSpectral(id, ['B11', 12005, 1010, 100]);
      expect(catalog.get(id).bands).toHaveLength(11);
    }
  });

  it('Landsat TM and ETM+: ETM+ has the narrower NIR, 60 m thermal and a pan band', () => {
    for (const id of ['landsat-4-tm', 'landsat-5-tm']) {
      expectSpectral(id, ['B1', 485, 70, 30]);
      expectSpectral(id, ['B4', 830, 140, 30]);
      expectSpectral(id, ['B6', 11450, 2100, 120]);
      expectSpectral(id, ['B7', 2215, 270, 30]);
      expect(catalog.get(id).bands.map((b) => b.name)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7']);
    }
    expectSpectral('landsat-7', ['B4', 835, 130, 30]);
    expectSpectral('landsat-7', ['B6', 11450, 2100, 60]);
    expectSpectral('landsat-7', ['B8', 710, 380, 15]);
    expectSpectral('landsat-7', ['B3', 660, 60, 30]);
  });

  it('Landsat MSS: bands 4..7 green, red, NIR, NIR', () => {
    expectSpectral('landsat-mss', ['MSS4', 550, 100, 80]);
    expectSpectral('landsat-mss', ['MSS5', 650, 100, 80]);
    expectSpectral('landsat-mss', ['MSS6', 750, 100, 80]);
    expectSpectral('landsat-mss', ['MSS7', 950, 300, 80]);
  });

  it('MODIS bands 1..7', () => {
    expectSpectral('modis', ['B1', 645, 50, 250]);
    expectSpectral('modis', ['B2', 858.5, 35, 250]);
    expectSpectral('modis', ['B3', 469, 20, 500]);
    expectSpectral('modis', ['B6', 1640, 24, 500]);
    expectSpectral('modis', ['B7', 2130, 50, 500]);
    expect(catalog.get('modis').bands).toHaveLength(7);
  });

  it('PlanetScope SuperDove: 8 bands at 3 m', () => {
    expectSpectral('planetscope-superdove', ['B1', 441.5, 21, 3]);
    expectSpectral('planetscope-superdove', ['B3', 531, 36, 3]);
    expectSpectral('planetscope-superdove', ['B5', 610, 20, 3]);
    expectSpectral('planetscope-superdove', ['B8', 865, 40, 3]);
    expect(catalog.get('planetscope-superdove').bands).toHaveLength(8);
  });

  it('NAIP: 4 approximate bands at 0.6 m, flagged as camera-dependent', () => {
    expectSpectral('naip', ['blue', 470, 60, 0.6]);
    expectSpectral('naip', ['nir', 840, 100, 0.6]);
    const naip = catalog.get('naip');
    expect(naip.bands.map((b) => b.name)).toEqual(['red', 'green', 'blue', 'nir']);
    expect(naip.source).toMatch(/camera-dependent/);
  });

  it('Sentinel-1: VV, VH, HH, HV are channel bands at 10 m, never a wavelength', () => {
    const s1 = catalog.get('sentinel-1');
    expect(s1.bands.map((b) => b.name)).toEqual(['VV', 'VH', 'HH', 'HV']);
    for (const b of s1.bands) {
      expect(b.kind).toBe('channel');
      expect(b.gsdM).toBe(10);
      expect('wavelengthNm' in b).toBe(false);
      if (b.kind === 'channel') expect(b.channelKind).toBe(`sar-${b.name.toLowerCase()}`);
    }
  });

  it('every spectral band has a width and a GSD > 0 and its centre inside 400 nm .. 13 um', () => {
    for (const s of catalog.list()) {
      for (const b of s.bands) {
        expect(b.gsdM, `${s.id} ${b.name}`).toBeGreaterThan(0);
        if (b.kind !== 'spectral') continue;
        expect(b.bandwidthNm, `${s.id} ${b.name}`).toBeGreaterThan(0);
        expect(b.wavelengthNm, `${s.id} ${b.name}`).toBeGreaterThan(400);
        expect(b.wavelengthNm, `${s.id} ${b.name}`).toBeLessThan(13000);
      }
    }
  });
});

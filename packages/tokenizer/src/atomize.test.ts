import { describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { bandStatsKey } from './band-stats.js';
import type { BandRaster, BandStats, Sample } from './types.js';

function s2Band(name: string, size: number, gsdM: number, fill = (i: number) => 1000 + (i % 97)): BandRaster {
  const values = new Uint16Array(size * size);
  for (let i = 0; i < values.length; i++) values[i] = fill(i);
  return {
    kind: 'spectral',
    wavelengthNm: 500,
    bandwidthNm: 20,
    name,
    sensor: 'sentinel-2a',
    gsdM,
    width: size,
    height: size,
    values,
    scale: 1,
    offset: 0,
  };
}

describe('atomize', () => {
  it('a BigEarthNet-shaped S2 patch (4x120x120 + 6x60x60 + 2x20x20) gives 80,000 atoms', () => {
    const bands = [
      ...['B02', 'B03', 'B04', 'B08'].map((n) => s2Band(n, 120, 10)),
      ...['B05', 'B06', 'B07', 'B8A', 'B11', 'B12'].map((n) => s2Band(n, 60, 20)),
      ...['B01', 'B09'].map((n) => s2Band(n, 20, 60)),
    ];
    const { atoms, missing } = atomize({ id: 'p', bands, labels: [] });
    expect(4 * 14400 + 6 * 3600 + 2 * 400).toBe(80000);
    expect(atoms.length).toBe(80000);
    expect(missing).toBe(0);
    expect(atoms.bands.map((b) => b.name)).toEqual(bands.map((b) => b.name));
    // Atoms of band 5 (B06, 20 m) are its 3600 pixels.
    expect(atoms.band.filter((b) => b === 5).length).toBe(3600);
  });

  it('a 2x2 band at 10 m: pixel centres at x = -5, 5 and y = 5, -5 (north up), row-major', () => {
    const { atoms } = atomize({ id: 'p', bands: [s2Band('B02', 2, 10)], labels: [] });
    expect(Array.from(atoms.x)).toEqual([-5, 5, -5, 5]);
    expect(Array.from(atoms.y)).toEqual([5, 5, -5, -5]);
  });

  it('bands of different GSD cover the same footprint on grids of their own spacing', () => {
    const { atoms } = atomize({ id: 'p', bands: [s2Band('B02', 120, 10), s2Band('B05', 60, 20)], labels: [] });
    const xs = (b: number) => Array.from(atoms.x).filter((_, i) => atoms.band[i] === b);
    const x10 = xs(0);
    const x20 = xs(1);
    // 10 m: centres -595 .. 595 step 10; 20 m: -590 .. 590 step 20; both span [-600, 600].
    expect(Math.min(...x10)).toBe(-595);
    expect(Math.max(...x10)).toBe(595);
    expect(Math.min(...x20)).toBe(-590);
    expect(Math.max(...x20)).toBe(590);
    expect(x20[1]! - x20[0]!).toBe(20);
    expect(x10[1]! - x10[0]!).toBe(10);
  });

  it('applies scale and offset, and z-scores with the band statistics', () => {
    const band: BandRaster = { ...s2Band('B04', 2, 10), values: new Uint16Array([0, 100, 200, 300]), scale: 0.0001, offset: -0.1 };
    const raw = atomize({ id: 'p', bands: [band], labels: [] });
    // physical = stored * 1e-4 - 0.1
    [-0.1, -0.09, -0.08, -0.07].forEach((v, i) => expect(raw.atoms.value[i]).toBeCloseTo(v, 6));
    const stats: BandStats = { key: 'sentinel-2a:B04', count: 4, mean: -0.085, std: 0.01, min: -0.1, max: -0.07 };
    const z = atomize({ id: 'p', bands: [band], labels: [] }, { stats: { [stats.key]: stats } });
    [-1.5, -0.5, 0.5, 1.5].forEach((v, i) => expect(z.atoms.value[i]).toBeCloseTo(v, 5));
    const zMap = atomize({ id: 'p', bands: [band], labels: [] }, { stats: new Map([[stats.key, stats]]) });
    expect(Array.from(zMap.atoms.value)).toEqual(Array.from(z.atoms.value));
    expect(bandStatsKey(band)).toBe('sentinel-2a:B04');
  });

  it("'image' z-scores each band with its own statistics in this sample (a constant band is only centred)", () => {
    const band: BandRaster = {
      ...s2Band('B04', 2, 10),
      values: new Uint16Array([0, 100, 200, 300]),
      scale: 0.0001,
      offset: -0.1,
      nodata: 0,
    };
    const flat: BandRaster = { ...s2Band('B03', 2, 10), values: new Uint16Array([7, 7, 7, 7]) };
    const z = atomize({ id: 'p', bands: [band, flat], labels: [] }, { normalize: 'image' });
    // valid physical values -0.09, -0.08, -0.07 (0 is nodata): mean -0.08, population std 0.00816
    const sd = Math.sqrt(2 / 3) * 0.01;
    [-0.01 / sd, 0, 0.01 / sd].forEach((v, i) => expect(z.atoms.value[i]).toBeCloseTo(v, 4));
    expect(Array.from(z.atoms.value.slice(3))).toEqual([0, 0, 0, 0]);
    // No statistics needed, none used: the run's table changes nothing.
    const stats: BandStats = { key: 'sentinel-2a:B04', count: 4, mean: 5, std: 9, min: 0, max: 9 };
    expect(
      Array.from(atomize({ id: 'p', bands: [band, flat], labels: [] }, { normalize: 'image', stats: { [stats.key]: stats } }).atoms.value),
    ).toEqual(Array.from(z.atoms.value));
  });

  it('drops NaN and nodata pixels and counts them per band; positions stay those of the kept pixels', () => {
    const withNodata: BandRaster = { ...s2Band('B02', 2, 10), values: new Uint16Array([5, 0, 7, 0]), nodata: 0 };
    const withNaN: BandRaster = {
      kind: 'channel',
      channelKind: 'sar-vv',
      name: 'VV',
      sensor: 'sentinel-1',
      gsdM: 10,
      width: 3,
      height: 1,
      values: new Float32Array([Number.NaN, -12.5, Number.NaN]),
      scale: 1,
      offset: 0,
    };
    const { atoms, missing, missingByBand } = atomize({ id: 'p', bands: [withNodata, withNaN], labels: [] });
    expect(missing).toBe(4);
    expect(missingByBand).toEqual({ B02: 2, VV: 2 });
    expect(atoms.length).toBe(3);
    expect(Array.from(atoms.value)).toEqual([5, 7, -12.5]);
    expect(Array.from(atoms.band)).toEqual([0, 0, 1]);
    expect(Array.from(atoms.x)).toEqual([-5, -5, 0]);
    expect(Array.from(atoms.y)).toEqual([5, -5, 0]);
    expect(atoms.value).toHaveLength(3); // trimmed, not a view over the padded buffer
    expect(atoms.bands[1]).toEqual({ kind: 'channel', channelKind: 'sar-vv', name: 'VV', gsdM: 10 });
  });

  it('takes the day of year from sample.time, NaN when unknown', () => {
    const bands = [s2Band('B02', 1, 10)];
    const withTime: Sample = { id: 'p', bands, labels: [], time: { iso: '2017-06-17T11:33:21Z', year: 2017, doy: 168 } };
    expect(atomize(withTime).atoms.doy).toBe(168);
    expect(atomize({ id: 'p', bands, labels: [] }).atoms.doy).toBeNaN();
  });

  it('errors name the band: missing statistics, bad raster size, bad GSD', () => {
    const sample: Sample = { id: 'p', source: '/data/patch', bands: [s2Band('B02', 2, 10)], labels: [] };
    expect(() => atomize(sample, { normalize: 'zscore', stats: {} })).toThrow(/no statistics for band 'sentinel-2a:B02'/);
    expect(() => atomize(sample, { normalize: 'zscore' })).toThrow(/\/data\/patch.*sentinel-2a:B02/);
    const bad: Sample = { id: 'p', bands: [{ ...s2Band('B03', 2, 10), width: 3 }], labels: [] };
    expect(() => atomize(bad)).toThrow(/band 'B03'.*4 values; expected width\*height = 3\*2 = 6/);
    const badGsd: Sample = { id: 'p', bands: [{ ...s2Band('B04', 2, 10), gsdM: 0 }], labels: [] };
    expect(() => atomize(badGsd)).toThrow(/band 'B04'.*gsdM/);
  });
});

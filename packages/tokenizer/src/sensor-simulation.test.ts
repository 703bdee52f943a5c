import { beforeAll, describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { dataPath } from './data-dir.js';
import { applyModality, parseModality } from './modality.js';
import { readBigEarthNetPatch } from './readers/bigearthnet.js';
import { SimulationSchema, simulateSensor, spectralWeights } from './sensor-simulation.js';
import { SensorCatalog } from './sensors/index.js';
import type { BandRaster, Sample } from './types.js';

const catalog = SensorCatalog.default();
let s2: Sample; // BigEarthNet patch: 10 m bands 120x120, 20 m bands 60x60, 60 m bands 20x20 (uint16, scale 1e-4)
beforeAll(async () => {
  s2 = await readBigEarthNetPatch(dataPath('bigearthnet_tiny', 's2', 'S2B_MSIL2A_20170924T093019_43_47'));
});

const band = (s: Sample, name: string): BandRaster => {
  const b = s.bands.find((x) => x.name === name);
  if (b === undefined) throw new Error(`test: no band ${name} in ${s.id}`);
  return b;
};
const phys = (b: BandRaster, i: number): number => b.values[i]! * b.scale + b.offset;
const spec = (input: object) => SimulationSchema.parse(input);

describe('spectralWeights', () => {
  it('weighs each source band by the nanometres it shares with the target, summing to 1', () => {
    const s2Bands = catalog.get('sentinel-2a').bands.flatMap((b) => (b.kind === 'spectral' ? [b] : []));
    const tmBlue = catalog.resolveBand('landsat-5-tm', 'B1'); // 450-520 nm
    if (tmBlue.kind !== 'spectral') throw new Error('test: TM B1 is spectral');
    const w = spectralWeights(tmBlue, s2Bands);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const byName = new Map(s2Bands.map((b, i) => [b.name, w[i]!]));
    expect(byName.get('B02')!).toBeGreaterThan(0.8); // S2 blue covers most of it
    expect(byName.get('B04')).toBe(0);
    expect(byName.get('B12')).toBe(0);
    expect(spectralWeights({ wavelengthNm: 11450, bandwidthNm: 2100 }, s2Bands).every((x) => x === 0)).toBe(true);
  });
});

describe('simulateSensor', () => {
  it('synthesises every TM band the source covers on a 30 m grid, as 8-bit digital numbers', () => {
    const tm = simulateSensor(s2, spec({ sensor: 'landsat-5', bits: 8, gain: 0.0025, offset: 0 }), catalog);
    expect(tm.bands.map((b) => b.name)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B7']); // thermal B6: no source band
    expect(tm.labels).toEqual(s2.labels);
    expect(tm.id).toBe(s2.id);
    for (const b of tm.bands) {
      expect(b.sensor).toBe('landsat-5-tm');
      expect([b.width, b.height, b.gsdM]).toEqual([40, 40, 30]);
      expect(b.values).toBeInstanceOf(Uint8Array);
      expect([b.scale, b.offset, b.nodata]).toEqual([0.0025, 0, 0]);
    }
    // TM red (630-690 nm) overlaps S2 B04 (649.5-680.5) only: each pixel is the mean of a 3x3 block of B04.
    const red = band(tm, 'B3');
    const b04 = band(s2, 'B04');
    for (const [ox, oy] of [
      [0, 0],
      [17, 5],
      [39, 39],
    ] as const) {
      let sum = 0;
      for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) sum += phys(b04, (oy * 3 + dy) * 120 + ox * 3 + dx);
      expect(Math.abs(phys(red, oy * 40 + ox) - sum / 9)).toBeLessThanOrEqual(0.0025 / 2 + 1e-9);
    }
  });

  it('mixes overlapping source bands of different grids (a 60 m, a 20 m and a 10 m band in one target band)', () => {
    // MSS7 (800-1100 nm) overlaps B08 (10 m), B8A (20 m) and B09 (60 m).
    const mss = simulateSensor(s2, spec({ sensor: 'landsat-mss', bands: ['MSS7'], gsdM: 60 }), catalog);
    const nir = band(mss, 'MSS7');
    expect([nir.width, nir.height, nir.gsdM]).toEqual([20, 20, 60]);
    expect(nir.values).toBeInstanceOf(Uint16Array);
    const src = ['B08', 'B8A', 'B09'].map((n) => band(s2, n));
    const s2Bands = src.map((b) => ({
      wavelengthNm: (b as { wavelengthNm: number }).wavelengthNm,
      bandwidthNm: (b as { bandwidthNm: number }).bandwidthNm,
    }));
    const mss7 = catalog.resolveBand('landsat-mss', 'MSS7');
    if (mss7.kind !== 'spectral') throw new Error('test: MSS7 is spectral');
    const w = spectralWeights(mss7, s2Bands);
    // Pixel (0, 0) covers B08 [0,6)^2, B8A [0,3)^2 and B09 pixel 0.
    const mean = (b: BandRaster, k: number) => {
      let s = 0;
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) s += phys(b, y * b.width + x);
      return s / (k * k);
    };
    const expected = w[0]! * mean(src[0]!, 6) + w[1]! * mean(src[1]!, 3) + w[2]! * mean(src[2]!, 1);
    expect(Math.abs(phys(nir, 0) - expected)).toBeLessThanOrEqual(2.75e-5 / 2 + 1e-7);
  });

  it('clamps to the digital-number range and keeps 0 for pixels with no valid source', () => {
    const bright: Sample = {
      ...s2,
      bands: s2.bands.map((b) => ({ ...b, values: new Float32Array(b.values.length).fill(0.9), scale: 1, offset: 0 })),
    };
    (bright.bands[1]!.values as Float32Array)[0] = Number.NaN; // B02, pixel (0,0)
    const tm = simulateSensor(bright, spec({ sensor: 'landsat-5-tm', bands: ['B1'], bits: 6, gain: 0.01, offset: 0, gsdM: 10 }), catalog);
    const blue = band(tm, 'B1');
    expect(blue.values[1]).toBe(63); // 0.9 / 0.01 = 90 > 2^6 - 1
    // B1 (450-520) also overlaps B01 (coastal, 432.5-453.5: 3.5 nm), so pixel 0 still has a value.
    expect(blue.values[0]).toBe(63);
    const nan: Sample = {
      ...bright,
      bands: bright.bands.map((b) => ({ ...b, values: new Float32Array(b.values.length).fill(Number.NaN) })),
    };
    expect([...band(simulateSensor(nan, spec({ sensor: 'landsat-8', bands: ['B4'] }), catalog), 'B4').values.slice(0, 4)]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('refuses a band no source band overlaps, a channel band and a source without spectral bands, naming them', () => {
    expect(() => simulateSensor(s2, spec({ sensor: 'landsat-5-tm', bands: ['B6'] }), catalog)).toThrow(
      /no source band overlaps landsat-5-tm:B6 \(10400-12500 nm\).*leave B6 out/,
    );
    expect(() => simulateSensor(s2, spec({ sensor: 'sentinel-1', bands: ['VV'] }), catalog)).toThrow(
      /sentinel-1:VV is a .* channel, not a spectral band/,
    );
    const sar: Sample = { ...s2, bands: [] };
    expect(() => simulateSensor(sar, spec({ sensor: 'landsat-8' }), catalog)).toThrow(/has no spectral band to simulate from/);
    expect(() => simulateSensor(s2, spec({ sensor: 'no-such-sensor' }), catalog)).toThrow(/no-such-sensor/);
    expect(() => SimulationSchema.parse({ sensor: 'landsat-8', bitz: 8 })).toThrow(/bitz/);
  });
});

describe('a modality that simulates a sensor', () => {
  it('presents the image as that sensor, then subsets, crops and downsamples its bands', () => {
    const m = parseModality({
      name: 'tm-rgb-60m',
      simulate: { sensor: 'landsat-5-tm', bits: 8, gain: 0.0025, offset: 0 },
      bands: ['rgb'],
      resolutionFactor: 0.5,
    });
    const view = applyModality(s2, m, { mode: 'eval', catalog });
    expect(view.bands.map((b) => `${b.sensor}:${b.name}`)).toEqual(['landsat-5-tm:B1', 'landsat-5-tm:B2', 'landsat-5-tm:B3']);
    expect(view.bands.every((b) => b.width === 20 && b.gsdM === 60)).toBe(true);
    const atoms = atomize(view, { normalize: 'none' });
    expect(atoms.atoms.length).toBe(3 * 20 * 20);
    expect(atoms.atoms.bands.map((b) => (b.kind === 'spectral' ? b.wavelengthNm : 0))).toEqual([485, 560, 660]);
  });
});

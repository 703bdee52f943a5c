import { describe, expect, it } from 'vitest';
import { BandStatsAccumulator, describeNormalization } from './band-stats.js';
import { SeededRng } from './rng.js';
import type { BandRaster, Sample } from './types.js';

function band(name: string, values: BandRaster['values'], extra: Partial<BandRaster> = {}): BandRaster {
  return {
    kind: 'spectral',
    wavelengthNm: 500,
    bandwidthNm: 10,
    name,
    sensor: 'sentinel-2a',
    gsdM: 10,
    width: values.length,
    height: 1,
    values,
    scale: 1,
    offset: 0,
    ...extra,
  } as BandRaster;
}

describe('BandStatsAccumulator', () => {
  it('matches a two-pass reference over many random samples, with a large offset', () => {
    const rng = new SeededRng(5);
    const acc = new BandStatsAccumulator();
    const all: number[] = [];
    for (let s = 0; s < 40; s++) {
      const n = 50 + rng.int(200);
      const values = new Uint16Array(n);
      for (let i = 0; i < n; i++) values[i] = 60000 + rng.int(1000); // reflectance-like, mean far from 0
      const sample: Sample = { id: `s${s}`, bands: [band('B02', values, { scale: 0.5, offset: 3 })], labels: [] };
      acc.add(sample);
      for (const v of values) all.push(v * 0.5 + 3);
    }
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length;
    const [st] = acc.result();
    expect(st!.key).toBe('sentinel-2a:B02');
    expect(st!.count).toBe(all.length);
    expect(st!.mean).toBeCloseTo(mean, 9);
    expect(st!.std / Math.sqrt(variance) - 1).toBeLessThan(1e-10);
    expect(st!.min).toBe(Math.min(...all));
    expect(st!.max).toBe(Math.max(...all));
  });

  it('excludes NaN and nodata; hand-computed: values 1, 3 -> mean 2, population std 1', () => {
    const acc = new BandStatsAccumulator();
    acc.addBand(band('B03', new Uint16Array([1, 0, 3]), { nodata: 0 }));
    acc.addBand(band('VV', new Float32Array([Number.NaN, 2, 4, 6])));
    const [b03, vv] = acc.result();
    expect(b03).toEqual({ key: 'sentinel-2a:B03', count: 2, mean: 2, std: 1, min: 1, max: 3 });
    expect(vv!.count).toBe(3);
    expect(vv!.mean).toBe(4);
    expect(vv!.std).toBeCloseTo(Math.sqrt(8 / 3), 12);
  });

  it('merging accumulators equals one accumulator over everything', () => {
    const a = new BandStatsAccumulator().addBand(band('B04', new Uint16Array([1, 2, 3])));
    const b = new BandStatsAccumulator().addBand(band('B04', new Uint16Array([10, 20])));
    const whole = new BandStatsAccumulator().addBand(band('B04', new Uint16Array([1, 2, 3, 10, 20])));
    const merged = a.addAll(b).result()[0]!;
    const ref = whole.result()[0]!;
    expect(merged.count).toBe(5);
    expect(merged.mean).toBeCloseTo(ref.mean, 12);
    expect(merged.std).toBeCloseTo(ref.std, 12);
  });

  it('a band with no valid value reports count 0', () => {
    const [st] = new BandStatsAccumulator().addBand(band('B05', new Uint16Array([0, 0]), { nodata: 0 })).result();
    expect(st).toEqual({ key: 'sentinel-2a:B05', count: 0, mean: 0, std: 0, min: 0, max: 0 });
  });
});

describe('describeNormalization', () => {
  it('is one line naming the strategy, the pixel count and the bands', () => {
    const line = describeNormalization([
      { key: 'sentinel-2a:B02', count: 1000, mean: 1200.4, std: 300.2, min: 0, max: 5000 },
      { key: 'sentinel-2a:B03', count: 500, mean: 0.5, std: 0.25, min: 0, max: 1 },
    ]);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/z-score/);
    expect(line).toContain('1,500 valid pixels of 2 bands');
    expect(line).toContain('sentinel-2a:B02 1200±300');
    expect(describeNormalization([])).toMatch(/no normalisation/);
  });
});

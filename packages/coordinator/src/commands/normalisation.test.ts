import type { BandRaster, BandStats, Sample } from '@atomizer/tokenizer';
import type { RunContext } from '@atomizer/worker';
import { describe, expect, it } from 'vitest';
import { NormalisationBuilder, checkStatsChoice, normalisationFor } from './normalisation.js';

// --stats auto|run|dataset on a run holding Landsat-8 reflectance statistics
// (as the sen2-sensors runs do, from their simulated views) and Sentinel-2B's,
// applied to samples in DN (scale 1), in reflectance (scale 2.75e-5, offset -0.2)
// and of Sentinel-2A (the family's statistics).

const band = (sensor: string, name: string, values: number[], scale = 1, offset = 0): BandRaster => ({
  kind: 'spectral',
  wavelengthNm: 655,
  bandwidthNm: 30,
  sensor,
  name,
  gsdM: 30,
  width: values.length,
  height: 1,
  values: Uint16Array.from(values),
  scale,
  offset,
});
const DN = [8000, 9000, 10000, 11000];
const l8 = (scale = 1, offset = 0): Sample => ({
  id: 'l8',
  labels: [0],
  bands: [
    band('landsat-8', 'B4', DN, scale, offset),
    band(
      'landsat-8',
      'B5',
      DN.map((v) => v + 4000),
      scale,
      offset,
    ),
  ],
});
const stat = (key: string, mean: number, std: number): BandStats => ({ key, count: 100, mean, std, min: 0, max: 1 });
const ctxOf = (normalisation: 'train-split' | 'image' = 'train-split') =>
  ({
    config: { run: 'sen2-x', dataset: { normalisation } },
    stats: new Map(
      [stat('landsat-8:B4', 0.16, 0.06), stat('landsat-8:B5', 0.34, 0.12), stat('sentinel-2b:B04', 0.15, 0.05)].map((s) => [s.key, s]),
    ),
  }) as unknown as RunContext;

describe('which statistics normalise each band (--stats)', () => {
  it("auto: bands in DN against the run's reflectance use this dataset's own, with one note saying why and how to force the run's", () => {
    const r = normalisationFor([l8()], ctxOf());
    expect(r.table.map((t) => [t.band, t.source, t.mean])).toEqual([
      ['landsat-8:B4', 'dataset', 9500],
      ['landsat-8:B5', 'dataset', 13500],
    ]);
    expect(r.table[0]!.stats).toBe("landsat-8:B4 (this dataset, 4 values; the run's landsat-8:B4 is in other units)");
    expect(r.stats.get('landsat-8:B4')!.mean).toBe(9500);
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(
      /^landsat-8:B4, landsat-8:B5 normalised with this dataset's own statistics, not the run's: not in the units of the run's statistics \(landsat-8:B4: mean 9500 is .*\); give the bands' scale\/offset .* or --stats run to force the run's$/,
    );
  });

  it("auto: the same bands in reflectance (scale/offset) use the run's, no note", () => {
    const r = normalisationFor([l8(2.75e-5, -0.2)], ctxOf());
    expect(r.table.map((t) => [t.band, t.source, t.stats])).toEqual([
      ['landsat-8:B4', 'run', 'landsat-8:B4'],
      ['landsat-8:B5', 'run', 'landsat-8:B5'],
    ]);
    expect(r.notes).toEqual([]);
  });

  it("run: the run's statistics even for DN (forced), no note", () => {
    const r = normalisationFor([l8()], ctxOf(), 'run');
    expect(r.table.map((t) => [t.source, t.mean])).toEqual([
      ['run', 0.16],
      ['run', 0.34],
    ]);
    expect(r.notes).toEqual([]);
  });

  it("dataset: this dataset's own statistics for every band, the run's and the family's too", () => {
    const s2a: Sample = { id: 's2a', labels: [0], bands: [band('sentinel-2a', 'B04', [1000, 2000], 1e-4)] };
    const r = normalisationFor([l8(2.75e-5, -0.2), s2a], ctxOf(), 'dataset');
    expect(r.table.map((t) => [t.band, t.source])).toEqual([
      ['landsat-8:B4', 'dataset'],
      ['landsat-8:B5', 'dataset'],
      ['sentinel-2a:B04', 'dataset'],
    ]);
    expect(r.stats.get('sentinel-2a:B04')!.mean).toBeCloseTo(0.15, 12);
    // auto: Sentinel-2A borrows its family's (Sentinel-2B) statistics, in the same units.
    expect(normalisationFor([s2a], ctxOf()).table.map((t) => [t.source, t.stats])).toEqual([['family', 'sentinel-2b:B04']]);
  });

  it("the builder asks for a pass over the whole imagery when a band is in other units, for dataset, and not when the run's fit", () => {
    const need = (choice: 'auto' | 'run' | 'dataset', s: Sample) => {
      const b = new NormalisationBuilder(ctxOf(), choice);
      b.add(s);
      return b.needsImageryStats;
    };
    expect(need('auto', l8())).toBe(true);
    expect(need('auto', l8(2.75e-5, -0.2))).toBe(false);
    expect(need('run', l8())).toBe(false);
    expect(need('dataset', l8(2.75e-5, -0.2))).toBe(true);
  });

  it('a run normalised per image takes no explicit --stats: one line naming the run and what to do', () => {
    expect(() => checkStatsChoice(ctxOf('image'), 'auto')).not.toThrow();
    expect(() => checkStatsChoice(ctxOf('train-split'), 'dataset')).not.toThrow();
    expect(() => checkStatsChoice(ctxOf('image'), 'dataset')).toThrow(
      /^--stats dataset: run sen2-x normalises each sample with its own statistics \(dataset\.normalisation 'image'\), as eval does too; --stats applies to runs normalised with statistics \('train-split'\): leave it out$/,
    );
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { BandStatsAccumulator } from './band-stats.js';
import { dataPath } from './data-dir.js';
import { readBigEarthNetPatch } from './readers/bigearthnet.js';
import { SeededRng } from './rng.js';
import { resampleBand } from './resample.js';
import { spectralWeights } from './sensor-simulation.js';
import { trainAtoms, type TrainRecipe } from './train-view.js';
import type { BandStats, Sample } from './types.js';
import { VIRTUAL_SENSOR, randomVirtualSensor } from './virtual-sensor.js';

let s2: Sample; // BigEarthNet patch: 12 bands on 10, 20 and 60 m grids
let stats: Map<string, BandStats>;
beforeAll(async () => {
  s2 = await readBigEarthNetPatch(dataPath('bigearthnet_tiny', 's2', 'S2B_MSIL2A_20170924T093019_43_47'));
  stats = new Map(
    new BandStatsAccumulator()
      .add(s2)
      .result()
      .map((b) => [b.key, b]),
  );
});

const spectral = (s: Sample) => s.bands.flatMap((b) => (b.kind === 'spectral' ? [b] : []));

describe('randomVirtualSensor', () => {
  it('draws 1..n bands over spans of the real ones, on the finest grid, the same for the same seed', () => {
    const counts = new Set<number>();
    let widest = 0;
    for (let seed = 0; seed < 40; seed++) {
      const { sample, stats: table } = randomVirtualSensor(s2, stats, new SeededRng(seed));
      const again = randomVirtualSensor(s2, stats, new SeededRng(seed)).sample;
      expect(again.bands.map((b) => b.values)).toEqual(sample.bands.map((b) => b.values));
      counts.add(sample.bands.length);
      for (const b of spectral(sample)) {
        expect(b.sensor).toBe(VIRTUAL_SENSOR);
        expect([b.width, b.height, b.gsdM]).toEqual([120, 120, 10]);
        expect(spectralWeights(b, spectral(s2)).some((w) => w > 0)).toBe(true);
        expect(table instanceof Map && table.has(`${VIRTUAL_SENSOR}:${b.name}`)).toBe(true);
        widest = Math.max(widest, b.bandwidthNm);
      }
      expect(sample.labels).toBe(s2.labels);
    }
    expect(Math.min(...counts)).toBeLessThanOrEqual(3);
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(10);
    expect(widest).toBeGreaterThan(250); // several neighbours in one band (as Landsat MSS's 0.8-1.1 um)
    expect(stats.has('virtual:V1')).toBe(false); // the run's table is not touched
  });

  it("makes each band the overlap-weighted mix of the real bands, z-scored on the real bands' scale", () => {
    const { sample, stats: table } = randomVirtualSensor(s2, stats, new SeededRng(3));
    const sources = spectral(s2);
    const v = spectral(sample)[0]!;
    const w = spectralWeights(v, sources);
    const p = 120 * 57 + 33;
    const expected = sources.reduce((s, b, i) => (w[i]! > 0 ? s + w[i]! * resampleBand(b, 120, 120).values[p]! : s), 0);
    expect(v.values[p]).toBeCloseTo(expected, 5);
    const atoms = atomize(sample, { stats: table, normalize: 'zscore' }).atoms;
    const mean = atoms.value.reduce((s, x) => s + x, 0) / atoms.length;
    const sd = Math.sqrt(atoms.value.reduce((s, x) => s + (x - mean) ** 2, 0) / atoms.length);
    expect(Math.abs(mean)).toBeLessThan(0.25);
    expect(sd).toBeGreaterThan(0.6);
    expect(sd).toBeLessThan(1.2);
  });

  it('trainAtoms: virtualSensor 1 always, 0 never (and then draws nothing)', () => {
    const recipe: TrainRecipe = { stats, virtualSensor: 1, spectralJitterNm: 0, dihedral: false, atomKeepMin: 1, maxAtoms: 1_000_000 };
    const on = trainAtoms(s2, undefined, recipe, new SeededRng(5))!;
    expect(on.bands.every((b) => b.name.startsWith('V'))).toBe(true);
    const rng = new SeededRng(5);
    const off = trainAtoms(s2, undefined, { ...recipe, virtualSensor: 0 }, rng)!;
    expect(off.bands.map((b) => b.name)).toEqual(s2.bands.map((b) => b.name));
    expect(rng.next()).toBe(new SeededRng(5).next());
  });
});

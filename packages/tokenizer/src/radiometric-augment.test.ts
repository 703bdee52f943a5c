import { beforeAll, describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { BandStatsAccumulator } from './band-stats.js';
import { dataPath } from './data-dir.js';
import { randomRadiometry, radiometricJitterOn } from './radiometric-augment.js';
import { readBigEarthNetPatch } from './readers/bigearthnet.js';
import { SeededRng } from './rng.js';
import { trainAtoms, type TrainRecipe } from './train-view.js';
import type { BandRaster, BandStats, Sample } from './types.js';

// The radiometric step on a real BigEarthNet Sentinel-2 patch (uint16, scale 1e-4) and its
// Sentinel-1 pair (dB, channel bands).

let s2: Sample;
let s1: Sample;
let stats: Map<string, BandStats>;
beforeAll(async () => {
  s2 = await readBigEarthNetPatch(dataPath('bigearthnet_tiny', 's2', 'S2B_MSIL2A_20170924T093019_43_47'));
  const s1Dir = dataPath('bigearthnet_tiny', 's1');
  const { readdir } = await import('node:fs/promises');
  s1 = await readBigEarthNetPatch(`${s1Dir}/${(await readdir(s1Dir)).sort()[0]!}`);
  stats = new Map(
    new BandStatsAccumulator()
      .add(s2)
      .result()
      .map((b) => [b.key, b]),
  );
});

const physical = (b: BandRaster, i: number): number => Number(b.values[i]) * b.scale + b.offset;
const OFF = { gain: 1, bandGain: 1, shift: 0 };

describe('randomRadiometry', () => {
  it('off: the sample itself, nothing drawn', () => {
    const rng = new SeededRng(1);
    expect(radiometricJitterOn(OFF)).toBe(false);
    expect(radiometricJitterOn(undefined)).toBe(false);
    expect(randomRadiometry(s2, OFF, rng)).toBe(s2);
    expect(rng.next()).toBe(new SeededRng(1).next());
  });

  it('a common gain keeps every ratio between bands, and changes only scale and offset', () => {
    const out = randomRadiometry(s2, { gain: 2, bandGain: 1, shift: 0 }, new SeededRng(4));
    const g = out.bands[0]!.scale / s2.bands[0]!.scale;
    expect(g).not.toBeCloseTo(1, 3);
    expect(g).toBeGreaterThanOrEqual(0.5);
    expect(g).toBeLessThanOrEqual(2);
    out.bands.forEach((b, k) => {
      const src = s2.bands[k]!;
      expect(b.values).toBe(src.values); // no pixel copied
      expect(physical(b, 17)).toBeCloseTo(g * physical(src, 17), 9);
    });
    expect(s2.bands[0]!.scale).toBe(1e-4); // the input is not touched
  });

  it('per-band gains and shifts stay inside their ranges, differ between bands, and are the same for the same seed', () => {
    const j = { gain: 1, bandGain: 1.25, shift: 0.02 };
    const gains: number[] = [];
    const shifts: number[] = [];
    for (let seed = 0; seed < 20; seed++) {
      const out = randomRadiometry(s2, j, new SeededRng(seed));
      expect(randomRadiometry(s2, j, new SeededRng(seed)).bands.map((b) => [b.scale, b.offset])).toEqual(
        out.bands.map((b) => [b.scale, b.offset]),
      );
      out.bands.forEach((b, k) => {
        gains.push(b.scale / s2.bands[k]!.scale);
        shifts.push(b.offset - s2.bands[k]!.offset * (b.scale / s2.bands[k]!.scale));
      });
    }
    expect(Math.min(...gains)).toBeGreaterThanOrEqual(1 / 1.25);
    expect(Math.max(...gains)).toBeLessThanOrEqual(1.25);
    expect(Math.max(...shifts.map(Math.abs))).toBeLessThanOrEqual(0.02);
    expect(Math.min(...shifts)).toBeLessThan(-0.015);
    expect(Math.max(...shifts)).toBeGreaterThan(0.015);
    expect(new Set(gains.slice(0, 12).map((g) => g.toFixed(6))).size).toBe(12);
  });

  it('leaves channel bands (SAR backscatter in dB) as they are', () => {
    const out = randomRadiometry(s1, { gain: 2, bandGain: 2, shift: 1 }, new SeededRng(3));
    expect(out.bands.map((b) => [b.scale, b.offset])).toEqual(s1.bands.map((b) => [b.scale, b.offset]));
  });

  it('refuses a gain below 1 or a negative or non-finite shift, naming it', () => {
    const rng = new SeededRng(0);
    expect(() => randomRadiometry(s2, { ...OFF, gain: 0.5 }, rng)).toThrow(/gain must be a finite factor >= 1 \(1: off\), got 0\.5/);
    expect(() => randomRadiometry(s2, { ...OFF, bandGain: Number.NaN }, rng)).toThrow(/bandGain must be/);
    expect(() => randomRadiometry(s2, { ...OFF, shift: -0.1 }, rng)).toThrow(/shift must be a finite value >= 0/);
  });
});

describe('trainAtoms with radiometry', () => {
  const base: Omit<TrainRecipe, 'stats'> = { virtualSensor: 0, spectralJitterNm: 0, dihedral: true, atomKeepMin: 0.5, maxAtoms: 1_000_000 };

  it('off (absent or all parts off): the same atoms as without it, bit for bit', () => {
    for (let s = 0; s < 5; s++) {
      const a = trainAtoms(s2, undefined, { ...base, stats }, new SeededRng(s))!;
      const b = trainAtoms(s2, undefined, { ...base, stats, radiometry: OFF }, new SeededRng(s))!;
      expect(b.value).toEqual(a.value);
      expect(b.x).toEqual(a.x);
    }
  });

  it('on: a z-score moved by the gain and shift, before normalisation', () => {
    const recipe: TrainRecipe = { ...base, stats, dihedral: false, atomKeepMin: 1, radiometry: { gain: 1, bandGain: 1, shift: 0.05 } };
    const on = trainAtoms(s2, undefined, recipe, new SeededRng(2))!;
    const plain = atomize(s2, { stats, normalize: 'zscore' }).atoms;
    expect(on.length).toBe(plain.length);
    // Each band moved by one constant in z units: its shift / the band's std.
    const b0 = [...Array(on.length).keys()].filter((i) => on.band[i] === 0);
    const d = b0.map((i) => on.value[i]! - plain.value[i]!);
    expect(Math.max(...d) - Math.min(...d)).toBeLessThan(1e-4);
    const std = stats.get(`${s2.bands[0]!.sensor}:${s2.bands[0]!.name}`)!.std;
    expect(Math.abs(d[0]! * std)).toBeLessThanOrEqual(0.05 + 1e-6);
    expect(Math.abs(d[0]!)).toBeGreaterThan(0);
  });
});

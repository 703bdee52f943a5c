import { beforeAll, describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { BandStatsAccumulator } from './band-stats.js';
import { dataPath } from './data-dir.js';
import { applyModality, parseModality } from './modality.js';
import { insideSupport, resolveModalityLists } from './modality-lists.js';
import { readBigEarthNetPatch } from './readers/bigearthnet.js';
import { SeededRng } from './rng.js';
import { SensorCatalog } from './sensors/index.js';
import { dihedralAtoms } from './spatial-augment.js';
import { trainAtoms, type TrainRecipe } from './train-view.js';
import type { Sample } from './types.js';

// The training recipe on a real BigEarthNet Sentinel-2 patch: training views drawn
// from a declared distribution, the support check, rotations/mirrors, atom dropout.

const catalog = SensorCatalog.default();
let s2: Sample;
beforeAll(async () => {
  s2 = await readBigEarthNetPatch(dataPath('bigearthnet_tiny', 's2', 'S2B_MSIL2A_20170924T093019_43_47'));
});

const rgbnAny = parseModality({
  name: 'rgbn-any',
  sensor: 'sentinel-2',
  bands: ['B02', 'B03', 'B04', 'B08'],
  minBands: 1,
  resolutionRange: [0.5, 1],
});

describe('training distributions', () => {
  it('draws band subsets of every size from minBands to all, and resolution factors inside the range', () => {
    const sizes = new Set<number>();
    const widths = new Set<number>();
    const rng = new SeededRng(3);
    for (let i = 0; i < 200; i++) {
      const v = applyModality(s2, rgbnAny, { mode: 'train', rng, catalog });
      sizes.add(v.bands.length);
      for (const b of v.bands) {
        expect(['B02', 'B03', 'B04', 'B08']).toContain(b.name);
        widths.add(b.width);
      }
    }
    expect([...sizes].sort()).toEqual([1, 2, 3, 4]);
    // 120 px at factors in [0.5, 1]: every width from 60 to 120 is reachable, nothing outside.
    expect(Math.min(...widths)).toBeGreaterThanOrEqual(60);
    expect(Math.max(...widths)).toBeLessThanOrEqual(120);
    expect(widths.size).toBeGreaterThan(20);
  });

  it('presents the canonical view in eval mode and the same draw for the same seed', () => {
    const ev = applyModality(s2, rgbnAny, { mode: 'eval', catalog });
    expect(ev.bands.map((b) => b.name)).toEqual(['B02', 'B03', 'B04', 'B08']);
    expect(ev.bands[0]!.width).toBe(120);
    const a = applyModality(s2, rgbnAny, { mode: 'train', rng: new SeededRng(9), catalog });
    const b = applyModality(s2, rgbnAny, { mode: 'train', rng: new SeededRng(9), catalog });
    expect(a.bands.map((x) => [x.name, x.width])).toEqual(b.bands.map((x) => [x.name, x.width]));
  });

  it('refuses a range that does not hold the canonical factor, or is reversed', () => {
    expect(() => parseModality({ name: 'x', resolutionRange: [0.5, 0.8] })).toThrow(
      /resolutionRange: the canonical factor 1 must lie inside/,
    );
    expect(() => parseModality({ name: 'x', sizeRange: [1, 0.5] })).toThrow(/sizeRange: \[lo, hi\] with lo <= hi/);
  });

  it('knows what lies inside a support: subsets of at least minBands, factors inside the ranges', () => {
    const m = (o: object) => parseModality({ name: 't', sensor: 'sentinel-2', ...o });
    expect(insideSupport(m({ bands: ['B04'] }), rgbnAny, catalog)).toBe(true);
    expect(insideSupport(m({ bands: ['B02', 'B08'], resolutionFactor: 0.6 }), rgbnAny, catalog)).toBe(true);
    expect(insideSupport(m({ bands: ['B02', 'B08'], resolutionFactor: 0.33 }), rgbnAny, catalog)).toBe(false);
    expect(insideSupport(m({ bands: ['B02', 'B11'] }), rgbnAny, catalog)).toBe(false);
    expect(insideSupport(m({ bands: ['B04'], sizeFactor: 0.5 }), rgbnAny, catalog)).toBe(false);
    const fixed = parseModality({ name: 'f', sensor: 'sentinel-2', bands: ['B02', 'B03'] });
    expect(insideSupport(m({ bands: ['B03', 'B02'] }), fixed, catalog)).toBe(true);
    expect(insideSupport(m({ bands: ['B02'] }), fixed, catalog)).toBe(false);
  });

  it('refuses a test modality inside the training support, naming both', () => {
    expect(() =>
      resolveModalityLists(
        { train: [rgbnAny], test: [{ name: 'rgb-coarse', sensor: 'sentinel-2', bands: ['B02', 'B03', 'B04'], resolutionFactor: 0.7 }] },
        { catalog },
      ),
    ).toThrow(
      /test modality 'rgb-coarse' lies inside the training support of 'rgbn-any' \(bands B02\+B03\+B04\+B08 \(any 1\+\), resolution factor 0.5-1/,
    );
    const ok = resolveModalityLists(
      { train: [rgbnAny], test: [{ name: 'rgb-coarse', sensor: 'sentinel-2', bands: ['B02', 'B03', 'B04'], resolutionFactor: 0.33 }] },
      { catalog },
    );
    expect(ok.test[0]!.name).toBe('rgb-coarse');
  });
});

describe('spatial augmentation and atom dropout', () => {
  it('maps positions by the 8 symmetries of the square, values and bands untouched', () => {
    const atoms = atomize(
      applyModality(s2, parseModality({ name: 'b', sensor: 'sentinel-2', bands: ['B02'] }), { mode: 'eval', catalog }),
    ).atoms;
    const i = 5; // an off-centre atom of the first row
    const [x, y] = [atoms.x[i]!, atoms.y[i]!];
    const expected: Array<[number, number]> = [
      [x, y],
      [-y, x],
      [-x, -y],
      [y, -x],
      [-x, y],
      [-y, -x],
      [x, -y],
      [y, x],
    ];
    for (let k = 0; k < 8; k++) {
      const t = dihedralAtoms(atoms, k);
      expect([t.x[i], t.y[i]]).toEqual(expected[k]!.map((v) => Math.fround(v) + 0));
      expect(t.value).toBe(atoms.value);
    }
    // The set of positions of a square grid is the same under every symmetry.
    const key = (a: typeof atoms) =>
      [...a.x]
        .map((v, j) => `${v},${a.y[j]}`)
        .sort()
        .join(';');
    expect(key(dihedralAtoms(atoms, 3))).toBe(key(atoms));
    expect(() => dihedralAtoms(atoms, 8)).toThrow(/0\.\.7/);
  });

  it('trainAtoms keeps a fraction in [atomKeepMin, 1] and is the same for the same seed', () => {
    const acc = new BandStatsAccumulator();
    acc.add(s2);
    const recipe: TrainRecipe = {
      stats: new Map(acc.result().map((b) => [b.key, b])),
      virtualSensor: 0,
      spectralJitterNm: 0,
      dihedral: true,
      atomKeepMin: 0.5,
      maxAtoms: 1_000_000,
    };
    const full = atomize(s2).atoms.length;
    for (let s = 0; s < 10; s++) {
      const a = trainAtoms(s2, undefined, recipe, new SeededRng(s))!;
      expect(a.length).toBeGreaterThanOrEqual(Math.ceil(0.5 * full));
      expect(a.length).toBeLessThanOrEqual(full);
      const b = trainAtoms(s2, undefined, recipe, new SeededRng(s))!;
      expect(b.x).toEqual(a.x);
      expect(b.value).toEqual(a.value);
    }
  });
});

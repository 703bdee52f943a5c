import { beforeAll, describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { dataPath } from './data-dir.js';
import { applyModality } from './modality.js';
import { resolveModalityLists, seenTag } from './modality-lists.js';
import { BUILTIN_MODALITIES, ModalityRegistry } from './modality-registry.js';
import { readStatlog } from './readers/statlog.js';
import { SensorCatalog } from './sensors/index.js';
import type { Sample } from './types.js';

const catalog = SensorCatalog.default();
const registry = ModalityRegistry.default();
const evalOpts = { mode: 'eval' as const, catalog };

// The Landsat MSS (Statlog) built-ins: train views without MSS7, unseen views with it or coarser.
const MSS_TRAIN = ['mss-grn', 'mss-gr', 'mss-rn', 'mss-gn'];
const MSS_UNSEEN = ['mss-gr-nir2', 'mss-r-nir2', 'mss-all', 'mss-grn-120m', 'mss-grn-240m'];

let sample: Sample;
beforeAll(async () => {
  const items = await readStatlog(dataPath('statlog', 'statlog_landsat_satellite.csv'));
  sample = items[0]!.sample;
});

const bandsOf = (name: string): string[] => applyModality(sample, registry.get(name), evalOpts).bands.map((b) => b.name);

describe('Landsat MSS built-in modalities', () => {
  it('describes every built-in', () => {
    for (const m of BUILTIN_MODALITIES) expect(m.description?.length ?? 0, m.name).toBeGreaterThan(10);
  });

  it('keeps the bands each name promises on a real Statlog row', () => {
    expect(bandsOf('mss-grn')).toEqual(['MSS4', 'MSS5', 'MSS6']);
    expect(bandsOf('mss-gr')).toEqual(['MSS4', 'MSS5']);
    expect(bandsOf('mss-rn')).toEqual(['MSS5', 'MSS6']);
    expect(bandsOf('mss-gn')).toEqual(['MSS4', 'MSS6']);
    expect(bandsOf('mss-gr-nir2')).toEqual(['MSS4', 'MSS5', 'MSS7']);
    expect(bandsOf('mss-r-nir2')).toEqual(['MSS5', 'MSS7']);
    expect(bandsOf('mss-all')).toEqual(['MSS4', 'MSS5', 'MSS6', 'MSS7']);
    // No train view ever shows the 0.8-1.1 um band.
    for (const name of MSS_TRAIN) expect(bandsOf(name), name).not.toContain('MSS7');
  });

  it('coarsens a 3x3 patch to one 240 m pixel holding the patch mean, and to 2x2 pixels of 120 m', () => {
    const coarse = applyModality(sample, registry.get('mss-grn-240m'), evalOpts);
    for (const b of coarse.bands) {
      const native = sample.bands.find((x) => x.name === b.name)!;
      const mean = Array.from(native.values).reduce((s, v) => s + v, 0) / 9;
      expect([b.width, b.height, b.gsdM]).toEqual([1, 1, 240]);
      expect(b.values[0]).toBeCloseTo(mean, 4);
    }
    expect(atomize(coarse).atoms.length).toBe(3);

    const mid = applyModality(sample, registry.get('mss-grn-120m'), evalOpts);
    const native = sample.bands.find((x) => x.name === 'MSS4')!;
    const v = (r: number, c: number) => native.values[r * 3 + c]!;
    const b = mid.bands.find((x) => x.name === 'MSS4')!;
    expect([b.width, b.height, b.gsdM]).toEqual([2, 2, 120]);
    // Top-left output pixel covers input [0, 1.5) x [0, 1.5): weights 1, 0.5, 0.5, 0.25 over 2.25.
    const expected = (v(0, 0) + 0.5 * v(0, 1) + 0.5 * v(1, 0) + 0.25 * v(1, 1)) / 2.25;
    expect(b.values[0]).toBeCloseTo(expected, 4);
  });

  it('forms disjoint train/test lists, every test view unseen', () => {
    const lists = resolveModalityLists({ train: MSS_TRAIN, test: MSS_UNSEEN }, { catalog });
    for (const m of lists.train) expect(seenTag(m, lists, catalog)).toBe('seen');
    for (const m of lists.test) expect(seenTag(m, lists, catalog), m.name).toBe('unseen');
    // A sweep that equals a train view is caught: mss-grn at factor 1 is mss-grn.
    expect(() => resolveModalityLists({ train: ['mss-grn'], test: ['mss-grn@res1'] }, { catalog })).toThrow(/same transform as 'mss-grn'/);
    // The coarse views differ from the native one and from each other.
    expect(() => resolveModalityLists({ train: ['mss-grn'], test: ['mss-grn-120m', 'mss-grn-240m'] }, { catalog })).not.toThrow();
  });
});

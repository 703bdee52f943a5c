import {
  BandStatsAccumulator,
  ModalityRegistry,
  STATLOG_CLASSES,
  SensorCatalog,
  dataPath,
  readStatlog,
  type BandRaster,
  type BandStats,
  type Sample,
} from '@atomizer/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend.js';
import { evaluateFixedSlotBaseline, fillSlots, fixedSlotLayout, slotPlacement, trainFixedSlotBaseline } from './fixed-slot.js';

const catalog = SensorCatalog.default();
const registry = ModalityRegistry.default();
const mss = catalog.get('landsat-mss');

/** A hand-made landsat-mss band: values given row-major on a side x side grid at gsd metres. */
function band(name: string, values: number[], gsdM = 80): BandRaster {
  const spec = catalog.resolveBand(mss.id, name);
  if (spec.kind !== 'spectral') throw new Error('test: spectral band expected');
  const side = Math.round(Math.sqrt(values.length));
  return {
    kind: 'spectral',
    name: spec.name,
    sensor: mss.id,
    wavelengthNm: spec.wavelengthNm,
    bandwidthNm: spec.bandwidthNm,
    gsdM,
    width: side,
    height: side,
    values: Float32Array.from(values),
    scale: 1,
    offset: 0,
  };
}

const nine = (f: (i: number) => number) => Array.from({ length: 9 }, (_, i) => f(i));
const stats: Record<string, BandStats> = Object.fromEntries(
  ['MSS4', 'MSS5', 'MSS6', 'MSS7'].map((n, k) => [
    `landsat-mss:${n}`,
    { key: `landsat-mss:${n}`, count: 100, mean: 10 * (k + 1), std: 2, min: 0, max: 255 },
  ]),
);
const handMade: Sample = {
  id: 'hand-made',
  labels: [0],
  bands: [
    band(
      'MSS4',
      nine((i) => 10 + i),
    ),
    band(
      'MSS5',
      nine((i) => 20 + i),
    ),
    band(
      'MSS6',
      nine((i) => 30 + i),
    ),
    band(
      'MSS7',
      nine((i) => 40 + 2 * i),
    ),
  ],
};
const trainMods = ['mss-grn', 'mss-gr', 'mss-rn'].map((n) => registry.get(n));

describe('fixed-slot placement', () => {
  const layout = fixedSlotLayout([handMade], trainMods, catalog);

  it('has one slot per band seen in training, on the training grid', () => {
    expect(layout.slots.map((s) => s.name)).toEqual(['MSS4', 'MSS5', 'MSS6']);
    expect([layout.width, layout.height]).toEqual([3, 3]);
  });

  it('z-scores each band into its own slot with the atoms statistics', () => {
    const out = new Float32Array(27);
    const p = fillSlots(layout, { ...handMade, bands: handMade.bands.slice(0, 3) }, stats, out, catalog);
    expect(p.placed.map((x) => x.how)).toEqual(['own', 'own', 'own']);
    // MSS4 pixel i = 10 + i, mean 10, std 2 -> i / 2; MSS6 pixel i = 30 + i, mean 30 -> i / 2.
    expect(Array.from(out.subarray(0, 9))).toEqual(nine((i) => i / 2));
    expect(Array.from(out.subarray(18, 27))).toEqual(nine((i) => i / 2));
  });

  it('zero-fills a missing band and puts a new band (MSS7) in its spectral neighbour slot (MSS6)', () => {
    const out = new Float32Array(27);
    const view = { ...handMade, bands: [handMade.bands[0]!, handMade.bands[3]!] }; // MSS4 + MSS7
    const p = fillSlots(layout, view, stats, out, catalog);
    expect(p.placed).toEqual([
      { band: 0, slot: 0, how: 'own' },
      { band: 1, slot: 2, how: 'neighbour' },
    ]);
    expect(Array.from(out.subarray(9, 18))).toEqual(nine(() => 0)); // MSS5 missing
    // MSS7 pixel i = 40 + 2i with ITS OWN statistics (mean 40, std 2) -> i.
    expect(Array.from(out.subarray(18, 27))).toEqual(nine((i) => i));
  });

  it('drops a new band whose neighbour slot holds the real band', () => {
    const p = slotPlacement(layout, handMade.bands);
    expect(p.placed.map((x) => [x.band, x.slot])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(p.dropped).toEqual([3]);
  });

  it('replicates a 1x1 band into all 9 pixels and averages a 2x2 band where it straddles', () => {
    const out = new Float32Array(27);
    const coarse = { ...handMade, bands: [band('MSS4', [16], 240), band('MSS5', [20, 24, 28, 32], 120)] };
    fillSlots(layout, coarse, stats, out, catalog);
    expect(Array.from(out.subarray(0, 9))).toEqual(nine(() => 3)); // (16 - 10) / 2
    // MSS5 z-scores: [0, 2, 4, 6] on 2x2; the 3x3 centre pixel overlaps all four equally -> 3;
    // the top edge middle pixel overlaps the top two -> 1; a corner takes its own -> 0 (top-left), 6 (bottom-right).
    const m5 = Array.from(out.subarray(9, 18));
    expect(m5[0]).toBeCloseTo(0, 6);
    expect(m5[1]).toBeCloseTo(1, 6);
    expect(m5[4]).toBeCloseTo(3, 6);
    expect(m5[8]).toBeCloseTo(6, 6);
    expect(Array.from(out.subarray(18, 27))).toEqual(nine(() => 0)); // MSS6 missing
  });

  it('lays the slots on the finest train grid, whatever order the train views come in', () => {
    for (const mods of [
      [registry.get('mss-grn'), registry.get('mss-grn-240m')],
      [registry.get('mss-grn-240m'), registry.get('mss-grn')],
    ]) {
      const l = fixedSlotLayout([handMade], mods, catalog);
      expect([l.width, l.height]).toEqual([3, 3]);
      expect(l.slots.map((s) => s.name)).toEqual(['MSS4', 'MSS5', 'MSS6']);
    }
  });
});

describe('fixed-slot baseline on real Statlog rows', () => {
  let train: Sample[];
  let test: Sample[];
  let table: Map<string, BandStats>;
  beforeAll(async () => {
    await selectBackend('wasm');
    const items = await readStatlog(dataPath('statlog', 'statlog_landsat_satellite.csv'));
    // Every 8th train row and every 4th test row: 555 and 500 samples, all six classes.
    train = items.filter((x, i) => x.split === 'train' && i % 8 === 0).map((x) => x.sample);
    test = items.filter((x, i) => x.split === 'test' && i % 4 === 0).map((x) => x.sample);
    const acc = new BandStatsAccumulator();
    for (const s of train) acc.add(s);
    table = new Map(acc.result().map((b) => [b.key, b]));
  });

  it('learns well above chance, deterministically, and scores an unseen band through the neighbour slot', () => {
    const opts = { samples: train, trainModalities: trainMods, stats: table, numClasses: STATLOG_CLASSES.length, seed: 3, epochs: 8 };
    const a = trainFixedSlotBaseline(opts);
    const b = trainFixedSlotBaseline(opts);
    expect(b.weights).toEqual(a.weights);
    expect(a.epochLoss.at(-1)!).toBeLessThan(a.epochLoss[0]!);
    // Majority class of the test split is ~23%; a trained MLP on MSS4-6 reaches ~80% here.
    const seen = evaluateFixedSlotBaseline(a, test, registry.get('mss-grn'));
    expect(seen.samples).toBe(500);
    expect(seen.accuracy).toBeGreaterThan(0.7);
    expect(seen.macroF1).toBeGreaterThan(0.5);
    const unseen = evaluateFixedSlotBaseline(a, test, registry.get('mss-gr-nir2'));
    expect(unseen.placement).toBe('MSS4, MSS5, MSS7->MSS6');
    expect(unseen.accuracy).toBeGreaterThan(0.3);
  });
});

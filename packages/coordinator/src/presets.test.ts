import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyModality,
  atomize,
  parseReaderSpec,
  readDataset,
  seenTag,
  sharedDataDir,
  type DatasetItem,
  type Sample,
} from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, loadPreset, presetPath, resolveBundledData } from './presets.js';

async function firstOfSplit(source: string, split: string): Promise<Sample> {
  for await (const item of readDataset(source) as AsyncIterable<DatasetItem>) if (item.split === split) return item.sample;
  throw new Error(`test: no ${split} sample in ${source}`);
}

describe('bundled presets', () => {
  it('Statlog: trains without MSS7 on full 3x3 views, tests only unseen views with MSS7 or a coarser grid', async () => {
    const { config, modalities } = await loadPreset('statlog');
    expect(config.dataset.name).toBe('statlog');
    expect(config.train.maxAtoms).toBe(36); // 3x3 pixels x 4 bands: nothing is ever subsampled away
    const spec = parseReaderSpec(config.dataset.source);
    expect(spec.kind).toBe('statlog');
    expect(existsSync(spec.path)).toBe(true);
    expect(existsSync(config.dataset.modalities)).toBe(true);

    const sample = await firstOfSplit(config.dataset.source, 'test');
    for (const m of modalities.train) {
      const view = applyModality(sample, m, { mode: 'eval' });
      expect(
        view.bands.map((b) => b.name),
        m.name,
      ).not.toContain('MSS7');
      expect(
        view.bands.every((b) => b.width === 3 && b.height === 3),
        m.name,
      ).toBe(true);
      expect(seenTag(m, modalities)).toBe('seen');
    }
    expect(modalities.test.length).toBeGreaterThanOrEqual(3);
    for (const m of modalities.test) {
      const view = applyModality(sample, m, { mode: 'eval' });
      const newBand = view.bands.some((b) => b.name === 'MSS7');
      const coarser = view.bands.some((b) => b.gsdM > 80);
      expect(newBand || coarser, m.name).toBe(true);
      expect(seenTag(m, modalities), m.name).toBe('unseen');
      expect(atomize(view).atoms.length).toBeLessThanOrEqual(config.train.maxAtoms);
    }
  });

  it('Sentinel-2 scene: patches in train and test, native band subsets in training, unseen bands and resolutions in test', async () => {
    const { config, modalities } = await loadPreset('sen2-scene');
    expect(config.dataset.source).toContain(`${sharedDataDir()}/rstoolbox-sen2/sen2_polygons.geojson`);
    const train = await firstOfSplit(config.dataset.source, 'train');
    const test = await firstOfSplit(config.dataset.source, 'test');
    const trainBands = new Set<string>();
    for (const m of modalities.train) {
      const view = applyModality(train, m, { mode: 'train', rng: { next: () => 0.5 } });
      for (const b of view.bands) {
        trainBands.add(b.name);
        expect(b.gsdM).toBe(train.bands[0]!.gsdM); // native resolution
      }
      expect(atomize(view).atoms.length).toBeLessThanOrEqual(config.train.maxAtoms);
    }
    for (const m of modalities.test) {
      const view = applyModality(test, m, { mode: 'eval' });
      const newBand = view.bands.some((b) => !trainBands.has(b.name));
      const coarser = view.bands.some((b) => b.gsdM > test.bands[0]!.gsdM);
      expect(newBand || coarser, m.name).toBe(true);
      expect(seenTag(m, modalities), m.name).toBe('unseen');
    }
  });

  it('cross-sensor test bed: trains on Sentinel-2 alone, tests only Landsat sensors simulated from the same scene', async () => {
    const { config, modalities } = await loadPreset('sen2-sensors');
    const test = await firstOfSplit(config.dataset.source, 'test');
    for (const m of [...modalities.train, ...modalities.val]) {
      expect(m.simulate, m.name).toBeUndefined();
      expect(seenTag(m, modalities), m.name).toBe('seen');
    }
    const sensors = new Set<string>();
    for (const m of modalities.test) {
      const view = applyModality(test, m, { mode: 'eval' });
      expect(view.bands.length, m.name).toBeGreaterThanOrEqual(4);
      for (const b of view.bands) {
        expect(b.sensor, m.name).toMatch(/^landsat-/);
        sensors.add(b.sensor);
        expect(b.gsdM, m.name).toBeGreaterThanOrEqual(15 - 1); // 30 m (pan 15 m) or coarser, never Sentinel-2's 10 m
      }
      expect(seenTag(m, modalities), m.name).toBe('unseen');
    }
    expect([...sensors].sort()).toEqual(['landsat-5-tm', 'landsat-8', 'landsat-mss']);
  });

  it('transfer preset: sen2-sensors plus the radiometric step, nothing else (same shards, same lists)', async () => {
    const base = await loadPreset('sen2-sensors');
    const transfer = await loadPreset('sen2-transfer');
    const { radiometricGain, radiometricBandGain, radiometricShift, ...trainRest } = transfer.config.train;
    expect([radiometricGain, radiometricBandGain, radiometricShift]).toEqual([1.5, 1.1, 0.02]);
    expect([base.config.train.radiometricGain, base.config.train.radiometricBandGain, base.config.train.radiometricShift]).toEqual([
      1, 1, 0,
    ]);
    const { radiometricGain: _g, radiometricBandGain: _b, radiometricShift: _s, ...baseTrainRest } = base.config.train;
    expect(trainRest).toEqual(baseTrainRest);
    expect({ ...transfer.config, train: undefined }).toEqual({ ...base.config, train: undefined });
    expect(transfer.modalities).toEqual(base.modalities);
  });

  it('every bundled preset parses with the strict schema (no key a section does not know)', async () => {
    for (const name of PRESET_NAMES) expect((await loadPreset(name)).config.dataset.name, name).not.toBe('');
  });

  it('finds presets by name and points ../shared/data/ at the bundled data folder', () => {
    for (const name of PRESET_NAMES) expect(existsSync(presetPath(name))).toBe(true);
    expect(() => presetPath('nope')).toThrow(
      /unknown preset 'nope'; bundled presets: statlog, statlog-all-bands, sen2-scene, sen2-sensors, sen2-transfer/,
    );
    const dir = sharedDataDir();
    expect(resolveBundledData('scene:../shared/data/a.tif?labels=../shared/data/b.geojson&k=5')).toBe(
      `scene:${dir}/a.tif?labels=${dir}/b.geojson&k=5`,
    );
    expect(resolveBundledData('statlog:/abs/statlog.csv')).toBe('statlog:/abs/statlog.csv');
  });

  it('names the file and the field of a bad config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-preset-'));
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'train:\n  rounds: -1\n');
    await expect(loadPreset(bad)).rejects.toThrow(/bad\.yaml is invalid:\n\s+train\.rounds/);
    const typo = join(dir, 'typo.yaml');
    await writeFile(typo, 'train:\n  rouds: 5\n');
    await expect(loadPreset(typo)).rejects.toThrow(/typo\.yaml is invalid:\n\s+train\.rouds: unknown key; did you mean train\.rounds\?/);
    const noLists = join(dir, 'no-lists.yaml');
    await writeFile(noLists, 'dataset:\n  name: x\n');
    await expect(loadPreset(noLists)).rejects.toThrow(/no-lists\.yaml: dataset\.modalities is empty/);
    const clash = join(dir, 'clash.yaml');
    await writeFile(clash, 'dataset:\n  modalities: lists.yaml\n');
    await writeFile(join(dir, 'lists.yaml'), 'train: [mss-grn]\ntest: [mss-grn]\n');
    await expect(loadPreset(clash)).rejects.toThrow(/'mss-grn' is in both the train and the test lists/);
  });
});

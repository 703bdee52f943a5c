import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModality } from './modality.js';
import {
  DEFAULT_S2_MODALITY_LISTS,
  assertDisjoint,
  loadModalityListsFile,
  modalityKey,
  resolveModalityLists,
  seenTag,
} from './modality-lists.js';
import { ModalityRegistry } from './modality-registry.js';
import { SensorCatalog } from './sensors/index.js';

const catalog = SensorCatalog.default();

describe('modality lists', () => {
  it('resolves the default Sentinel-2 lists, which are disjoint', () => {
    const lists = resolveModalityLists(DEFAULT_S2_MODALITY_LISTS, { catalog });
    expect(lists.train.map((m) => m.name)).toEqual(['s2-all', 's2-rgbn-10m']);
    expect(lists.test.map((m) => m.name)).toEqual(['s2-swir-only', 's2-all-20m', 's2-rededge-crop']);
    expect(seenTag(lists.train[1]!, lists, catalog)).toBe('seen');
    expect(seenTag(lists.test[0]!, lists, catalog)).toBe('unseen');
  });

  it('accepts inline modalities and sweeps next to registry names', () => {
    const lists = resolveModalityLists(
      { train: ['s2-all', { name: 'my-swir', sensor: 'sentinel-2', bands: ['swir'], sizeFactor: 0.5 }], test: ['s2-all@res0.5'] },
      { catalog },
    );
    expect(lists.train[1]).toMatchObject({ name: 'my-swir', sizeFactor: 0.5, resolutionFactor: 1 });
    expect(lists.test[0]).toMatchObject({ name: 's2-all@res0.5', resolutionFactor: 0.5 });
    expect(lists.val).toEqual([]);
  });

  it('rejects the same name in two lists, naming the modality and both lists', () => {
    expect(() => resolveModalityLists({ train: ['s2-all', 's2-rgb'], val: ['s2-rgbn-10m'], test: ['s2-rgb'] }, { catalog })).toThrow(
      /'s2-rgb' is in both the train and the test lists/,
    );
  });

  it('rejects an identical transform under another name (groups expanded through the catalogue)', () => {
    const same = { name: 'four-bands', sensor: 'sentinel-2', bands: ['rgbn'] };
    expect(() => resolveModalityLists({ train: ['s2-rgbn-10m'], test: [same] }, { catalog })).toThrow(
      /'four-bands' \(test list\) is the same transform as 's2-rgbn-10m' \(train list\)/,
    );
    // A sweep equal to a named modality is also the same transform: s2-all at 0.5 is s2-all-20m.
    expect(() => resolveModalityLists({ train: ['s2-all-20m'], val: ['s2-all@res0.5'] }, { catalog })).toThrow(
      /s2-all@res0.5.*same transform as 's2-all-20m'/,
    );
  });

  it('tells different transforms apart', () => {
    const registry = ModalityRegistry.default();
    const key = (n: string) => modalityKey(registry.get(n), catalog);
    expect(key('s2-all')).not.toBe(key('s2-all-20m'));
    expect(key('s2-all@size0.5')).not.toBe(key('s2-all'));
    expect(key('s2-rgb')).not.toBe(key('s2-rgbn-10m'));
    // Band order and aliases do not matter.
    expect(modalityKey(parseModality({ name: 'a', sensor: 'sentinel-2', bands: ['B04', 'blue', 'B3'] }), catalog)).toBe(key('s2-rgb'));
  });

  it('treats a simulated sensor as a view of its own: unseen beside any-band training, refused when trained on', () => {
    const anyS2 = { name: 's2-any', minBands: 1, resolutionRange: [0.1, 1] };
    const tm = { name: 'tm', simulate: { sensor: 'landsat-5-tm', bits: 8, gain: 0.0025, offset: 0 } };
    const lists = resolveModalityLists(
      { train: [anyS2], test: [tm, { ...tm, name: 'tm-60m', simulate: { ...tm.simulate, gsdM: 60 } }] },
      { catalog },
    );
    expect(lists.test.map((m) => seenTag(m, lists, catalog))).toEqual(['unseen', 'unseen']);
    expect(() =>
      resolveModalityLists({ train: [anyS2, { ...tm, minBands: 1 }], test: [{ ...tm, name: 'tm-rgb', bands: ['rgb'] }] }, { catalog }),
    ).toThrow(/test modality 'tm-rgb' lies inside the training support of 'tm' \(simulated landsat-5-tm, bands all \(any 1\+\)/);
    expect(() => resolveModalityLists({ train: [anyS2], test: [tm, { ...tm, name: 'tm-again' }] }, { catalog })).toThrow(
      /'tm-again' \(test list\) is the same transform as 'tm' \(test list\)/,
    );
    expect(() =>
      resolveModalityLists({ train: [anyS2], test: [{ name: 'bad', simulate: { sensor: 'landsat-8', gian: 1 } }] }, { catalog }),
    ).toThrow(/test\.0\.simulate: Unrecognized key: "gian"/);
  });

  it('rejects a duplicate within a list and an invalid config', () => {
    const m = parseModality({ name: 'x', bands: ['B02'] });
    expect(() => assertDisjoint({ train: [m, m], val: [], test: [] })).toThrow(/'x' appears twice in the train list/);
    expect(() => resolveModalityLists({ train: [] }, { source: 'run.yaml modalities' })).toThrow(/run\.yaml modalities.*train/);
    expect(() => resolveModalityLists({ train: ['nope'] })).toThrow(/train\[0\].*unknown modality 'nope'/);
  });
});

describe('modality lists from a file', () => {
  const write = async (name: string, text: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-modalities-'));
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('reads YAML lists with names and inline definitions (also under a run config `modalities` key)', async () => {
    const yaml = [
      'modalities:',
      '  train: [s2-all, s2-rgbn-10m]',
      '  val: [s2-rgb]',
      '  test:',
      '    - s2-swir-only',
      '    - { name: s2-nir-40m, sensor: sentinel-2, bands: [B08, B8A], resolutionFactor: 0.25 }',
    ].join('\n');
    const lists = await loadModalityListsFile(await write('run.yaml', yaml), { catalog });
    expect(lists.train.map((m) => m.name)).toEqual(['s2-all', 's2-rgbn-10m']);
    expect(lists.test[1]).toMatchObject({ name: 's2-nir-40m', bands: ['B08', 'B8A'], resolutionFactor: 0.25 });
  });

  it('rejects overlapping lists and bad fields, naming the file', async () => {
    const overlap = await write('lists.json', JSON.stringify({ train: ['s2-all'], test: ['s2-all'] }));
    await expect(loadModalityListsFile(overlap, { catalog })).rejects.toThrow(/s2-all.*disjoint|disjoint.*s2-all/);
    const bad = await write('bad.yaml', 'train: [s2-all]\ntest: [{ name: x, resolutionFactor: 2 }]\n');
    await expect(loadModalityListsFile(bad, { catalog })).rejects.toThrow(/bad\.yaml.*test\.0\.resolutionFactor/);
    await expect(loadModalityListsFile('/tmp/lists.txt')).rejects.toThrow(/must end in \.json, \.yaml or \.yml/);
  });
});

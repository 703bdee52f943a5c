import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, getIfExists, parseRunConfig } from '@atomizer/protocol';
import { dataPath } from '@atomizer/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDataset } from './run-setup.js';

// A dataset already in the store is reused only for the source it was sharded from:
// the same files read with the same options (here the real Sentinel-2 scene, a few
// patches per polygon).

const SCENE = dataPath('rstoolbox-sen2', 'sen2.tif');
const LABELS = dataPath('rstoolbox-sen2', 'sen2_polygons.geojson');
const source = (options: string) => `scene:${SCENE}?${options}`;
const config = (src: string) =>
  parseRunConfig({ run: 'setup', seed: 1, dataset: { name: 'scene-reuse', source: src, shardSize: 64 }, model: { preset: 'tiny' } });

let dir: string;
let store: LocalStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-run-setup-'));
  store = new LocalStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureDataset', () => {
  it('reuses a dataset for its own source (options in any order), refuses another source under the same name', async () => {
    const first = await ensureDataset(store, config(source(`labels=${LABELS}&sensor=s2a&k=3&maxPerGroup=4`)));
    expect(first.manifest.sourceSpec).toContain('"maxPerGroup":4');
    const again = await ensureDataset(store, config(source(`k=3&maxPerGroup=4&sensor=s2a&labels=${LABELS}`)));
    expect(again.manifest.created).toBe(first.manifest.created);

    const before = await getIfExists(store, first.manifestKey);
    await expect(ensureDataset(store, config(source(`labels=${LABELS}&sensor=s2a&k=3&maxPerGroup=4&offset=-0.1`)))).rejects.toThrow(
      /dataset 'scene-reuse' in the store \(datasets\/scene-reuse\/manifest\.json\) was sharded from another source .* than this run's dataset\.source .*offset=-0\.1: give the run another dataset\.name, or delete datasets\/scene-reuse\//,
    );
    // Nothing written: the stored dataset is the one that was there.
    expect(await getIfExists(store, first.manifestKey)).toEqual(before);

    // A coordinator on a machine without the source files: the same kind and options reuse the
    // shards, other options are still refused.
    const elsewhere = (options: string) => `scene:/nonexistent/atomizer-data/sen2.tif?${options}`;
    const reused = await ensureDataset(store, config(elsewhere(`labels=${LABELS}&sensor=s2a&k=3&maxPerGroup=4`)));
    expect(reused.manifest.created).toBe(first.manifest.created);
    await expect(ensureDataset(store, config(elsewhere(`labels=${LABELS}&sensor=s2a&k=5&maxPerGroup=4`)))).rejects.toThrow(
      /was sharded from another source/,
    );
  }, 120_000);
});

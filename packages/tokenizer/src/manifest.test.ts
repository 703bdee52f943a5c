import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '@atomizer/protocol';
import type { EmbeddedS3 } from '@atomizer/protocol/embedded';
import { LocalStore, datasetKeys } from '@atomizer/protocol';
import { startEmbeddedS3 } from '@atomizer/protocol/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchFolders, readS2Patch, S2_DIR } from '../test/bigearthnet-fixture.js';
import { expectSameSample } from '../test/shard-assert.js';
import { defaultEncodingConfig } from './encoding-config.js';
import type { ManifestInput, ManifestShard } from './manifest.js';
import { parseManifest, serializeManifest, verifyShard } from './manifest.js';
import { SPLIT_NAMES, type SplitName } from './split.js';
import { ShardReader } from './shard-reader.js';
import { putShard } from './shard-writer.js';
import type { Sample } from './types.js';

let tmp: string;
let s3: EmbeddedS3;
let s2: Sample[];
const classes: string[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-manifest-'));
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3') });
  s2 = await Promise.all((await patchFolders(S2_DIR())).slice(0, 5).map((f) => readS2Patch(f, classes)));
});

afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** Shard the 5 patches as train 3 (two shards: 2 + 1), val 1, test 1 and describe them in a manifest. */
async function buildDataset(store: ObjectStore, name: string): Promise<ManifestInput> {
  const keys = datasetKeys(name);
  const plan: Record<SplitName, Sample[][]> = {
    train: [s2.slice(0, 2), s2.slice(2, 3)],
    val: [s2.slice(3, 4)],
    test: [s2.slice(4, 5)],
  };
  const shards: Record<SplitName, ManifestShard[]> = { train: [], val: [], test: [] };
  for (const split of SPLIT_NAMES) {
    for (const [id, samples] of plan[split].entries()) {
      const key = keys.shard(split, id);
      const r = await putShard(store, key, samples);
      shards[split].push({ key, samples: r.samples, bytes: r.bytes, sha256: r.sha256, values: r.values });
    }
  }
  return {
    format: 'atomizer-dataset',
    version: 1,
    name,
    task: 'multi',
    classes: [...classes],
    splits: { train: { samples: 3 }, val: { samples: 1 }, test: { samples: 1 } },
    stats: { normalisation: 'zscore', bands: [{ key: 'sentinel-2a:B02', count: 43200, mean: 512.5, std: 301.2, min: 1, max: 4095 }] },
    modalities: { train: ['s2-full', { name: 's2-rgb', bands: ['B02', 'B03', 'B04'] }], val: [], test: [] },
    shards,
    source: 'bigearthnet:bigearthnet_tiny/s2 (5 patches)',
    created: '2026-11-27T13:30:00.000Z',
    encoding: defaultEncodingConfig(),
  };
}

describe('manifest', () => {
  it.each([
    { store: 'LocalStore', make: (): ObjectStore => new LocalStore(join(tmp, 'local')) },
    { store: 'S3Store on s3rver', make: (): ObjectStore => s3.store('m') },
  ])('describes real shards in $store well enough to find, verify and read them back', async ({ make }) => {
    const store = make();
    const input = await buildDataset(store, 'ben-tiny');
    const keys = datasetKeys('ben-tiny');
    await store.put(keys.manifest, new TextEncoder().encode(serializeManifest(input)));

    const manifest = parseManifest(await store.get(keys.manifest), keys.manifest);
    expect(manifest.shards.train.map((s) => s.key)).toEqual([
      'datasets/ben-tiny/shards/train/000000.bin',
      'datasets/ben-tiny/shards/train/000001.bin',
    ]);
    expect(await store.list(keys.root)).toEqual(
      [keys.manifest, ...SPLIT_NAMES.flatMap((s) => manifest.shards[s].map((e) => e.key))].sort(),
    );
    const back: Sample[] = [];
    for (const split of SPLIT_NAMES) {
      for (const entry of manifest.shards[split]) {
        verifyShard(await store.get(entry.key), entry);
        const reader = await ShardReader.open(store, entry.key, { expectedBytes: entry.bytes });
        expect(reader.length).toBe(entry.samples);
        back.push(...(await reader.readAll()));
      }
    }
    back.forEach((s, i) => expectSameSample(s, s2[i] as Sample));
  });

  it('round-trips through serializeManifest and keeps the encoding config and modality lists', async () => {
    const input = await buildDataset(new LocalStore(join(tmp, 'rt')), 'rt');
    const parsed = parseManifest(serializeManifest(input), 'rt/manifest.json');
    expect(parsed.encoding).toEqual(defaultEncodingConfig());
    expect(parsed.modalities?.train[0]).toBe('s2-full');
    expect(parsed.modalities?.train[1]).toMatchObject({ name: 's2-rgb', bands: ['B02', 'B03', 'B04'] });
    expect(parseManifest(serializeManifest(parsed), 'again')).toEqual(parsed);
  });

  it('names the source and the field in validation errors', async () => {
    const good = await buildDataset(new LocalStore(join(tmp, 'err')), 'err');
    const bad = (patch: (m: Record<string, unknown>) => void): unknown => {
      const m = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      patch(m);
      return m;
    };
    const src = 'datasets/err/manifest.json';
    expect(() => parseManifest('{not json', src)).toThrow(/datasets\/err\/manifest\.json: manifest is not valid JSON/);
    expect(() =>
      parseManifest(
        bad((m) => delete m.task),
        src,
      ),
    ).toThrow(/datasets\/err\/manifest\.json: manifest field task:/);
    expect(() =>
      parseManifest(
        bad((m) => (m.task = 'regression')),
        src,
      ),
    ).toThrow(/manifest field task:/);
    expect(() =>
      parseManifest(
        bad((m) => ((m.shards as { train: { sha256: string }[] }).train[1]!.sha256 = 'abc')),
        src,
      ),
    ).toThrow(/manifest field shards\.train\[1\]\.sha256: expected 64 lowercase hex digits/);
    expect(() =>
      parseManifest(
        bad((m) => ((m.splits as { train: { samples: number } }).train.samples = 4)),
        src,
      ),
    ).toThrow(/manifest field splits\.train\.samples: says 4 samples but the train shards hold 3/);
    expect(() =>
      parseManifest(
        bad((m) => (m.classes = ['a', 'b', 'a'])),
        src,
      ),
    ).toThrow(/manifest field classes\[2\]: duplicate class name "a"/);
    expect(() =>
      parseManifest(
        bad((m) => (m.version = 2)),
        src,
      ),
    ).toThrow(/manifest field version/);
    expect(() =>
      parseManifest(
        bad((m) => (m.created = 'yesterday')),
        src,
      ),
    ).toThrow(/manifest field created/);
    expect(() =>
      parseManifest(
        bad((m) => ((m.stats as { bands: { std: number }[] }).bands[0]!.std = -1)),
        src,
      ),
    ).toThrow(/manifest field stats\.bands\[0\]\.std/);
  });
});

describe('verifyShard', () => {
  it('accepts the bytes the manifest describes and names the key and both hashes on a flipped byte', async () => {
    const store = new LocalStore(join(tmp, 'verify'));
    const key = datasetKeys('v').shard('train', 0);
    const r = await putShard(store, key, s2.slice(0, 2));
    const entry: ManifestShard = { key, samples: r.samples, bytes: r.bytes, sha256: r.sha256 };
    const bytes = await store.get(key);
    expect(() => verifyShard(bytes, entry)).not.toThrow();

    const flipped = bytes.slice();
    flipped[100_000] = (flipped[100_000] as number) ^ 0x80;
    const err = (() => {
      try {
        verifyShard(flipped, entry);
      } catch (e) {
        return e as Error;
      }
      throw new Error('verifyShard accepted a flipped byte');
    })();
    expect(err.message).toContain(key);
    expect(err.message).toContain(`manifest sha256 ${r.sha256}`);
    const actual = /hash to ([0-9a-f]{64})/.exec(err.message)?.[1];
    expect(actual).toBeDefined();
    expect(actual).not.toBe(r.sha256);

    expect(() => verifyShard(bytes.subarray(0, bytes.byteLength - 5), entry)).toThrow(
      `shard ${key}: expected ${r.bytes} bytes (manifest), got ${r.bytes - 5}`,
    );
  });
});

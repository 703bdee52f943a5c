import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, type ObjectStore } from '@atomizer/protocol';
import { startEmbeddedS3, type EmbeddedS3 } from '@atomizer/protocol/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from './data-dir.js';
import { buildDataset, parseDatasetSpec } from './dataset-builder.js';
import { parseManifest } from './manifest.js';
import { DEFAULT_S2_MODALITY_LISTS } from './modality-lists.js';
import { listBigEarthNetPatches, readBigEarthNetPatch } from './readers/index.js';
import { ShardReader } from './shard-reader.js';
import { splitByHash } from './split.js';
import type { Sample } from './types.js';

const S2_ROOT = dataPath('bigearthnet_tiny', 's2');
const STATLOG = dataPath('statlog', 'statlog_landsat_satellite.csv');

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'atomizer-builder-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A real LocalStore that records the order of its writes. */
class RecordingStore extends LocalStore {
  readonly puts: string[] = [];
  override async put(...args: Parameters<LocalStore['put']>): Promise<void> {
    await super.put(...args);
    this.puts.push(args[0]);
  }
}

let source: Map<string, Sample>;
beforeAll(async () => {
  source = new Map();
  for (const folder of await listBigEarthNetPatches(S2_ROOT)) {
    const s = await readBigEarthNetPatch(folder);
    source.set(s.id, s);
  }
});

function expectSameSample(got: Sample, want: Sample): void {
  expect(got.id).toBe(want.id);
  expect(got.labels).toEqual(want.labels);
  expect(got.time).toEqual(want.time);
  expect(got.bands.map((b) => b.name)).toEqual(want.bands.map((b) => b.name));
  got.bands.forEach((b, i) => {
    const w = want.bands[i]!;
    const { values: gv, ...gm } = b;
    const { values: wv, ...wm } = w;
    expect(gm).toEqual(wm);
    expect(gv.constructor).toBe(wv.constructor);
    expect(Buffer.from(gv.buffer, gv.byteOffset, gv.byteLength).equals(Buffer.from(wv.buffer, wv.byteOffset, wv.byteLength))).toBe(true);
  });
}

/** Build BigEarthNet S2 tiny into `store` and check everything the manifest claims. */
async function buildAndVerify(store: ObjectStore): Promise<void> {
  const progress: number[] = [];
  const result = await buildDataset({
    dataset: `bigearthnet:${S2_ROOT}`,
    out: store,
    name: 'ben-tiny',
    shardSize: 3,
    modalities: DEFAULT_S2_MODALITY_LISTS,
    onProgress: (p) => progress.push(p.samples),
  });
  expect(progress.at(-1)).toBe(11);

  // The manifest in the store is valid and is what the builder returned.
  const stored = parseManifest(new TextDecoder().decode(await store.get('datasets/ben-tiny/manifest.json')), 'test');
  expect(stored).toEqual(result.manifest);
  expect(stored.task).toBe('multi');
  expect(stored.classes).toHaveLength(19);
  expect(stored.modalities?.test.map((m) => (typeof m === 'string' ? m : m.name))).toEqual([
    's2-swir-only',
    's2-all-20m',
    's2-rededge-crop',
  ]);

  // Splits follow the hash of the patch name; shards hold ceil(n/3) per split.
  const expected = { train: [] as string[], val: [] as string[], test: [] as string[] };
  for (const id of source.keys()) expected[splitByHash(id)].push(id);
  for (const split of ['train', 'val', 'test'] as const) {
    expect(stored.splits[split].samples).toBe(expected[split].length);
    expect(stored.shards[split]).toHaveLength(Math.ceil(expected[split].length / 3));
  }
  expect(stored.splits.train.samples + stored.splits.val.samples + stored.splits.test.samples).toBe(11);
  expect(result.totalAtoms).toBe(11 * 80_000);

  // Every shard: size and sha256 as listed, samples equal to the source patches.
  const seen: string[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    for (const entry of stored.shards[split]) {
      const bytes = await store.get(entry.key);
      expect(bytes.byteLength).toBe(entry.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.sha256);
      const reader = await ShardReader.open(store, entry.key);
      expect(reader.length).toBe(entry.samples);
      for (let i = 0; i < reader.length; i++) {
        const got = await reader.get(i);
        expect(expected[split]).toContain(got.id);
        expectSameSample(got, source.get(got.id)!);
        seen.push(got.id);
      }
    }
  }
  expect(seen.sort()).toEqual([...source.keys()].sort());

  // Band statistics come from the train split only: B02's mean by a plain two-pass sum.
  for (const key of ['sentinel-2a:B02', 'sentinel-2b:B12']) {
    const [sensor, name] = key.split(':');
    let sum = 0;
    let n = 0;
    for (const id of expected.train) {
      const b = source.get(id)!.bands.find((x) => x.sensor === sensor && x.name === name);
      if (b === undefined) continue;
      for (const v of b.values) {
        sum += v * b.scale + b.offset;
        n++;
      }
    }
    const st = stored.stats.bands.find((s) => s.key === key);
    if (n === 0) {
      expect(st).toBeUndefined();
    } else {
      expect(st?.count).toBe(n);
      expect(st!.mean).toBeCloseTo(sum / n, 9);
    }
  }
}

describe('buildDataset', () => {
  it('shards BigEarthNet S2 tiny into a local folder, manifest last, shards read back equal', async () => {
    const store = new RecordingStore(await tempDir());
    await buildAndVerify(store);
    expect(store.puts.at(-1)).toBe('datasets/ben-tiny/manifest.json');
    // Besides the manifest: the shards and the attempt's heartbeat, nothing else.
    expect(store.puts.filter((k) => k.includes('/shards/'))).toHaveLength(
      store.puts.filter((k) => !k.endsWith('/attempt.json')).length - 1,
    );
  });

  it('shards into S3 (s3rver) the same way', async () => {
    let s3: EmbeddedS3 | undefined;
    try {
      s3 = await startEmbeddedS3({ dir: await tempDir() });
      await buildAndVerify(s3.store('builder-test'));
    } finally {
      await s3?.stop();
    }
  });

  it('a Landsat Level-1 scene: the MTL applied is logged and kept in the manifest source; the shards hold TOA reflectance', async () => {
    const mtl = dataPath('landsat_satellite_pkg', 'LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt');
    const store = new LocalStore(await tempDir());
    const logged: string[] = [];
    const r = await buildDataset({ dataset: `geotiff:${mtl}`, out: store, name: 'l1', shardSize: 10, log: (m) => logged.push(m) });
    const note = logged.find((m) => m.startsWith('note: Landsat Level-1 MTL'));
    expect(note).toMatch(/B10, B11 as brightness temperature \(K\)$/);
    expect(r.manifest.source).toBe(`geotiff:${mtl} (${note!.slice('note: '.length)})`);
    const b4 = r.manifest.stats.bands.find((b) => b.key === 'landsat-8:B4')!;
    expect([b4.min > 0, b4.max < 0.3]).toEqual([true, true]);
    const b10 = r.manifest.stats.bands.find((b) => b.key === 'landsat-8:B10')!;
    expect([b10.min > 290, b10.max < 310]).toEqual([true, true]);
  });

  it('keeps the official Statlog split and its class list', async () => {
    const store = new LocalStore(await tempDir());
    const r = await buildDataset({ dataset: `statlog:${STATLOG}`, out: store, name: 'statlog', shardSize: 2000 });
    expect(r.manifest.splits).toEqual({ train: { samples: 4435 }, val: { samples: 0 }, test: { samples: 2000 } });
    expect(r.manifest.shards.train.map((s) => s.samples)).toEqual([2000, 2000, 435]);
    expect(r.manifest.task).toBe('single');
    expect(r.manifest.classes).toHaveLength(6);
    expect(r.totalAtoms).toBe(6435 * 36);
    expect(r.manifest.stats.bands.map((b) => b.key).sort()).toEqual([
      'landsat-mss:MSS4',
      'landsat-mss:MSS5',
      'landsat-mss:MSS6',
      'landsat-mss:MSS7',
    ]);
  });

  it('shuffles each split into its shards when asked: same samples, same split, seeded order', async () => {
    const ids = async (seed: number | undefined): Promise<string[]> => {
      const store = new LocalStore(await tempDir());
      const r = await buildDataset({
        dataset: `statlog:${STATLOG}`,
        out: store,
        name: 's',
        shardSize: 500,
        ...(seed !== undefined ? { shuffle: { seed } } : {}),
      });
      expect(r.manifest.splits.train.samples).toBe(4435);
      const out: string[] = [];
      for (const sh of r.manifest.shards.train)
        for (const smp of await ShardReader.fromBytes(await store.get(sh.key)).readAll()) out.push(smp.id);
      return out;
    };
    const plain = await ids(undefined);
    const a = await ids(7);
    const b = await ids(7);
    const c = await ids(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(plain);
    expect(c).not.toEqual(a);
    expect([...a].sort()).toEqual([...plain].sort());
    // Well mixed: the first shard draws from the whole file, not its first 500 rows.
    const firstShard = new Set(a.slice(0, 500));
    expect(plain.slice(0, 500).filter((id) => firstShard.has(id)).length).toBeLessThan(150);
  });

  it("gives a simulated sensor's bands the scene's own statistics: every sample in that view, beside the train split's", async () => {
    const store = new LocalStore(await tempDir());
    const tm = { name: 'tm-from-s2', simulate: { sensor: 'landsat-5-tm', bits: 8, gain: 0.0025, offset: 0 } };
    const r = await buildDataset({
      dataset: `bigearthnet:${S2_ROOT}`,
      out: store,
      name: 'sim',
      shardSize: 4,
      modalities: { train: ['s2-all'], test: [tm] },
    });
    const keys = r.manifest.stats.bands.map((b) => b.key);
    const tmKeys = keys.filter((k) => k.startsWith('landsat-5-tm:'));
    expect(tmKeys).toEqual([
      'landsat-5-tm:B1',
      'landsat-5-tm:B2',
      'landsat-5-tm:B3',
      'landsat-5-tm:B4',
      'landsat-5-tm:B5',
      'landsat-5-tm:B7',
    ]);
    const all = r.manifest.splits.train.samples + r.manifest.splits.val.samples + r.manifest.splits.test.samples;
    const blue = r.manifest.stats.bands.find((b) => b.key === 'landsat-5-tm:B1')!;
    expect(blue.count).toBe(all * 40 * 40); // 120 x 120 at 10 m -> 40 x 40 at 30 m, every split
    const s2Blue = r.manifest.stats.bands.filter((b) => b.key.endsWith(':B02')); // sentinel-2a and -2b
    expect(s2Blue.reduce((n, b) => n + b.count, 0)).toBe(r.manifest.splits.train.samples * 120 * 120); // the train split only
    expect(blue.mean).toBeGreaterThan(0);
    for (const b of s2Blue) expect(Math.abs(blue.mean - b.mean)).toBeLessThan(b.std); // the same ground, the same blue
    expect(r.manifest.stats.normalisation).toMatch(
      /simulated sensors' bands \(landsat-5-tm\): the scene's own statistics, over all \d+ samples/,
    );
  });

  it('rejects overlapping modality lists before writing anything', async () => {
    const store = new LocalStore(await tempDir());
    await expect(
      buildDataset({
        dataset: `bigearthnet:${S2_ROOT}`,
        out: store,
        name: 'x',
        shardSize: 4,
        modalities: { train: ['s2-all'], test: ['s2-all'] },
      }),
    ).rejects.toThrow(/'s2-all' is in both the train and the test lists/);
    expect(await store.list('')).toEqual([]);
  });
});

describe('dataset specs', () => {
  it('parses <kind>:<path> and explains bad specs', () => {
    expect(parseDatasetSpec(`statlog:${STATLOG}`)).toMatchObject({ kind: 'statlog', path: STATLOG });
    expect(() => parseDatasetSpec(`landsat:${STATLOG}`)).toThrow(
      /unknown dataset kind 'landsat'.*expected one of bigearthnet, statlog, geotiff, scene/,
    );
    expect(() => parseDatasetSpec('bigearthnet:/no/such/folder')).toThrow(/\/no\/such\/folder does not exist/);
    expect(() => parseDatasetSpec('just-a-path')).toThrow(/<kind>:<path>/);
  });
});

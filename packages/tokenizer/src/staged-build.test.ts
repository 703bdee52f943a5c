import { spawnSync } from 'node:child_process';
import { cp, chmod, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, datasetKeys, newBuildId, type ObjectStore } from '@atomizer/protocol';
import { startEmbeddedS3, type EmbeddedS3 } from '@atomizer/protocol/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from './data-dir.js';
import { buildDataset } from './dataset-builder.js';
import { parseManifest, serializeManifest, verifyShard } from './manifest.js';
import { putShard } from './shard-writer.js';
import { BUILD_STALE_MS, StagedBuild, sweepBuilds } from './staged-build.js';
import { SPLIT_NAMES } from './split.js';
import { readBigEarthNetPatch } from './readers/index.js';

const S2_ROOT = dataPath('bigearthnet_tiny', 's2');
const dirs: string[] = [];
let s3: EmbeddedS3;
let truncated: { root: string; file: string };

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'atomizer-staged-'));
  dirs.push(d);
  return d;
}

/** A copy of BigEarthNet S2 tiny whose last patch (in reading order) has its B02 GeoTIFF cut in half. */
async function truncatedCopy(): Promise<{ root: string; file: string }> {
  const root = join(await tempDir(), 's2');
  await cp(S2_ROOT, root, { recursive: true });
  await chmod(root, 0o755);
  const last = (await readdir(root)).sort().at(-1) as string;
  await chmod(join(root, last), 0o755);
  const file = join(root, last, `${last}_B02.tif`);
  await chmod(file, 0o644);
  await truncate(file, Math.floor((await stat(file)).size / 2));
  return { root, file };
}

/** A real store that records its puts. */
function recording(store: ObjectStore): ObjectStore & { puts: string[] } {
  const puts: string[] = [];
  return Object.assign(Object.create(store) as ObjectStore, {
    puts,
    put: async (...args: Parameters<ObjectStore['put']>) => {
      await store.put(...args);
      puts.push(args[0]);
    },
  });
}

/** Every shard key the dataset's manifest lists. */
async function listedKeys(store: ObjectStore, name: string): Promise<string[]> {
  const keys = datasetKeys(name);
  const m = parseManifest(await store.get(keys.manifest), keys.manifest);
  return SPLIT_NAMES.flatMap((s) => m.shards[s].map((e) => e.key));
}

beforeAll(async () => {
  s3 = await startEmbeddedS3({ dir: await tempDir() });
  truncated = await truncatedCopy();
});
afterAll(async () => {
  await s3?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('atomic sharding', () => {
  it.each([
    { store: 'LocalStore', make: async (): Promise<ObjectStore> => new LocalStore(await tempDir()) },
    { store: 'S3Store on s3rver', make: async (): Promise<ObjectStore> => s3.store(`trunc-${Date.now()}`) },
  ])('a truncated GeoTIFF fails the sharding naming the file, and leaves no shard and no manifest ($store)', async ({ make }) => {
    const store = recording(await make());
    await expect(buildDataset({ dataset: `bigearthnet:${truncated.root}`, out: store, name: 'ben', shardSize: 1 })).rejects.toThrow(
      new RegExp(`^${truncated.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a valid or complete GeoTIFF .*truncated`),
    );
    // Shards were staged before the reader reached the bad file, and are gone again.
    expect(store.puts.filter((k) => k.includes('/shards/')).length).toBeGreaterThan(3);
    expect(await store.list('')).toEqual([]);

    // The same dataset, whole: published under a build prefix, exactly what the manifest lists.
    const r = await buildDataset({ dataset: `bigearthnet:${S2_ROOT}`, out: store, name: 'ben', shardSize: 4 });
    const keys = datasetKeys('ben');
    expect(r.manifestKey).toBe(keys.manifest);
    const listed = await listedKeys(store, 'ben');
    const build = keys.buildOf(listed[0] as string) as string;
    expect(listed.every((k) => k.startsWith(`${keys.build(build).root}shards/`))).toBe(true);
    expect(await store.list(keys.root)).toEqual([keys.manifest, ...listed].sort());
    for (const split of SPLIT_NAMES) for (const e of r.manifest.shards[split]) verifyShard(await store.get(e.key), e);
  });

  it('a later sharding removes what a crashed attempt staged, keeps a live attempt’s staging, and supersedes the previous build', async () => {
    const store = new LocalStore(await tempDir());
    const keys = datasetKeys('ben');
    const sample = await readBigEarthNetPatch(join(S2_ROOT, (await readdir(S2_ROOT)).sort()[0] as string));
    const hourAgo = new Date(Date.now() - 3600_000);
    // A crashed attempt: heartbeat an hour old, two shards staged.
    const crashed = keys.build(newBuildId(hourAgo));
    const marker = (b: string, updated: Date) =>
      new TextEncoder().encode(
        JSON.stringify({
          format: 'atomizer-build-attempt',
          build: b,
          state: 'running',
          host: 'h',
          pid: 1,
          started: hourAgo.toISOString(),
          updated: updated.toISOString(),
        }),
      );
    await store.put(crashed.attempt, marker(crashed.build, hourAgo));
    await putShard(store, crashed.shard('train', 0), [sample]);
    await putShard(store, crashed.shard('train', 1), [sample]);
    // Another attempt running right now (heartbeat fresh): not ours to remove.
    const live = keys.build(newBuildId(new Date(Date.now() - 60_000)));
    await store.put(live.attempt, marker(live.build, new Date()));
    await putShard(store, live.shard('train', 0), [sample]);
    // Killed a moment ago on this host (Ctrl-C): the heartbeat is fresh, but its process is gone.
    const killed = keys.build(newBuildId(new Date(Date.now() - 30_000)));
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number;
    await store.put(
      killed.attempt,
      new TextEncoder().encode(
        JSON.stringify({
          format: 'atomizer-build-attempt',
          build: killed.build,
          state: 'running',
          host: hostname(),
          pid: deadPid,
          started: hourAgo.toISOString(),
          updated: new Date().toISOString(),
        }),
      ),
    );
    await putShard(store, killed.shard('val', 0), [sample]);
    // A crash of the layout before builds: a shard no manifest lists.
    await putShard(store, keys.shard('train', 0), [sample]);

    const logs: string[] = [];
    let whileStaging: Promise<string[]> | undefined;
    await buildDataset({
      dataset: `bigearthnet:${S2_ROOT}`,
      out: store,
      name: 'ben',
      shardSize: 4,
      log: (m) => logs.push(m),
      onProgress: () => {
        whileStaging ??= store.list(crashed.root);
      },
    });
    // Removed when the attempt started, not only once it published.
    expect(await whileStaging).toEqual([]);
    expect(await store.list(killed.root)).toEqual([]);
    const first = await listedKeys(store, 'ben');
    const all = await store.list(keys.root);
    expect(all.filter((k) => keys.buildOf(k) === crashed.build)).toEqual([]);
    expect(all.filter((k) => keys.buildOf(k) === killed.build)).toEqual([]);
    expect(all.filter((k) => keys.buildOf(k) === live.build)).toEqual([live.attempt, live.shard('train', 0)]);
    expect(all).not.toContain(keys.shard('train', 0));
    expect(logs).toEqual([
      expect.stringMatching(new RegExp(`^removed 3 objects of crashed sharding attempt ${crashed.root} \\(h pid 1, last seen `)),
      expect.stringMatching(new RegExp(`^removed 2 objects of crashed sharding attempt ${killed.root} \\(${hostname()} pid ${deadPid}, `)),
      `removed 1 shards under ${keys.root}shards/ that the manifest no longer lists`,
    ]);

    // Sharding again: the new manifest's build replaces the first, whose shards go once it is published.
    await store.delete(live.attempt);
    await store.delete(live.shard('train', 0));
    await buildDataset({ dataset: `bigearthnet:${S2_ROOT}`, out: store, name: 'ben', shardSize: 4 });
    const second = await listedKeys(store, 'ben');
    expect(keys.buildOf(second[0] as string)).not.toBe(keys.buildOf(first[0] as string));
    expect(await store.list(keys.root)).toEqual([keys.manifest, ...second].sort());
  });

  it('never publishes a manifest whose shards are gone: a staging swept away meanwhile fails the publish, nothing written', async () => {
    const store = new LocalStore(await tempDir());
    const keys = datasetKeys('d');
    const build = await StagedBuild.start(store, 'd');
    const sample = await readBigEarthNetPatch(join(S2_ROOT, (await readdir(S2_ROOT)).sort()[0] as string));
    const a = build.shard('train', 0);
    const b = build.shard('train', 1);
    await putShard(store, a, [sample]);
    await putShard(store, b, [sample]);
    await store.delete(b);
    await expect(build.publish(keys.manifest, new TextEncoder().encode('{}'), [a, b])).rejects.toThrow(
      new RegExp(
        `^1 staged shards of ${build.keys.root} disappeared before publishing \\(first: ${b}\\).*Nothing was published: shard again$`,
      ),
    );
    expect(await store.exists(keys.manifest)).toBe(false);
    await build.abort();
    expect(await store.list('')).toEqual([]);
  });

  it('keeps the heartbeat fresh while staging, and no heartbeat survives the publish', async () => {
    const store = new LocalStore(await tempDir());
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const build = await StagedBuild.start(store, 'd', { heartbeatMs: 20, now: () => new Date(clock) });
    const read = async () =>
      JSON.parse(new TextDecoder().decode(await store.get(build.keys.attempt))) as { state: string; updated: string; started: string };
    expect(await read()).toMatchObject({ state: 'running', started: '2026-01-01T00:00:00.000Z', updated: '2026-01-01T00:00:00.000Z' });
    clock += 60_000;
    await new Promise((r) => setTimeout(r, 200));
    expect(await read()).toMatchObject({ state: 'running', started: '2026-01-01T00:00:00.000Z', updated: '2026-01-01T00:01:00.000Z' });
    // Another attempt's sweep sees it alive up to BUILD_STALE_MS after the last heartbeat.
    expect((await sweepBuilds(store, 'd', { now: () => new Date(clock + BUILD_STALE_MS) })).builds).toEqual([]);
    expect(await store.exists(build.keys.attempt)).toBe(true);
    await build.publish(datasetKeys('d').manifest, new TextEncoder().encode('{"shards":{}}'), []);
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.exists(build.keys.attempt)).toBe(false);
  });

  it('sweeps nothing a manifest might list when the manifest cannot be read, only attempts that surely never published', async () => {
    const store = new LocalStore(await tempDir());
    const keys = datasetKeys('d');
    const sample = await readBigEarthNetPatch(join(S2_ROOT, (await readdir(S2_ROOT)).sort()[0] as string));
    const published = keys.build(newBuildId(new Date(Date.now() - 7200_000)));
    await putShard(store, published.shard('train', 0), [sample]);
    const failed = keys.build(newBuildId(new Date(Date.now() - 3600_000)));
    await store.put(
      failed.attempt,
      new TextEncoder().encode(
        JSON.stringify({
          format: 'atomizer-build-attempt',
          build: failed.build,
          state: 'failed',
          host: 'h',
          pid: 2,
          started: new Date().toISOString(),
          updated: new Date().toISOString(),
        }),
      ),
    );
    await putShard(store, failed.shard('train', 0), [sample]);
    await putShard(store, keys.shard('val', 0), [sample]);
    await store.put(keys.manifest, new TextEncoder().encode('{"shards": {"train": [{"key": "trunc'));

    const r = await sweepBuilds(store, 'd');
    expect(r).toEqual({ builds: [failed.build], legacyShards: 0 });
    expect(await store.list(keys.root)).toEqual([published.shard('train', 0), keys.manifest, keys.shard('val', 0)].sort());

    // Readable again, listing the published build: that one stays, the old-layout shard goes.
    const manifest = JSON.parse(
      serializeManifest({
        format: 'atomizer-dataset',
        version: 1,
        name: 'd',
        task: 'single',
        classes: [],
        splits: { train: { samples: 1 }, val: { samples: 0 }, test: { samples: 0 } },
        stats: { normalisation: 'zscore', bands: [] },
        shards: { train: [{ key: published.shard('train', 0), samples: 1, bytes: 1, sha256: '0'.repeat(64) }], val: [], test: [] },
        source: 'test',
        created: new Date().toISOString(),
      }),
    ) as unknown;
    await store.put(keys.manifest, new TextEncoder().encode(JSON.stringify(manifest)));
    expect(await sweepBuilds(store, 'd')).toEqual({ builds: [], legacyShards: 1 });
    expect(await store.list(keys.root)).toEqual([published.shard('train', 0), keys.manifest].sort());
  });
});

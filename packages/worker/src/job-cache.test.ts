import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '@atomizer/protocol';
import { ShardReader, dataPath, readStatlog, writeShard } from '@atomizer/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { JobCache } from './job-cache.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempStore(): Promise<LocalStore> {
  const d = await mkdtemp(join(tmpdir(), 'atomizer-job-cache-'));
  dirs.push(d);
  return new LocalStore(d);
}

async function cacheWith(innerStateMemBytes?: number): Promise<JobCache> {
  return new JobCache({ store: await tempStore(), ...(innerStateMemBytes !== undefined ? { innerStateMemBytes } : {}) });
}

/** A slot state of n parameters (m and v: 8n bytes). */
function state(n: number, step: number): { step: number; m: Float32Array; v: Float32Array } {
  return { step, m: new Float32Array(n).fill(step), v: new Float32Array(n).fill(-step) };
}

describe('JobCache inner states (local mode)', () => {
  it('hands a kept state only to a job naming exactly it (same key and payload sha256)', async () => {
    const cache = await cacheWith();
    const s = state(10, 1);
    cache.keepInnerState('inner/1/0', 'a'.repeat(64), s);
    expect(cache.innerState('inner/1/0', 'a'.repeat(64))).toBe(s);
    expect(cache.innerState('inner/1/0', 'b'.repeat(64))).toBeUndefined();
    expect(cache.innerState('inner/1/1', 'a'.repeat(64))).toBeUndefined();
  });

  it('drops the state a new one was computed from, and keeps the newest within the memory bound', async () => {
    // 100 parameters: 800 bytes a state; room for two and a half.
    const cache = await cacheWith(2_000);
    cache.keepInnerState('r1/s0', '1', state(100, 1));
    cache.keepInnerState('r1/s1', '2', state(100, 2));
    cache.keepInnerState('r2/s0', '3', state(100, 3), 'r1/s0');
    expect(cache.innerState('r1/s0', '1')).toBeUndefined(); // consumed by its slot's next state
    expect(cache.innerState('r1/s1', '2')?.step).toBe(2);
    expect(cache.innerState('r2/s0', '3')?.step).toBe(3);
    cache.keepInnerState('r2/s1', '4', state(100, 4)); // three would be 2,400 bytes: the oldest goes
    expect(cache.innerState('r1/s1', '2')).toBeUndefined();
    expect(cache.innerState('r2/s0', '3')?.step).toBe(3);
    expect(cache.innerState('r2/s1', '4')?.step).toBe(4);
    // A state larger than the whole bound is not kept at all.
    cache.keepInnerState('big', '5', state(1_000, 5));
    expect(cache.innerState('big', '5')).toBeUndefined();
    // ... and evicts none of the states that fit.
    expect(cache.innerState('r2/s0', '3')?.step).toBe(3);
    expect(cache.innerState('r2/s1', '4')?.step).toBe(4);
  });

  it('keeps nothing with a bound of 0 (every job downloads its slot state)', async () => {
    const cache = await cacheWith(0);
    cache.keepInnerState('r1/s0', '1', state(1, 1));
    expect(cache.innerState('r1/s0', '1')).toBeUndefined();
  });
});

describe('JobCache decoded samples', () => {
  it('hands later jobs the samples it decoded while the shard is in memory, and decodes again once the shard left', async () => {
    const store = await tempStore();
    const rows = (await readStatlog(dataPath('statlog', 'statlog_landsat_satellite.csv'))).slice(0, 40).map((i) => i.sample);
    const a = await writeShard(rows.slice(0, 20), 'a');
    const b = await writeShard(rows.slice(20, 40), 'b');
    await store.put('shards/a.bin', a.data);
    await store.put('shards/b.bin', b.data);
    // Room for one of the two shards' bytes.
    const cache = new JobCache({ store, shardMemBytes: Math.max(a.data.byteLength, b.data.byteLength) + 100 });
    const read = async (key: string, sha256: string) => {
      const bytes = await cache.shard(key, sha256, { bytesIn: 0 });
      return cache.samples(cache.reader(bytes, key, sha256), sha256, 0, 5);
    };
    const first = await read('shards/a.bin', a.sha256);
    const again = await read('shards/a.bin', a.sha256);
    expect(again[0]).toBe(first[0]);
    expect(first.map((s) => s.id)).toEqual(rows.slice(0, 5).map((s) => s.id));
    // A reader of the same bytes that is not the cached one: decoded, not kept.
    const other = ShardReader.fromBytes(a.data);
    const loose = await cache.samples(other, a.sha256, 0, 5);
    expect(loose[0]).not.toBe(first[0]);
    expect(loose).toEqual(first);
    // Shard b pushes a's bytes out, and a's samples go with them.
    await read('shards/b.bin', b.sha256);
    const later = await read('shards/a.bin', a.sha256);
    expect(later[0]).not.toBe(first[0]);
    expect(later).toEqual(first);
  });
});

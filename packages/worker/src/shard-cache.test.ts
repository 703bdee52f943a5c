import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, sha256Hex } from '@atomizer/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { JobCache } from './job-cache.js';
import { ShardDiskCache, type ShardCacheFs } from './shard-cache.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'atomizer-shard-cache-'));
  dirs.push(d);
  return d;
}

/** The error Node's fs gives for a write to a full device. */
function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { errno: -28, code: 'ENOSPC', syscall: 'write' });
}

async function usedBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) n += (await stat(join(dir, f))).size;
  return n;
}

/**
 * A disk of `capacity` bytes over a real folder: a write that does not fit writes what
 * fits (the partial temp file a real full disk leaves) and throws ENOSPC.
 */
function smallDisk(dir: string, capacity: number, code: 'ENOSPC' | 'EDQUOT' = 'ENOSPC'): Partial<ShardCacheFs> & { fullWrites: number } {
  const disk = {
    fullWrites: 0,
    async writeFile(path: string, data: Uint8Array): Promise<void> {
      const free = capacity - (await usedBytes(dir));
      if (data.byteLength > free) {
        disk.fullWrites++;
        await writeFile(path, data.subarray(0, Math.max(0, free)));
        throw code === 'ENOSPC'
          ? enospc()
          : Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { errno: -122, code: 'EDQUOT', syscall: 'write' });
      }
      await writeFile(path, data);
    },
    freeBytes: async () => capacity - (await usedBytes(dir)),
  };
  return disk;
}

function shard(n: number): { sha256: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(randomBytes(n));
  return { sha256: sha256Hex(bytes), bytes };
}

/** sha256 of bytes that should be there (comparing the hashes: toEqual on a megabyte is slow). */
function hashOf(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : sha256Hex(bytes);
}

/** Files of the folder by kind. */
async function listing(dir: string): Promise<{ bins: string[]; temps: string[]; other: string[] }> {
  const names = await readdir(dir);
  return {
    bins: names.filter((f) => f.endsWith('.bin')).sort(),
    temps: names.filter((f) => f.endsWith('.tmp')).sort(),
    other: names.filter((f) => !f.endsWith('.bin') && !f.endsWith('.tmp')),
  };
}

/** Set a file's last use `secondsAgo` in the past. */
async function age(path: string, secondsAgo: number): Promise<void> {
  const t = new Date(Date.now() - secondsAgo * 1000);
  await utimes(path, t, t);
}

describe('ShardDiskCache', () => {
  it('on ENOSPC removes the partial temp file, evicts the least recently used shards and retries: the shard is cached', async () => {
    const dir = await tempDir();
    const disk = smallDisk(dir, 3_000_000 + 200_000);
    const warnings: string[] = [];
    const cache = new ShardDiskCache({ dir, maxBytes: 1e9, fs: disk, warn: (m) => warnings.push(m) });
    const [a, b, c, d] = [shard(1_000_000), shard(1_000_000), shard(1_000_000), shard(1_000_000)];
    for (const s of [a, b, c]) expect(await cache.write(s.sha256, s.bytes)).toBe(true);
    await age(join(dir, `${a.sha256}.bin`), 300);
    await age(join(dir, `${b.sha256}.bin`), 200);
    await age(join(dir, `${c.sha256}.bin`), 100);
    // Reading b makes it the most recently used: a and c are older.
    expect(hashOf(await cache.read(b.sha256))).toBe(b.sha256);

    expect(await cache.write(d.sha256, d.bytes)).toBe(true);
    expect(disk.fullWrites).toBe(1);
    const after = await listing(dir);
    expect(after.temps).toEqual([]);
    // One shard had to go, the least recently used: a.
    expect(after.bins).toEqual([`${b.sha256}.bin`, `${c.sha256}.bin`, `${d.sha256}.bin`].sort());
    expect(hashOf(await cache.read(d.sha256))).toBe(d.sha256);
    expect(warnings).toEqual([]);
  });

  it('still full after eviction (other files fill the disk): serves from memory, keeps its shards, warns once naming the folder and the free space', async () => {
    const dir = await tempDir();
    const disk = smallDisk(dir, 2_000_000);
    const warnings: string[] = [];
    const cache = new ShardDiskCache({ dir, maxBytes: 1e9, fs: disk, warn: (m) => warnings.push(m) });
    const kept = shard(500_000);
    expect(await cache.write(kept.sha256, kept.bytes)).toBe(true);
    await writeFile(join(dir, 'someone-elses-file'), new Uint8Array(1_400_000));

    const [x, y] = [shard(600_000), shard(700_000)];
    expect(await cache.write(x.sha256, x.bytes)).toBe(false);
    expect(await cache.write(y.sha256, y.bytes)).toBe(false);
    // Tried, evicted nothing (removing every shard could not make room), retried once per shard.
    expect(disk.fullWrites).toBe(4);
    const after = await listing(dir);
    expect(after.temps).toEqual([]);
    expect(after.bins).toEqual([`${kept.sha256}.bin`]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`shard cache ${dir} is full (ENOSPC, 97.7 KiB free, a shard needs 585.9 KiB`);
    expect(warnings[0]).toMatch(/served from the store without caching/);
    expect(warnings[0]!.split('\n')).toHaveLength(1);
  });

  it('on EDQUOT (free space unknown) evicts least recently used shards until the shard fits', async () => {
    const dir = await tempDir();
    const disk = smallDisk(dir, 2_100_000, 'EDQUOT');
    const warnings: string[] = [];
    const cache = new ShardDiskCache({
      dir,
      maxBytes: 1e9,
      fs: { writeFile: disk.writeFile!, freeBytes: () => Promise.reject(new Error('no statfs')) },
      warn: (m) => warnings.push(m),
    });
    const [a, b, c] = [shard(1_000_000), shard(1_000_000), shard(1_000_000)];
    for (const s of [a, b]) expect(await cache.write(s.sha256, s.bytes)).toBe(true);
    await age(join(dir, `${a.sha256}.bin`), 100);
    expect(await cache.write(c.sha256, c.bytes)).toBe(true);
    expect((await listing(dir)).bins).toEqual([`${b.sha256}.bin`, `${c.sha256}.bin`].sort());
    expect(warnings).toEqual([]);
  });

  it('removes orphan temp files at startup, on the size bound and when the disk is full; keeps a live process’s fresh one', async () => {
    const dir = await tempDir();
    const sha = (i: number) => sha256Hex(new Uint8Array([i]));
    const deadPid = 4_000_001;
    const livePid = 4_000_002;
    const isAlive = (pid: number) => pid === livePid || pid === process.pid;
    const dead = join(dir, `${sha(1)}.bin.${deadPid}.tmp`);
    const old = join(dir, `${sha(2)}.bin.${livePid}.tmp`);
    const mine = join(dir, `${sha(3)}.bin.${process.pid}.tmp`); // left by a crashed process that had this pid
    const fresh = join(dir, `${sha(4)}.bin.${livePid}.tmp`);
    const unrelated = join(dir, 'notes.txt');
    for (const f of [dead, old, mine, fresh, unrelated]) await writeFile(f, new Uint8Array(1000));
    await age(old, 3600);

    const cache = new ShardDiskCache({ dir, maxBytes: 1e9, isAlive });
    expect(await cache.read(sha(9))).toBeUndefined(); // first use: the startup sweep
    expect((await listing(dir)).temps).toEqual([`${sha(4)}.bin.${livePid}.tmp`]);
    expect((await listing(dir)).other).toEqual(['notes.txt']);

    // The live process died meanwhile: the next size-bound eviction (after a write) removes its temp file.
    const gone = new ShardDiskCache({ dir, maxBytes: 1e9, isAlive: (pid) => pid === process.pid });
    const s = shard(100);
    await writeFile(dead, new Uint8Array(10)); // and another crash
    expect(await gone.write(s.sha256, s.bytes)).toBe(true);
    expect((await listing(dir)).temps).toEqual([]);

    // Full disk: a process that died after this one started left a big temp file; removing it makes room, no shard evicted.
    const full = smallDisk(dir, 1_100_000);
    const cache3 = new ShardDiskCache({ dir, maxBytes: 1e9, isAlive: (pid) => pid !== deadPid, fs: full });
    expect(await cache3.read(sha(9))).toBeUndefined(); // its startup sweep: nothing to remove yet
    await writeFile(join(dir, `${sha(5)}.bin.${deadPid}.tmp`), new Uint8Array(900_000));
    const t = shard(300_000);
    expect(await cache3.write(t.sha256, t.bytes)).toBe(true);
    expect(full.fullWrites).toBe(1);
    expect((await listing(dir)).temps).toEqual([]);
    expect((await listing(dir)).bins).toEqual([`${s.sha256}.bin`, `${t.sha256}.bin`].sort());
  });

  it('keeps the size bound: least recently used shards beyond maxBytes go', async () => {
    const dir = await tempDir();
    const cache = new ShardDiskCache({ dir, maxBytes: 2500 });
    const [a, b, c] = [shard(1000), shard(1000), shard(1000)];
    await cache.write(a.sha256, a.bytes);
    await cache.write(b.sha256, b.bytes);
    await age(join(dir, `${a.sha256}.bin`), 20);
    await age(join(dir, `${b.sha256}.bin`), 10);
    await cache.write(c.sha256, c.bytes);
    expect((await listing(dir)).bins).toEqual([`${b.sha256}.bin`, `${c.sha256}.bin`].sort());
  });
});

describe('JobCache.shard with a full cache folder', () => {
  it('serves every shard from the store, no job error, one warning for the process', async () => {
    const root = await tempDir();
    const store = new LocalStore(join(root, 'store'));
    const cacheDir = join(root, 'cache');
    const shards = [shard(2000), shard(3000)];
    for (const [i, s] of shards.entries()) await store.put(`datasets/d/shards/train/00000${i}.bin`, s.bytes);
    let writes = 0;
    const warnings: string[] = [];
    const cache = new JobCache({
      store,
      cacheDir,
      cacheFs: {
        writeFile: async (path, data) => {
          writes++;
          await writeFile(path, data.subarray(0, 100)); // a partial file, then the device is full
          throw enospc();
        },
        freeBytes: async () => 4096,
      },
      onWarning: (m) => warnings.push(m),
    });
    for (const [i, s] of shards.entries()) {
      const counters = { bytesIn: 0 };
      expect(await cache.shard(`datasets/d/shards/train/00000${i}.bin`, s.sha256, counters)).toEqual(s.bytes);
      expect(counters.bytesIn).toBe(s.bytes.byteLength);
    }
    expect(writes).toBe(4); // each shard: one attempt, one retry after eviction
    expect(await readdir(cacheDir)).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^warning: shard cache ${cacheDir} is full \\(ENOSPC, 4\\.0 KiB free, a shard needs 2\\.0 KiB`));
  });

  it('a cache folder that cannot be written (not a disk-full error) degrades the same way, naming the error', async () => {
    const root = await tempDir();
    const store = new LocalStore(join(root, 'store'));
    const s = shard(1000);
    await store.put('k.bin', s.bytes);
    const warnings: string[] = [];
    const cache = new JobCache({
      store,
      cacheDir: join(root, 'cache-2'),
      cacheFs: { writeFile: () => Promise.reject(Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' })) },
      onWarning: (m) => warnings.push(m),
    });
    expect(await cache.shard('k.bin', s.sha256, { bytesIn: 0 })).toEqual(s.bytes);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/shard cache .*cache-2 cannot be written \(EACCES, [\d.]+ [KMG]iB free\)/);
  });
});

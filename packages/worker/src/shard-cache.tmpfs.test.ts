import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, statfs, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, sha256Hex } from '@atomizer/protocol';
import { buildDataset, dataPath, type Manifest } from '@atomizer/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobCache } from './job-cache.js';

// The shard cache on a real full disk: a 2 MiB tmpfs mounted for this file. Mounting
// needs root (CI runs as root); elsewhere the test is reported as skipped with the
// reason, never passed.

const root = await mkdtemp(join(tmpdir(), 'atomizer-tmpfs-cache-'));
const mnt = join(root, 'mnt');
await mkdir(mnt);

function tryMount(): string | undefined {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return `mounting a tmpfs needs root, this is uid ${process.getuid?.()}`;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs was refused: ${String((err as { stderr?: unknown }).stderr ?? err)
      .replace(/\s+/g, ' ')
      .trim()}`;
  }
}
const notMounted = tryMount();

afterAll(async () => {
  if (notMounted === undefined) execFileSync('umount', [mnt], { stdio: 'pipe' });
  await rm(root, { recursive: true, force: true });
});

async function free(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Fill the filesystem of `dir` to the last byte with one file (a real ENOSPC ends the write). */
async function fill(file: string): Promise<void> {
  await expect(writeFile(file, new Uint8Array(4 * 1024 * 1024))).rejects.toMatchObject({ code: 'ENOSPC' });
  expect(await free(file.slice(0, file.lastIndexOf('/')))).toBeLessThan(4096);
}

describe.runIf(notMounted === undefined)(
  `shard cache on a full 2 MiB tmpfs${notMounted === undefined ? '' : ` (skipped: ${notMounted})`}`,
  () => {
    let manifest: Manifest;
    let store: LocalStore;
    beforeAll(async () => {
      store = new LocalStore(join(root, 'store'));
      // Real shards: BigEarthNet S2 tiny, 3 patches (~470 KiB) per shard.
      manifest = (
        await buildDataset({ dataset: `bigearthnet:${dataPath('bigearthnet_tiny', 's2')}`, out: store, name: 'ben', shardSize: 3 })
      ).manifest;
    });

    it('a full disk: shard reads still succeed from the store, no temp file stays, one warning names the folder and the free space', async () => {
      const cacheDir = join(mnt, 'cache-full');
      await mkdir(cacheDir);
      await fill(join(mnt, 'filler-full'));
      const warnings: string[] = [];
      const cache = new JobCache({ store, cacheDir, onWarning: (m) => warnings.push(m) });
      const shards = [...manifest.shards.train, ...manifest.shards.test].slice(0, 3);
      expect(shards).toHaveLength(3);
      for (const s of shards) {
        const bytes = await cache.shard(s.key, s.sha256, { bytesIn: 0 });
        expect(sha256Hex(bytes)).toBe(s.sha256);
      }
      expect(await readdir(cacheDir)).toEqual([]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        new RegExp(
          `^warning: shard cache ${cacheDir} is full \\(ENOSPC, \\d+ B free, a shard needs [\\d.]+ KiB, eviction did not make room\\)`,
        ),
      );
      await rm(join(mnt, 'filler-full'));
    });

    it('a disk that eviction can clear: the least recently used shard goes, the new one is cached, no warning', async () => {
      const cacheDir = join(mnt, 'cache-evict');
      const [s0, s1] = manifest.shards.train;
      if (s0 === undefined || s1 === undefined) throw new Error('expected two train shards');
      const warnings: string[] = [];
      const cache = new JobCache({ store, cacheDir, onWarning: (m) => warnings.push(m) });
      await cache.shard(s0.key, s0.sha256, { bytesIn: 0 });
      expect(await readdir(cacheDir)).toEqual([`${s0.sha256}.bin`]);
      // Leave room for less than the next shard, but for it once the first is gone.
      const filler = join(mnt, 'filler-evict');
      await fill(filler);
      await truncate(filler, (await stat(filler)).size - 150 * 1024);
      expect(await free(mnt)).toBeLessThan(s1.bytes);

      const bytes = await cache.shard(s1.key, s1.sha256, { bytesIn: 0 });
      expect(sha256Hex(bytes)).toBe(s1.sha256);
      expect(await readdir(cacheDir)).toEqual([`${s1.sha256}.bin`]);
      expect(warnings).toEqual([]);
    });
  },
);

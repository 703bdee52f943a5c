import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockCache } from './block-cache.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-blocks-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const block = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('BlockCache', () => {
  it('keeps blocks by key, distinct per source version and index', async () => {
    const cache = new BlockCache({ dir: join(tmp, 'keys'), maxBytes: 1 << 20 });
    const a = BlockCache.key('http://h/x.tif\n"v1"\n100', 0);
    expect(a).not.toBe(BlockCache.key('http://h/x.tif\n"v2"\n100', 0));
    expect(a).not.toBe(BlockCache.key('http://h/x.tif\n"v1"\n100', 1));
    expect(await cache.get(a)).toBeUndefined();
    await cache.put(a, block(10, 7));
    expect(await cache.get(a)).toEqual(block(10, 7));
    // Written atomically: no temp file left beside the block.
    expect(await readdir(join(tmp, 'keys'))).toEqual([`${a}.blk`]);
  });

  it('evicts the least recently used blocks down to 90% of the bound; a read marks a block used', async () => {
    const dir = join(tmp, 'lru');
    const cache = new BlockCache({ dir, maxBytes: 1000 });
    const keys = [0, 1, 2, 3].map((i) => BlockCache.key('s3://b/k.tif\n1000', i));
    for (const [i, k] of keys.slice(0, 3).entries()) {
      await cache.put(k, block(300, i));
      const t = new Date(Date.now() - (10 - i) * 60_000);
      await utimes(join(dir, `${k}.blk`), t, t);
    }
    // Block 0 is the oldest; reading it makes block 1 the least recently used.
    expect(await cache.get(keys[0]!)).toEqual(block(300, 0));
    await cache.put(keys[3]!, block(300, 3)); // 1200 > 1000: evict down to 900
    expect(await cache.get(keys[1]!)).toBeUndefined();
    for (const k of [keys[0]!, keys[2]!, keys[3]!]) expect(await cache.get(k)).toBeDefined();
  });

  it('an unwritable folder degrades to no cache with one warning naming it', async () => {
    const file = join(tmp, 'not-a-folder');
    await writeFile(file, 'x');
    const warnings: string[] = [];
    const cache = new BlockCache({ dir: join(file, 'blocks'), maxBytes: 1000, warn: (m) => warnings.push(m) });
    await cache.put(BlockCache.key('v', 0), block(10, 1));
    await cache.put(BlockCache.key('v', 1), block(10, 1));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^block cache .*not-a-folder\/blocks: cannot write .*set ATOMIZER_CACHE_DIR to a writable folder\)$/);
    expect(await cache.get(BlockCache.key('v', 0))).toBeUndefined();
  });
});

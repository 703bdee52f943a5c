// A remote RasterSource read in fixed blocks through the BlockCache: a read is
// split into BLOCK_SIZE blocks; cached blocks come from disk, runs of missing
// neighbouring blocks are fetched with one range request each and kept. Blocks
// being fetched are shared between concurrent reads (geotiff.js asks for
// neighbouring tiles at once), so no byte is fetched twice.

import { BlockCache } from './block-cache.js';
import type { RasterSource } from './raster-source.js';

/** 64 KiB: small enough that a window's tiles cost little beyond their bytes, large enough to take a COG header in one request. */
export const BLOCK_SIZE = 64 * 1024;

export function cachedSource(raw: RasterSource, cache: BlockCache, blockSize = BLOCK_SIZE): RasterSource {
  const version = raw.version;
  if (version === undefined) return raw;
  const size = raw.size;
  const inflight = new Map<number, Promise<Uint8Array>>();
  const blockLength = (b: number) => Math.min(blockSize, size - b * blockSize);

  /** Blocks of `ids` (none in flight): disk first, then one range request per run of missing neighbours. */
  async function load(ids: number[]): Promise<Map<number, Uint8Array>> {
    const got = new Map<number, Uint8Array>();
    const hits = await Promise.all(ids.map((b) => cache.get(BlockCache.key(version!, b))));
    const missing: number[] = [];
    ids.forEach((b, i) => {
      const hit = hits[i];
      if (hit !== undefined && hit.length === blockLength(b)) got.set(b, hit);
      else missing.push(b);
    });
    const runs: number[][] = [];
    for (const b of missing) {
      const run = runs[runs.length - 1];
      if (run !== undefined && run[run.length - 1] === b - 1) run.push(b);
      else runs.push([b]);
    }
    await Promise.all(
      runs.map(async (run) => {
        const first = run[0] as number;
        const start = first * blockSize;
        const end = Math.min(size, (run[run.length - 1] as number) * blockSize + blockSize);
        const bytes = await raw.read(start, end - start);
        for (const b of run) {
          const block = bytes.slice((b - first) * blockSize, (b - first) * blockSize + blockLength(b));
          got.set(b, block);
          await cache.put(BlockCache.key(version!, b), block);
        }
      }),
    );
    return got;
  }

  return {
    location: raw.location,
    size,
    version,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      if (end <= offset) return new Uint8Array(0);
      const b0 = Math.floor(offset / blockSize);
      const b1 = Math.floor((end - 1) / blockSize);
      const fresh: number[] = [];
      for (let b = b0; b <= b1; b++) if (!inflight.has(b)) fresh.push(b);
      if (fresh.length > 0) {
        const batch = load(fresh);
        for (const b of fresh) {
          const p = batch.then((m) => m.get(b) as Uint8Array);
          inflight.set(b, p);
          void p.then(
            () => inflight.delete(b),
            () => inflight.delete(b),
          );
        }
      }
      const blocks = await Promise.all(Array.from({ length: b1 - b0 + 1 }, (_, i) => inflight.get(b0 + i) as Promise<Uint8Array>));
      const out = new Uint8Array(end - offset);
      blocks.forEach((block, i) => {
        const blockStart = (b0 + i) * blockSize;
        const from = Math.max(offset, blockStart);
        const to = Math.min(end, blockStart + block.length);
        if (to > from) out.set(block.subarray(from - blockStart, to - blockStart), from - offset);
      });
      return out;
    },
    close: () => raw.close(),
  };
}

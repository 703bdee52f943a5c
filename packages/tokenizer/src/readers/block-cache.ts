// The disk cache of byte blocks fetched from remote rasters (raster-source.ts):
// one file <sha256>.blk per block, the hash of the source's version (URL and
// ETag / Last-Modified / size) and the block's index, so a changed file misses
// the cache instead of mixing old and new bytes. Written as a temp file and
// renamed into place (readers never see half a block), bounded in size: when
// the blocks exceed the bound the least recently used (oldest mtime; a hit
// touches its file) are removed down to 90% of it. A cache that cannot be
// written degrades to no cache with one warning per folder, never a failure.
//
// Not the worker's ShardDiskCache (packages/worker/src/shard-cache.ts): that
// one is content-addressed (a shard is checked against its sha256 on every
// read) and the tokenizer cannot depend on the worker (the worker depends on
// the tokenizer); blocks have no hash to check against, only a key.
//
// Where and how big: ATOMIZER_CACHE_DIR (default <os temp dir>/atomizer-cache;
// blocks go to its blocks/ folder) and ATOMIZER_CACHE_MAX_MB (default 1024;
// 0 turns the cache off).

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BlockCacheOptions {
  dir: string;
  maxBytes: number;
  /** Where the one warning per folder goes. Default: stderr. */
  warn?: (message: string) => void;
}

const BLOCK_FILE = /^[0-9a-f]{64}\.blk$/;
const TEMP_FILE = /\.tmp$/;
const STALE_TEMP_MS = 10 * 60 * 1000;
const warnedDirs = new Set<string>();
let tempCounter = 0;

export class BlockCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly warn: (message: string) => void;
  private total: Promise<number> | undefined;
  private evicting: Promise<void> | undefined;
  private broken = false;

  constructor(opts: BlockCacheOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    this.warn = opts.warn ?? ((m) => process.stderr.write(`${m}\n`));
  }

  /** The file name of block `index` of a source version. */
  static key(version: string, index: number): string {
    return createHash('sha256').update(`${version}\n#${index}`).digest('hex');
  }

  private file(key: string): string {
    return join(this.dir, `${key}.blk`);
  }

  /** The block's bytes when cached (and marks it recently used). */
  async get(key: string): Promise<Uint8Array | undefined> {
    if (this.broken) return undefined;
    const file = this.file(key);
    try {
      const bytes = new Uint8Array(await readFile(file));
      const now = new Date();
      await utimes(file, now, now).catch(() => undefined);
      return bytes;
    } catch {
      return undefined;
    }
  }

  /** Keep a block; never throws (a cache that cannot be written is warned about once, then skipped). */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    if (this.broken || bytes.length > this.maxBytes) return;
    const file = this.file(key);
    const temp = `${file}.${process.pid}.${++tempCounter}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      if (!warnedDirs.has(this.dir)) {
        warnedDirs.add(this.dir);
        this.warn(
          `block cache ${this.dir}: cannot write (${(err as Error).message}); remote imagery is read without a cache (set ATOMIZER_CACHE_DIR to a writable folder)`,
        );
      }
      this.broken = true;
      return;
    }
    const total = (await this.currentTotal()) + bytes.length;
    this.total = Promise.resolve(total);
    if (total > this.maxBytes) await this.evict();
  }

  /** Bytes of blocks in the folder (scanned once, then counted as blocks are written). */
  private currentTotal(): Promise<number> {
    this.total ??= this.scan().then((entries) => entries.reduce((n, e) => n + e.size, 0));
    return this.total;
  }

  private async scan(): Promise<Array<{ path: string; size: number; mtimeMs: number }>> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: Array<{ path: string; size: number; mtimeMs: number }> = [];
    const now = Date.now();
    for (const name of names) {
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) continue;
      if (TEMP_FILE.test(name)) {
        // Orphans of processes that died mid-write.
        if (now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true }).catch(() => undefined);
        continue;
      }
      if (BLOCK_FILE.test(name)) out.push({ path, size: info.size, mtimeMs: info.mtimeMs });
    }
    return out;
  }

  /** Remove least recently used blocks down to 90% of the bound. */
  evict(): Promise<void> {
    this.evicting ??= (async () => {
      const entries = (await this.scan()).sort((a, b) => a.mtimeMs - b.mtimeMs);
      let total = entries.reduce((n, e) => n + e.size, 0);
      const target = this.maxBytes * 0.9;
      for (const e of entries) {
        if (total <= target) break;
        await rm(e.path, { force: true }).catch(() => undefined);
        total -= e.size;
      }
      this.total = Promise.resolve(total);
    })().finally(() => {
      this.evicting = undefined;
    });
    return this.evicting;
  }
}

const caches = new Map<string, BlockCache>();

/** The process's block cache from ATOMIZER_CACHE_DIR / ATOMIZER_CACHE_MAX_MB; false when turned off (0 MB). */
export function defaultBlockCache(): BlockCache | false {
  const rawMax = process.env.ATOMIZER_CACHE_MAX_MB;
  const maxMb = rawMax === undefined || rawMax === '' ? 1024 : Number(rawMax);
  if (!Number.isFinite(maxMb) || maxMb < 0) {
    throw new Error(`ATOMIZER_CACHE_MAX_MB=${rawMax} is not a number of megabytes; give e.g. 1024, or 0 to turn the cache off`);
  }
  if (maxMb === 0) return false;
  const root =
    process.env.ATOMIZER_CACHE_DIR !== undefined && process.env.ATOMIZER_CACHE_DIR !== ''
      ? process.env.ATOMIZER_CACHE_DIR
      : join(tmpdir(), 'atomizer-cache');
  const dir = join(root, 'blocks');
  const id = `${dir}\n${maxMb}`;
  let cache = caches.get(id);
  if (cache === undefined) {
    cache = new BlockCache({ dir, maxBytes: Math.round(maxMb * 1024 * 1024) });
    caches.set(id, cache);
  }
  return cache;
}

import { mkdir, readFile, readdir, rename, rm, stat, statfs, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, processAlive } from '@atomizer/protocol';

// The worker's disk cache of dataset shards (docs/design.md "Worker"): one file
// <sha256>.bin per shard, written as <sha256>.bin.<pid>.tmp and renamed into
// place, bounded in size (least recently used go first; a read touches the
// file). Disk trouble degrades instead of failing jobs: a full disk (ENOSPC,
// EDQUOT) removes the partial temp file, evicts and retries once; if the disk
// is still full, or writing fails for another reason, the shard is served from
// memory without caching and one warning per process names the folder and the
// free space. Temp files of dead processes (or older than `staleTempMs`) are
// orphans: the first use, every size-bound eviction and every full-disk
// eviction remove them.

/** The filesystem calls the cache writes through; tests replace them to simulate a full disk. */
export interface ShardCacheFs {
  writeFile(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Bytes this process may still write on the filesystem of `path`. */
  freeBytes(path: string): Promise<number>;
}

export interface ShardCacheOptions {
  /** The cache folder (one per host; pids in temp file names are this host's). */
  dir: string;
  /** Upper bound of the cached shards, bytes. */
  maxBytes: number;
  /** Override filesystem calls (tests). */
  fs?: Partial<ShardCacheFs>;
  /** Where the one warning goes. Default: stderr. */
  warn?: (message: string) => void;
  /** Whether a process of this host is alive. Default: `process.kill(pid, 0)`. */
  isAlive?: (pid: number) => boolean;
  /** A temp file older than this is an orphan whatever its pid says (pids are reused). Default 10 minutes. */
  staleTempMs?: number;
  now?: () => number;
}

const DEFAULT_STALE_TEMP_MS = 10 * 60 * 1000;
/** Room kept beyond a shard's size when evicting for it (filesystem blocks, metadata). */
const EVICT_MARGIN_BYTES = 64 * 1024;
const SHARD_FILE = /^[0-9a-f]{64}\.bin$/;
const TEMP_FILE = /^[0-9a-f]{64}\.bin\.(\d+)\.tmp$/;

/** Temp files this process is writing now (across caches, so one cache never sweeps another's write). */
const inFlight = new Set<string>();
/** Cache folders this process has warned about: one warning per folder and process, not one per shard. */
const warnedDirs = new Set<string>();

const realFs: ShardCacheFs = {
  writeFile: (path, data) => writeFile(path, data),
  rename: (from, to) => rename(from, to),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  freeBytes: async (path) => {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  },
};

function errorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** ENOSPC (device full) or EDQUOT (quota exhausted): the cases eviction can help. */
export function isDiskFullError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** 512 B, 97.7 KiB, 1.5 MiB, 2.0 GiB. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const [unit, div] = bytes < 1024 ** 2 ? ['KiB', 1024] : bytes < 1024 ** 3 ? ['MiB', 1024 ** 2] : ['GiB', 1024 ** 3];
  return `${(bytes / div).toFixed(1)} ${unit}`;
}

interface Entry {
  path: string;
  size: number;
  mtimeMs: number;
  /** Temp files: the pid in the name. */
  pid?: number;
}

export class ShardDiskCache {
  readonly dir: string;
  private readonly fs: ShardCacheFs;
  private readonly warnFn: (message: string) => void;
  private readonly isAlive: (pid: number) => boolean;
  private readonly staleTempMs: number;
  private readonly now: () => number;
  private swept: Promise<void> | undefined;

  constructor(private readonly opts: ShardCacheOptions) {
    this.dir = opts.dir;
    this.fs = { ...realFs, ...opts.fs };
    this.warnFn = opts.warn ?? ((m) => process.stderr.write(`${m}\n`));
    this.isAlive = opts.isAlive ?? processAlive;
    this.staleTempMs = opts.staleTempMs ?? DEFAULT_STALE_TEMP_MS;
    this.now = opts.now ?? Date.now;
  }

  private file(sha256: string): string {
    return join(this.dir, `${sha256}.bin`);
  }

  /** The startup sweep (orphan temp files, size bound), once, before the first read or write. */
  private ready(): Promise<void> {
    this.swept ??= this.evict().catch(() => undefined);
    return this.swept;
  }

  /** The cached shard when present and intact (a corrupt file is removed); marks it recently used. */
  async read(sha256: string): Promise<Uint8Array | undefined> {
    await this.ready();
    const file = this.file(sha256);
    try {
      const cached = new Uint8Array(await readFile(file));
      if (sha256Hex(cached) !== sha256) {
        await rm(file, { force: true });
        return undefined;
      }
      const now = new Date(this.now());
      await utimes(file, now, now).catch(() => undefined);
      return cached;
    } catch {
      return undefined;
    }
  }

  /**
   * Keep `bytes` (already checked against `sha256`) on disk. Never throws: true when
   * cached, false when the shard is served from memory only (disk full after eviction
   * and one retry, or the folder not writable; warned once per process).
   */
  async write(sha256: string, bytes: Uint8Array): Promise<boolean> {
    await this.ready();
    const file = this.file(sha256);
    const tmp = `${file}.${process.pid}.tmp`;
    if (inFlight.has(tmp)) return false; // the same shard is being written by this process right now
    inFlight.add(tmp);
    try {
      let err = await this.tryWrite(tmp, file, bytes);
      if (err !== undefined && isDiskFullError(err)) {
        await this.makeRoom(bytes.byteLength, errorCode(err) === 'ENOSPC');
        err = await this.tryWrite(tmp, file, bytes);
      }
      if (err === undefined) {
        await this.evict().catch(() => undefined);
        return true;
      }
      await this.warnOnce(err, bytes.byteLength);
      return false;
    } finally {
      inFlight.delete(tmp);
    }
  }

  /** One attempt: temp file, rename; a failed attempt leaves no temp file. Returns the error, if any. */
  private async tryWrite(tmp: string, file: string, bytes: Uint8Array): Promise<unknown> {
    try {
      await this.fs.mkdir(this.dir);
      await this.fs.writeFile(tmp, bytes);
      await this.fs.rename(tmp, file);
      return undefined;
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      return err ?? new Error('unknown error');
    }
  }

  private async scan(): Promise<{ shards: Entry[]; temps: Entry[] }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return { shards: [], temps: [] };
      throw err;
    }
    const shards: Entry[] = [];
    const temps: Entry[] = [];
    await Promise.all(
      names.map(async (name) => {
        const temp = TEMP_FILE.exec(name);
        if (temp === null && !SHARD_FILE.test(name)) return;
        const path = join(this.dir, name);
        const s = await stat(path).catch(() => undefined);
        if (s === undefined || !s.isFile()) return;
        const e: Entry = { path, size: s.size, mtimeMs: s.mtimeMs };
        if (temp !== null) temps.push({ ...e, pid: Number(temp[1]) });
        else shards.push(e);
      }),
    );
    return { shards, temps };
  }

  /** A temp file no live write will rename: not this process's current write, and its pid dead, this process's own, or too old. */
  private isOrphan(t: Entry): boolean {
    if (inFlight.has(t.path)) return false;
    const pid = t.pid as number;
    return pid === process.pid || this.now() - t.mtimeMs > this.staleTempMs || !this.isAlive(pid);
  }

  private async removeOrphans(temps: Entry[]): Promise<number> {
    let freed = 0;
    for (const t of temps) {
      if (!this.isOrphan(t)) continue;
      await rm(t.path, { force: true });
      freed += t.size;
    }
    return freed;
  }

  /** Orphan temp files, then the least recently used shards beyond `maxBytes`. */
  async evict(): Promise<void> {
    const { shards, temps } = await this.scan();
    await this.removeOrphans(temps);
    let total = 0;
    for (const s of shards.sort((a, b) => b.mtimeMs - a.mtimeMs)) {
      total += s.size;
      if (total > this.opts.maxBytes) await rm(s.path, { force: true });
    }
  }

  /**
   * Room for `needed` bytes after a full-disk error: orphan temp files, then least
   * recently used shards until the free space (when the filesystem's free space is what
   * ran out, `knowsFree`) or the freed bytes (a quota) cover it. When removing every
   * shard could not make the room (the disk is full of other files), none is removed.
   */
  private async makeRoom(needed: number, knowsFree: boolean): Promise<void> {
    const { shards, temps } = await this.scan().catch(() => ({ shards: [] as Entry[], temps: [] as Entry[] }));
    await this.removeOrphans(temps).catch(() => undefined);
    const free = knowsFree ? await this.fs.freeBytes(this.dir).catch(() => undefined) : undefined;
    // Free space known: the shard plus a margin for blocks and metadata; a quota: the shard's size freed.
    const want = free === undefined ? needed : needed + EVICT_MARGIN_BYTES;
    if (free !== undefined && free >= want) return;
    const evictable = shards.reduce((n, s) => n + s.size, 0);
    if (free !== undefined && free + evictable < want) return;
    let freed = 0;
    for (const s of shards.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if ((free ?? 0) + freed >= want) break;
      await rm(s.path, { force: true }).catch(() => undefined);
      freed += s.size;
    }
  }

  private async warnOnce(err: unknown, needed: number): Promise<void> {
    if (warnedDirs.has(this.dir)) return;
    warnedDirs.add(this.dir);
    const free = await this.fs.freeBytes(this.dir).catch(() => undefined);
    const freeText = free === undefined ? 'free space unknown' : `${formatSize(free)} free`;
    const code = errorCode(err) ?? (err instanceof Error ? err.message : String(err));
    const why = isDiskFullError(err)
      ? `is full (${code}, ${freeText}, a shard needs ${formatSize(needed)}, eviction did not make room)`
      : `cannot be written (${code}, ${freeText})`;
    this.warnFn(
      `warning: shard cache ${this.dir} ${why}: shards are served from the store without caching; free space there or give the worker another --cache-dir (warned once per process)`,
    );
  }
}

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { NotFoundError, bodyOfAttempt, rangePastEndError, validateObjectKey, validateRange } from './object-store.js';

/**
 * Temp files live next to their destination (rename is only atomic within one
 * filesystem) under a name no valid key segment produces with `list`: listing skips them.
 */
const TEMP_MARKER = '.atomizer-tmp-';

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * An object store in a local folder: key 'a/b/c.bin' is the file <root>/a/b/c.bin.
 * Writes go to a temp file that is fsynced and then renamed over the destination, so a
 * crash leaves either the previous object or the new one, never half of it. A scratch put
 * (`durable: false`) skips the fsync: a process crash loses nothing (the page cache holds
 * it), a host crash may leave no object or a file whose hash does not check, which every
 * reader of such objects checks; `persist` fsyncs it later.
 */
export class LocalStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root === '') throw new Error('LocalStore: root directory must be a non-empty path');
    this.root = resolve(root);
  }

  describe(): string {
    return pathToFileURL(this.root).href;
  }

  private path(key: string): string {
    validateObjectKey(key, this.describe());
    if (key.split('/').some((s) => s.startsWith(TEMP_MARKER))) {
      throw new Error(
        `invalid object key ${JSON.stringify(key)} for ${this.describe()}: segments starting with ${TEMP_MARKER} are reserved`,
      );
    }
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, given: ObjectBody, opts?: PutOptions): Promise<void> {
    const dest = this.path(key);
    const body = bodyOfAttempt(given);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = join(dirname(dest), `${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
    try {
      const handle = await open(tmp, 'wx');
      try {
        if (body instanceof Uint8Array) {
          await handle.writeFile(body);
        } else {
          // Chunk by chunk: memory stays bounded by the stream's chunk size.
          for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            let done = 0;
            while (done < bytes.byteLength) {
              const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done);
              done += bytesWritten;
            }
          }
        }
        if (opts?.durable !== false) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, dest);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** The object's file opened for reading; a missing one is a NotFoundError naming the key. */
  private async openExisting(key: string, file: string): Promise<FileHandle> {
    try {
      return await open(file, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError(key, this.describe());
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.path(key);
    try {
      const handle = await open(file, 'r');
      try {
        const buf = await handle.readFile();
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } finally {
        await handle.close();
      }
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EISDIR')) throw new NotFoundError(key, this.describe());
      throw err;
    }
  }

  async getRange(key: string, start: number, endExclusive: number, into?: Uint8Array): Promise<Uint8Array> {
    const file = this.path(key);
    const length = validateRange(key, start, endExclusive, this.describe());
    const handle = await this.openExisting(key, file);
    try {
      const { size } = await handle.stat();
      if (endExclusive > size) throw rangePastEndError(key, start, endExclusive, size, this.describe());
      const out = into !== undefined && into.byteLength >= length ? into.subarray(0, length) : new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, start + done);
        if (bytesRead === 0) throw rangePastEndError(key, start, endExclusive, start + done, this.describe());
        done += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async persist(key: string): Promise<void> {
    const handle = await this.openExisting(key, this.path(key));
    try {
      // fsync flushes the file's pages whichever process wrote them (on NFS the writer's close already did).
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.path(key);
    try {
      const s = await stat(file);
      return s.isFile() ? { size: s.size } : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async list(prefix: string): Promise<string[]> {
    // Only walk the folder the prefix can live in: 'datasets/x/shards/tr' -> <root>/datasets/x/shards.
    const lastSlash = prefix.lastIndexOf('/');
    const dirKey = lastSlash >= 0 ? prefix.slice(0, lastSlash) : '';
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
        throw err;
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP_MARKER)) continue;
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) {
          // Descend only into folders that can hold keys matching the prefix.
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(join(dir, entry.name), `${key}/`);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    const startDir = dirKey === '' ? this.root : join(this.root, ...dirKey.split('/'));
    if (!resolve(startDir).startsWith(this.root + sep) && resolve(startDir) !== this.root) {
      throw new Error(`invalid list prefix ${JSON.stringify(prefix)} for ${this.describe()}: escapes the store root`);
    }
    await walk(startDir, dirKey === '' ? '' : `${dirKey}/`);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}

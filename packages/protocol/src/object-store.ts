import type { Readable } from 'node:stream';

/**
 * What `put` accepts: bytes already in memory, a stream for objects too large to hold, or a
 * function that makes the stream (called once per attempt, so a put interrupted by an
 * outage can be repeated: ResilientStore retries bytes and factories, never a bare stream).
 */
export type ObjectBody = Uint8Array | Readable | (() => Readable);

/** The bytes or stream of one attempt at a put. */
export function bodyOfAttempt(body: ObjectBody): Uint8Array | Readable {
  return typeof body === 'function' ? body() : body;
}

export interface PutOptions {
  /** MIME type recorded by stores that keep one (S3); ignored by the local folder store. */
  contentType?: string;
  /**
   * false: a scratch object, one a crash of the host may lose because whoever needs it
   * after a crash writes it again (a round's weights and slice results, a local-mode inner
   * state until a checkpoint persists it, docs/design.md "Durability"). The folder store
   * then skips its fsync (the rename stays atomic; a reader checks the hash anyway); an S3
   * server owns its durability and is not asked. Default true.
   */
  durable?: boolean;
}

/** The put of a scratch object (`durable: false`): a round's weights, results, inner states. */
export const SCRATCH: PutOptions = Object.freeze({ durable: false });

export interface ObjectInfo {
  /** Object size in bytes. */
  size: number;
}

/**
 * The object store every process shares (docs/design.md "Object store layout"): an S3
 * bucket+prefix on a cluster, a folder on a laptop. Keys are relative, '/'-separated
 * (see keys.ts for the layout); the store adds its own prefix or root directory.
 *
 * Semantics both implementations keep:
 * - `put` replaces the object atomically: readers see the old or the new bytes, never half.
 * - `get`, `getRange` on a missing key throw `NotFoundError`; `head` returns undefined.
 * - `getRange(key, start, end)` returns exactly `end - start` bytes or throws (a range past
 *   the end of the object is an error, not a short read, so truncation is never silent).
 *   Given `into` (at least `end - start` bytes), a store that reads in place (the local
 *   folder) returns a view of it, so a caller reading many ranges reuses one buffer instead
 *   of faulting in fresh memory each time; others (S3) return bytes of their own.
 * - `list(prefix)` is a plain string-prefix match over keys, sorted, all pages collected.
 * - `delete` of a missing key is not an error (S3 semantics; retries stay idempotent).
 * - `persist(key)` makes an object written with `durable: false` as durable as any other
 *   (the folder store fsyncs it; S3 has nothing to do); a missing key throws `NotFoundError`.
 */
export interface ObjectStore {
  put(key: string, body: ObjectBody, opts?: PutOptions): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  getRange(key: string, start: number, endExclusive: number, into?: Uint8Array): Promise<Uint8Array>;
  head(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Make a scratch object (`durable: false`) durable, e.g. before a checkpoint names it. */
  persist(key: string): Promise<void>;
  /** Where this store points, for logs: "s3://bucket/prefix at http://host:port" or "file:///dir". */
  describe(): string;
}

/** A key that is not in the store. `key` is the store-relative key, `store` its `describe()`. */
export class NotFoundError extends Error {
  readonly key: string;
  readonly store: string;
  constructor(key: string, store: string) {
    super(`object not found: ${key} in ${store}`);
    this.name = 'NotFoundError';
    this.key = key;
    this.store = store;
  }
}

export function isNotFoundError(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}

/** An object's bytes, or undefined when the key does not exist (other errors are thrown). */
export async function getIfExists(store: ObjectStore, key: string): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key);
  } catch (err) {
    if (isNotFoundError(err)) return undefined;
    throw err;
  }
}

/**
 * Reject keys that would escape the store's root or name a folder: empty, leading or
 * trailing '/', empty segments, '.' or '..' segments, backslashes, control characters.
 * Both stores check the same rules so a key that works locally works on S3 and back.
 */
export function validateObjectKey(key: string, store: string): void {
  const fail = (why: string): never => {
    throw new Error(`invalid object key ${JSON.stringify(key)} for ${store}: ${why}`);
  };
  if (typeof key !== 'string' || key.length === 0) fail('expected a non-empty string');
  if (key.startsWith('/') || key.endsWith('/')) fail("must not start or end with '/'");
  if (key.includes('\\')) fail("must not contain '\\' (use '/')");
  if (/[\u0000-\u001f\u007f]/.test(key)) fail('must not contain control characters');
  for (const segment of key.split('/')) {
    if (segment === '') fail("must not contain empty segments ('//')");
    if (segment === '.' || segment === '..') fail("must not contain '.' or '..' segments");
  }
}

/** Check a byte range request; returns its length. */
export function validateRange(key: string, start: number, endExclusive: number, store: string): number {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0 || endExclusive < start) {
    throw new RangeError(`invalid byte range [${start}, ${endExclusive}) for ${key} in ${store}: expected integers with 0 <= start <= end`);
  }
  return endExclusive - start;
}

/** The error for a range reaching past the end of an object. */
export function rangePastEndError(key: string, start: number, endExclusive: number, size: number, store: string): Error {
  return new RangeError(`byte range [${start}, ${endExclusive}) of ${key} in ${store} reaches past the end of the object (${size} bytes)`);
}

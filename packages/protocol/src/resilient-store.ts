import type { Readable } from 'node:stream';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { OutageGuard } from './outage.js';

/**
 * An object store that rides out outages of the store behind it (outage.ts): every
 * operation is retried while it fails for a connection-level reason, up to the guard's
 * budget. Every operation of the contract is idempotent (puts replace whole objects,
 * deletes of missing keys succeed), so repeating one is safe. A put whose body is a bare
 * stream is tried once (the stream is spent); pass bytes or a stream factory instead.
 */
export class ResilientStore implements ObjectStore {
  constructor(
    readonly inner: ObjectStore,
    readonly guard: OutageGuard = new OutageGuard({ what: `the store ${inner.describe()}` }),
  ) {}

  put(key: string, body: ObjectBody, opts?: PutOptions): Promise<void> {
    if (!isReplayable(body)) return this.inner.put(key, body, opts);
    return this.guard.run(() => this.inner.put(key, body, opts));
  }
  get(key: string): Promise<Uint8Array> {
    return this.guard.run(() => this.inner.get(key));
  }
  getRange(key: string, start: number, endExclusive: number, into?: Uint8Array): Promise<Uint8Array> {
    return this.guard.run(() => this.inner.getRange(key, start, endExclusive, into));
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.guard.run(() => this.inner.head(key));
  }
  exists(key: string): Promise<boolean> {
    return this.guard.run(() => this.inner.exists(key));
  }
  list(prefix: string): Promise<string[]> {
    return this.guard.run(() => this.inner.list(prefix));
  }
  delete(key: string): Promise<void> {
    return this.guard.run(() => this.inner.delete(key));
  }
  persist(key: string): Promise<void> {
    return this.guard.run(() => this.inner.persist(key));
  }
  describe(): string {
    return this.inner.describe();
  }
}

function isReplayable(body: ObjectBody): body is Uint8Array | (() => Readable) {
  return body instanceof Uint8Array || typeof body === 'function';
}

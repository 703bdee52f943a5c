import {
  FLAT_CHUNK_BYTES,
  isNotFoundError,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type TransportFormat,
} from '@atomizer/protocol';

// The coordinator's reads of a round's results when they are small (the demo's are 0.5 MB):
// one GET per result instead of three requests (the header check's head and header read,
// then the fold's payload read, results.ts and ordered-fold.ts). head() reads the whole
// object and keeps its bytes; the ranged reads that follow are served from them, so the
// header and the payload come from the same bytes. On S3 a request costs milliseconds
// whatever its size (docs/benchmarks.md), and the last result's check is on the round's
// critical path.
//
// The bytes kept are bounded (`maxBytes`, oldest first out): a result pushed out is read
// again from the store, range by range, as without this view. Every head() reads afresh
// (a retried slice rewrites its result's key); put and delete drop what is kept. Used only
// for runs whose results are at most one hash chunk (resultReads): an object far larger
// than its run's results (a faulty writer) is read whole once, then refused by its header
// check, and never kept.

/** The store a round's result checks and fold read through: whole reads when a result of `params` values in `transport` is one hash chunk or less. */
export function resultReads(store: ObjectStore, params: number, transport: TransportFormat): ObjectStore {
  return params * (transport === 'f32' ? 4 : 2) <= FLAT_CHUNK_BYTES ? new WholeResultReads(store) : store;
}

export class WholeResultReads implements ObjectStore {
  private readonly kept = new Map<string, Uint8Array>();
  private keptBytes = 0;

  constructor(
    private readonly store: ObjectStore,
    /** At most this many bytes of results held at once. */
    private readonly maxBytes = 8 * FLAT_CHUNK_BYTES,
  ) {}

  /** The object's size, from one GET of the whole object, whose bytes are kept for the reads that follow. */
  async head(key: string): Promise<ObjectInfo | undefined> {
    this.drop(key);
    let bytes: Uint8Array;
    try {
      bytes = await this.store.get(key);
    } catch (err) {
      if (isNotFoundError(err)) return undefined;
      throw err;
    }
    this.keep(key, bytes);
    return { size: bytes.byteLength };
  }

  /** From the kept bytes when they hold the range (a copy: the caller may hand its buffer to a thread), else from the store. */
  async getRange(key: string, start: number, endExclusive: number, into?: Uint8Array): Promise<Uint8Array> {
    const bytes = this.kept.get(key);
    if (bytes === undefined || !(start >= 0 && start <= endExclusive && endExclusive <= bytes.byteLength))
      return this.store.getRange(key, start, endExclusive, into);
    const part = bytes.subarray(start, endExclusive);
    if (into === undefined || into.byteLength < part.byteLength) return part.slice();
    into.set(part);
    return into.subarray(0, part.byteLength);
  }

  async get(key: string): Promise<Uint8Array> {
    return this.kept.get(key)?.slice() ?? this.store.get(key);
  }

  async put(key: string, body: ObjectBody, opts?: PutOptions): Promise<void> {
    this.drop(key);
    await this.store.put(key, body, opts);
  }

  async delete(key: string): Promise<void> {
    this.drop(key);
    await this.store.delete(key);
  }

  exists(key: string): Promise<boolean> {
    return this.store.exists(key);
  }

  persist(key: string): Promise<void> {
    return this.store.persist(key);
  }

  list(prefix: string): Promise<string[]> {
    return this.store.list(prefix);
  }

  describe(): string {
    return this.store.describe();
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.keptBytes;
  }

  private keep(key: string, bytes: Uint8Array): void {
    if (bytes.byteLength > this.maxBytes) return;
    this.kept.set(key, bytes);
    this.keptBytes += bytes.byteLength;
    for (const [k, b] of this.kept) {
      if (this.keptBytes <= this.maxBytes) break;
      this.kept.delete(k);
      this.keptBytes -= b.byteLength;
    }
  }

  private drop(key: string): void {
    const b = this.kept.get(key);
    if (b === undefined) return;
    this.kept.delete(key);
    this.keptBytes -= b.byteLength;
  }
}

import { WeightsMetaSchema, decodeFlat, sha256Hex, type EvalJob, type ObjectStore, type TrainJob } from '@atomizer/protocol';
import { paramTableOf } from '@atomizer/model';
import { ShardReader, type Sample } from '@atomizer/tokenizer';
import { PermanentJobError } from './job-errors.js';
import { keepNewestWithin } from './newest-within.js';
import { loadRunContext, type RunContext } from './run-context.js';
import { DecodedSamples } from './sample-cache.js';
import { ShardDiskCache, type ShardCacheFs } from './shard-cache.js';
import { decodeTransport } from './transport.js';

// What a compute process keeps between jobs: run contexts, the round's weights (hash
// checked), shards (memory, then the disk cache, sha256 checked), their decoded samples,
// and the local-mode slot states it left. Each bounded.

/** The jobs that read shard samples with the round's weights. */
export type ShardJob = TrainJob | EvalJob;

/** A slot's inner AdamW state (local mode). */
export interface InnerState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

export interface JobCacheOptions {
  store: ObjectStore;
  /** Shard disk cache folder; undefined: memory only (last few shards). */
  cacheDir?: string;
  /** Upper bound of the disk cache, bytes. Default 2 GiB. */
  cacheBytes?: number;
  /** Filesystem calls of the disk cache (tests simulate a full disk with them). */
  cacheFs?: Partial<ShardCacheFs>;
  /** Where warnings go (a full cache folder). Default: stderr. */
  onWarning?: (message: string) => void;
  /** Memory for the local-mode slot states this process left (skips their download). Default 512 MiB; 0 turns it off. */
  innerStateMemBytes?: number;
  /** Memory for shard bytes. Default 256 MiB. */
  shardMemBytes?: number;
  /** Heap for decoded samples of the shards in memory, as estimated (sample-cache.ts). Default 64 MiB. */
  decodedSampleBytes?: number;
}

interface Weights {
  key: string;
  sha256: string;
  values: Float32Array;
}

/** Bounded caches of run contexts, weights, shards, their decoded samples and slot states for one compute process. */
export class JobCache {
  private readonly contexts = new Map<string, Promise<RunContext>>();
  private readonly weights = new Map<string, Promise<Weights>>();
  private readonly shards = new Map<string, Uint8Array>();
  private readonly shardMemBytes: number;
  private readonly readers = new Map<string, ShardReader>();
  private readonly decoded: DecodedSamples;
  /** Inner optimizer states this process left (local mode), by key, with their payload sha256. */
  private readonly innerStates = new Map<string, { sha256: string; state: InnerState }>();
  private readonly innerStateMemBytes: number;

  /** The shard disk cache; undefined without a cache folder. */
  private readonly disk: ShardDiskCache | undefined;

  constructor(private readonly opts: JobCacheOptions) {
    this.innerStateMemBytes = opts.innerStateMemBytes ?? 512 * 1024 * 1024;
    this.shardMemBytes = opts.shardMemBytes ?? 256 * 1024 * 1024;
    this.decoded = new DecodedSamples(opts.decodedSampleBytes);
    if (opts.cacheDir !== undefined) {
      this.disk = new ShardDiskCache({
        dir: opts.cacheDir,
        maxBytes: opts.cacheBytes ?? 2 * 1024 ** 3,
        ...(opts.cacheFs !== undefined ? { fs: opts.cacheFs } : {}),
        ...(opts.onWarning !== undefined ? { warn: opts.onWarning } : {}),
      });
    }
  }

  /**
   * The slot state at `key` if this process left it and it is exactly the one the job names
   * (same payload sha256): the job then skips the download. A copy is returned by the
   * optimizer's setState, so a failed job never alters what is kept here.
   */
  innerState(key: string, sha256: string): InnerState | undefined {
    const hit = this.innerStates.get(key);
    return hit !== undefined && hit.sha256 === sha256 ? hit.state : undefined;
  }

  /**
   * Keep a state this process has just stored at `key` in place of the one it was computed
   * from (`consumed`: its slot's next job names the new one). Bounded: from the newest, a state
   * that no longer fits goes (states of one run are all the same size: the oldest go first).
   */
  keepInnerState(key: string, sha256: string, state: InnerState, consumed?: string): void {
    if (consumed !== undefined) this.innerStates.delete(consumed);
    this.innerStates.delete(key);
    this.innerStates.set(key, { sha256, state });
    keepNewestWithin(this.innerStates, (v) => v.state.m.byteLength + v.state.v.byteLength, this.innerStateMemBytes);
  }

  /** A parsed shard (its header read once) while its bytes are in the memory cache. */
  reader(bytes: Uint8Array, key: string, sha256: string): ShardReader {
    let r = this.readers.get(sha256);
    if (r === undefined) {
      // The bytes matched the shard's sha256 (shard()): no record's CRC32 to check again on every read.
      r = ShardReader.fromBytes(bytes, { name: key, verify: false });
      if (this.shards.get(sha256) === bytes) this.readers.set(sha256, r);
    }
    return r;
  }

  /** Samples [start, end) of a shard, decoded once while its bytes are in the memory cache (shared: read-only). */
  samples(reader: ShardReader, sha256: string, start: number, end: number): Promise<Sample[]> {
    return this.decoded.range(reader, sha256, start, end, this.readers.get(sha256) === reader);
  }

  get store(): ObjectStore {
    return this.opts.store;
  }

  context(configKey: string): Promise<RunContext> {
    let p = this.contexts.get(configKey);
    if (p === undefined) {
      p = loadRunContext(this.opts.store, configKey);
      p.catch(() => this.contexts.delete(configKey));
      this.contexts.set(configKey, p);
      trim(this.contexts, 4);
    }
    return p;
  }

  /** The round's weights, checked against the hash the job carries and the run's model config. */
  async roundWeights(job: ShardJob, ctx: RunContext, counters: { bytesIn: number }): Promise<Float32Array> {
    let p = this.weights.get(job.weightsKey);
    if (p === undefined) {
      p = (async () => {
        const bytes = await this.opts.store.get(job.weightsKey);
        counters.bytesIn += bytes.byteLength;
        const flat = decodeFlat(bytes, job.weightsKey);
        const meta = WeightsMetaSchema.safeParse(flat.meta);
        if (!meta.success) throw new PermanentJobError(`${job.weightsKey}: weights header invalid: ${meta.error.issues[0]?.message}`);
        if (meta.data.modelConfigSha256 !== ctx.modelSha256) {
          throw new PermanentJobError(`${job.weightsKey}: weights are for another model config than run ${job.run}'s`);
        }
        let values: Float32Array;
        try {
          values = decodeTransport(flat.arrays.weights, meta.data.transport, paramTableOf(ctx.model).size, `${job.weightsKey}: weights`);
        } catch (err) {
          throw new PermanentJobError((err as Error).message);
        }
        return { key: job.weightsKey, sha256: flat.payloadSha256, values };
      })();
      p.catch(() => this.weights.delete(job.weightsKey));
      this.weights.set(job.weightsKey, p);
      trim(this.weights, 2);
    }
    const w = await p;
    if (w.sha256 !== job.weightsSha256) {
      throw new PermanentJobError(
        `job ${job.run}/${job.round}/${job.job}: weights ${job.weightsKey} have payload sha256 ${w.sha256}, the job expects ${job.weightsSha256} (overwritten weights or a job from another attempt of the run)`,
      );
    }
    return w.values;
  }

  /** The shard's bytes, from memory, the disk cache or the store; always checked against `sha256`. */
  async shard(key: string, sha256: string, counters: { bytesIn: number }): Promise<Uint8Array> {
    const mem = this.shards.get(sha256);
    if (mem !== undefined) return mem;
    let bytes = await this.disk?.read(sha256);
    if (bytes === undefined) {
      const fetched = await this.opts.store.get(key);
      counters.bytesIn += fetched.byteLength;
      const actual = sha256Hex(fetched);
      if (actual !== sha256) {
        throw new PermanentJobError(
          `shard ${key} no longer matches its checksum: sha256 ${actual}, the manifest says ${sha256}; the dataset changed after sharding — re-shard it (atomizer shard) and start a new run`,
        );
      }
      bytes = fetched;
      // A full or unwritable cache folder degrades to memory only (shard-cache.ts): never a failed job.
      await this.disk?.write(sha256, bytes);
    }
    this.shards.set(sha256, bytes);
    // A shard larger than the whole bound is served, not kept, and pushes out nothing that fits.
    keepNewestWithin(
      this.shards,
      (v) => v.byteLength,
      this.shardMemBytes,
      (k) => {
        this.shards.delete(k);
        this.readers.delete(k);
        this.decoded.drop(k);
      },
    );
    return bytes;
  }
}

function trim<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as K);
}

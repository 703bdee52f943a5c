import { performance } from 'node:perf_hooks';
import type { AccumulatedGradient } from '@atomizer/model';
import { chunkSpans, decodeFlat, type ObjectStore } from '@atomizer/protocol';
import { RoundFailedError, type SliceProblem, type TrainCheck } from './executor.js';
import { ChunkRefusedError, ReducerFailedError, type RangeReducers } from './range-reducers.js';
import { checkTrainResult, sampleTotals, type AcceptedTrainResult } from './results.js';

// Streaming, sharded aggregation (docs/design.md "Aggregation"). A result is accepted on
// its header alone (results.ts); its payload is read once, at its turn: when it and every
// lower job id are in, each range of the parameter vector streams its own byte range of
// the result (ranged reads, one hash chunk at a time) to its reducer thread, which checks
// the chunk's sha256 and every value's finiteness and adds it into the float64 sum. Per
// element the sum is built in job-id order: the same bits as summing the sorted list. The
// fold runs while the round's later slices still compute; at the close only what is still
// pending is left.
//
// A result refused at its turn (a chunk whose hash does not match, a NaN, an object gone)
// has reached part of the sum: the fold forgets it, zeroes the sum and folds the others
// again from the first, and reports the job through settle() so the executor refuses it
// with the reason and retries the slice. A reducer thread that dies is started again and
// the sum rebuilt the same way, at most `reducerRetries` times a round. finish() gives a
// mean only when the sum holds exactly the accepted jobs: never a partial sum.

export interface FoldStats {
  /** Wall time spent folding results (reads, hashes, adds, in the reducer threads), ms. */
  foldMs: number;
  /** Results read a second time, after a rebuild of the sum. */
  rereads: number;
  /** Largest number of bytes of chunks in flight at once. */
  peakHeldBytes: number;
  /** Results folded (a result folded again after a rebuild counts again). */
  folded: number;
  /** Times the sum was zeroed and rebuilt (a refused result, a reducer thread that died). */
  rebuilds: number;
  /** Reducer threads that died and were started again this round. */
  reducerRestarts: number;
  /** Payload bytes read from the store. */
  bytesRead: number;
  /** performance.now() when the round was last declared closed (the executor's final settle), or undefined. */
  closedAt: number | undefined;
}

/** Stats of a round that has folded nothing yet. */
export function newFoldStats(): FoldStats {
  return { foldMs: 0, rereads: 0, peakHeldBytes: 0, folded: 0, rebuilds: 0, reducerRestarts: 0, bytesRead: 0, closedAt: undefined };
}

export interface OrderedFoldOptions {
  store: ObjectStore;
  /** The run's reducer threads (one per range); their sum is zeroed by the fold before its first add. */
  reducers: RangeReducers;
  /** Reducer thread deaths one round rides out (each rebuilds the sum); one more fails the round. */
  reducerRetries?: number;
  /** Chunk reads in flight per range. */
  readAhead?: number;
  log?: (msg: string) => void;
  /** The round, for errors. */
  round: number;
}

export class OrderedFold {
  private readonly offered = new Map<number, AcceptedTrainResult>();
  private readonly folded = new Set<number>();
  private refused: SliceProblem[] = [];
  /** Jobs accepted when the round closed: fold past the gaps of the others. */
  private closing: Set<number> | undefined;
  private zeroed = false;
  /** Counts forget(): a fold that was running when the sum was forgotten does not count. */
  private epoch = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private inFlightBytes = 0;
  readonly stats = newFoldStats();
  private readonly everFolded = new Set<number>();
  /** Per range, chunk buffers back from its thread, reused for the next reads. */
  private readonly pools: ArrayBuffer[][] = [];

  constructor(private readonly opts: OrderedFoldOptions) {}

  /** An accepted result (header checked): folded at its turn. A job offered again after it was refused replaces it. */
  offer(result: AcceptedTrainResult): void {
    if (this.offered.has(result.job)) {
      this.failure ??= new Error(`round ${this.opts.round}: job ${result.job} was accepted twice`);
      return;
    }
    this.offered.set(result.job, result);
    // A job below one already folded (its slice came back after a refusal): the order needs a rebuild.
    if ([...this.folded].some((j) => j > result.job)) this.forget();
    void this.drain();
  }

  /**
   * Results refused at their turn since the last call (the executor refuses and retries
   * them). `final`: the round would close with `accepted`; wait until each is folded (past
   * the gaps of the others) or refused. Throws when the fold cannot go on (RoundFailedError).
   */
  async settle(accepted: readonly number[], final: boolean): Promise<SliceProblem[]> {
    if (final) {
      this.stats.closedAt = performance.now();
      this.closing = new Set(accepted);
      await this.drain();
    }
    if (this.failure !== undefined) throw this.failure;
    const out = this.refused;
    this.refused = [];
    // A refusal reopens the round: fold no further than its gap until it closes again.
    if (out.length > 0) this.closing = undefined;
    return out;
  }

  /** The sample-weighted mean, once the sum holds exactly `accepted` (after a final settle that refused nothing). */
  async finish(accepted: readonly number[]): Promise<AccumulatedGradient> {
    const problems = await this.settle(accepted, true);
    if (problems.length > 0)
      throw new RoundFailedError(`round ${this.opts.round}: ${problems.map((p) => `job ${p.job}: ${p.reason}`).join('; ')}`);
    const want = [...accepted].sort((a, b) => a - b);
    const got = [...this.folded].sort((a, b) => a - b);
    if (want.length !== got.length || want.some((j, i) => j !== got[i])) {
      throw new RoundFailedError(
        `round ${this.opts.round}: the sum holds jobs ${got.join(',') || 'none'} but the round accepted ${want.join(',') || 'none'}`,
      );
    }
    const { total, loss } = sampleTotals(want.map((j) => this.offered.get(j)!.meta));
    if (total === 0) throw new RoundFailedError(`round ${this.opts.round}: no samples accumulated; cannot average`);
    const grads = await this.reducers().meanOf(total);
    return { grads, samples: total, loss };
  }

  private reducers(): RangeReducers {
    return this.opts.reducers;
  }

  /** Drop what the sum holds: the next fold zeroes it and starts again from the lowest job. */
  private forget(): void {
    // Even with nothing folded whole, a refused first result may have reached part of the sum.
    if (this.folded.size > 0) this.stats.rebuilds++;
    this.epoch++;
    this.folded.clear();
    this.zeroed = false;
  }

  private nextJob(): number | undefined {
    let next = 0;
    while (this.folded.has(next)) next++;
    if (this.offered.has(next)) return next;
    if (this.closing === undefined) return undefined;
    const rest = [...this.offered.keys()].filter((j) => !this.folded.has(j) && this.closing!.has(j));
    return rest.length === 0 ? undefined : Math.min(...rest);
  }

  private drain(): Promise<void> {
    this.chain = this.chain.then(async () => {
      for (;;) {
        if (this.failure !== undefined) return;
        const job = this.nextJob();
        if (job === undefined) return;
        const result = this.offered.get(job)!;
        try {
          if (!this.zeroed) {
            await this.reducers().zero();
            this.zeroed = true;
          }
          const t = performance.now();
          const epoch = this.epoch;
          await this.foldResult(result);
          this.stats.foldMs += performance.now() - t;
          if (epoch !== this.epoch) continue;
          this.stats.folded++;
          if (this.everFolded.has(job)) this.stats.rereads++;
          this.everFolded.add(job);
          this.folded.add(job);
        } catch (err) {
          this.forget();
          if (err instanceof ReducerFailedError) {
            this.stats.reducerRestarts++;
            const retries = this.opts.reducerRetries ?? 2;
            if (this.stats.reducerRestarts > retries) {
              this.failure = new RoundFailedError(
                `round ${this.opts.round}: ${err.message} while folding job ${job}; ${this.stats.reducerRestarts} reducer failures this round, more than the ${retries} it rides out`,
              );
              return;
            }
            this.opts.log?.(
              `round ${this.opts.round}: ${err.message} while folding job ${job}; started again, the sum is rebuilt from job 0`,
            );
            continue;
          }
          // The result itself: refused, its slice retried by the executor.
          this.offered.delete(job);
          this.refused.push({ job, reason: (err as Error).message });
          this.closing = undefined; // the executor logs the refusal and retries the slice
        }
      }
    });
    return this.chain;
  }

  /** Fold one result into every range, each range reading only its own chunks. */
  private async foldResult(result: AcceptedTrainResult): Promise<void> {
    const { store } = this.opts;
    const key = result.reply.resultKey;
    const L = result.layout;
    const ranges = this.reducers().ranges;
    const base = { end: L.length, fmt: L.fmt, w: result.meta.samples, key };
    if (L.chunks === undefined) {
      // A version 1 object (no chunk hashes): read whole, its payload hash checked, then each range its part.
      const flat = decodeFlat(await store.get(key), key, { copy: false });
      if (flat.payloadSha256 !== result.payloadSha256) throw new ChunkRefusedError(`${key}: changed in the store after it was accepted`);
      const a = flat.arrays.update!;
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      this.stats.bytesRead += bytes.byteLength;
      await settleAll(
        ranges.map((_, r) => this.reducers().fold(r, { ...base, data: bytes.slice(), first: 0, sha: null, what: `${key} (version 1)` })),
      );
      return;
    }
    const readAhead = this.opts.readAhead ?? 2;
    await settleAll(
      ranges.map(async (range, r) => {
        const inFlight: Promise<unknown>[] = [];
        const pool = this.pools[r] ?? (this.pools[r] = []);
        try {
          for (const { chunk: c, start, end, first } of chunkSpans(L, range.from, range.to)) {
            const spare = pool.pop();
            const data = await store.getRange(
              key,
              start,
              end,
              spare !== undefined && spare.byteLength >= end - start ? new Uint8Array(spare) : undefined,
            );
            const n = data.byteLength; // the buffer is handed to the thread (detached here)
            this.stats.bytesRead += n;
            this.inFlightBytes += n;
            this.stats.peakHeldBytes = Math.max(this.stats.peakHeldBytes, this.inFlightBytes);
            const p = this.reducers()
              .fold(r, {
                ...base,
                data,
                first,
                sha: L.chunks!.sha256[c]!,
                what: `${key} chunk ${c} (bytes ${start}-${end})`,
              })
              .then((reply) => {
                // Back from the thread: the next chunk of this range is read into it (no fresh memory to fault in).
                if (reply.data !== undefined && pool.length < readAhead + 1) pool.push(reply.data);
              })
              .finally(() => (this.inFlightBytes -= n));
            p.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
            inFlight.push(p);
            if (inFlight.length >= readAhead) await inFlight.shift();
          }
        } finally {
          await settleAll(inFlight.splice(0));
        }
      }),
    );
  }
}

/** Wait for every promise; then throw the first failure (a ReducerFailedError before others: the sum's state is unknown). */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const s = await Promise.allSettled(ps);
  const failed = s.flatMap((x) => (x.status === 'rejected' ? [x.reason as Error] : []));
  const first = failed.find((e) => e instanceof ReducerFailedError) ?? failed[0];
  if (first !== undefined) throw first;
}

/**
 * The executor's check for one round: the reply and the result's header are checked
 * (results.ts; a few KB read), and the accepted result handed to `fold`, which reads its
 * payload at its turn.
 */
export function foldingCheck(store: ObjectStore, params: number, fold: { offer(result: AcceptedTrainResult): void }): TrainCheck {
  return async (job, reply) => {
    const c = await checkTrainResult(store, job, reply, params);
    if (c.ok) fold.offer(c.value);
    return c;
  };
}

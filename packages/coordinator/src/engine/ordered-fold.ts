import { performance } from 'node:perf_hooks';
import type { AccumulatedGradient, GradientAccumulator } from '@atomizer/model';
import type { ObjectStore } from '@atomizer/protocol';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import type { TrainCheck } from './executor.js';
import { checkTrainResult, type AcceptedTrainResult } from './results.js';

// Streaming aggregation (docs/design.md "Aggregation"): each accepted result is
// folded into the round's float64 sum as soon as it and every lower job id are
// in, so the sum is built in job-id order (the same bits as summing the sorted
// list) while the round is still running. Results that arrive early wait in a
// window bounded in bytes; past the bound the values are let go (the object
// stays in the store) and read again when their turn comes, checked against
// the payload hash they were accepted with. Memory: the sum plus the window,
// whatever the number of workers.

export interface FoldStats {
  /** Time spent adding results into the sum (CPU of this thread), ms. */
  foldMs: number;
  /** Results whose values were let go and read back from the store at their turn. */
  rereads: number;
  /** Largest number of bytes of early arrivals held at once. */
  peakHeldBytes: number;
  /** Results folded. */
  folded: number;
}

export interface OrderedFoldOptions {
  /** The sum to fold into, empty (the caller keeps one for the run and resets it each round: a 482 MB float64 buffer at paper size). */
  accumulator: GradientAccumulator;
  /** Bytes of early arrivals kept in memory; beyond it they are re-read at their turn. */
  windowBytes: number;
  /** The values of an accepted result, read again from the store. */
  reread: (result: AcceptedTrainResult) => Promise<Float32Array>;
}

interface Held {
  result: AcceptedTrainResult;
  update: Float32Array | undefined;
}

export class OrderedFold {
  private readonly acc: GradientAccumulator;
  private readonly held = new Map<number, Held>();
  private readonly folded = new Set<number>();
  private heldBytes = 0;
  /** Lowest job id not folded yet; it may only advance past ids that were folded. */
  private next = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  readonly stats: FoldStats = { foldMs: 0, rereads: 0, peakHeldBytes: 0, folded: 0 };

  constructor(private readonly opts: OrderedFoldOptions) {
    this.acc = opts.accumulator;
    if (this.acc.samples !== 0) throw new Error('OrderedFold: the accumulator is not empty (reset it before each round)');
  }

  /** Take an accepted result and its values; folds what is now in order. Never rejects (a failure is raised by `finish`). */
  offer(result: AcceptedTrainResult, update: Float32Array): Promise<void> {
    if (this.folded.has(result.job) || this.held.has(result.job)) {
      this.failure ??= new Error(`job ${result.job} was accepted twice in one round`);
      return this.chain;
    }
    if (update.length !== this.acc.size) {
      this.failure ??= new Error(`job ${result.job}: ${update.length} values, expected ${this.acc.size}`);
      return this.chain;
    }
    this.held.set(result.job, { result, update });
    this.heldBytes += update.byteLength;
    this.stats.peakHeldBytes = Math.max(this.stats.peakHeldBytes, this.heldBytes);
    this.spill();
    return this.drain(false);
  }

  /**
   * The sample-weighted mean once the round has closed: folds what still waits (after a gap
   * left by a late or failed slice) in job-id order and checks that exactly `accepted` went in.
   */
  async finish(accepted: readonly number[]): Promise<AccumulatedGradient> {
    await this.drain(true);
    if (this.failure !== undefined) throw this.failure;
    const want = [...accepted].sort((a, b) => a - b);
    const got = [...this.folded].sort((a, b) => a - b);
    if (want.length !== got.length || want.some((j, i) => j !== got[i])) {
      throw new Error(`the sum holds jobs ${got.join(',') || 'none'} but the round accepted ${want.join(',') || 'none'}`);
    }
    // Over the sum's own memory: the mean is valid until the accumulator is reset.
    return this.acc.takeMean();
  }

  /** Let go of the values of the early arrivals farthest from their turn until the window fits. */
  private spill(): void {
    if (this.heldBytes <= this.opts.windowBytes) return;
    const inMemory = [...this.held.entries()].filter(([, h]) => h.update !== undefined).sort((a, b) => b[0] - a[0]);
    for (const [job, h] of inMemory) {
      if (this.heldBytes <= this.opts.windowBytes) break;
      if (job === this.next) continue; // folded right away
      this.heldBytes -= h.update!.byteLength;
      h.update = undefined;
    }
  }

  private drain(all: boolean): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.failure !== undefined) return;
      try {
        for (;;) {
          let job: number | undefined = this.held.has(this.next) ? this.next : undefined;
          if (job === undefined && all && this.held.size > 0) job = Math.min(...this.held.keys());
          if (job === undefined) return;
          const h = this.held.get(job)!;
          let values = h.update;
          if (values === undefined) {
            values = await this.opts.reread(h.result);
            this.stats.rereads++;
          } else {
            this.heldBytes -= values.byteLength;
          }
          const t = performance.now();
          this.acc.add({ grads: values, samples: h.result.meta.samples, loss: h.result.meta.loss }, `job ${job}`);
          this.stats.foldMs += performance.now() - t;
          this.stats.folded++;
          this.held.delete(job);
          this.folded.add(job);
          this.next = job + 1;
          while (this.folded.has(this.next)) this.next++;
        }
      } catch (err) {
        this.failure ??= err as Error;
      }
    });
    return this.chain;
  }
}

/** The bytes a round's results may hold in the coordinator beside the sum. */
const RESULT_BUDGET_BYTES = 256 * 2 ** 20;

/**
 * How much of a round's results the coordinator holds at once for `params` parameters:
 * early arrivals up to 256 MiB, and as many results being read (checked, or re-read at
 * their turn) as fit in another 256 MiB (one at least, eight at most). At the paper's
 * 60.2 M parameters (241 MB a result): one early arrival and one read, so the coordinator
 * stays near 1.9 GB whatever the number of workers.
 */
export function foldBudget(params: number): { windowBytes: number; checksAtOnce: number } {
  const resultBytes = 4 * Math.max(1, params);
  return { windowBytes: RESULT_BUDGET_BYTES, checksAtOnce: Math.min(8, Math.max(1, Math.floor(RESULT_BUDGET_BYTES / resultBytes))) };
}

/**
 * The executor's check for one round: each result is read and checked (at most
 * `reads.limit` at once), then handed to `fold` with its values; the executor keeps only
 * the header. Re-reads of let-go results share the same bound.
 */
export function foldingCheck(store: ObjectStore, params: number, fold: OrderedFold, reads: ConcurrencyLimit): TrainCheck {
  return async (job, reply) => {
    const c = await reads.run(() => checkTrainResult(store, job, reply, params));
    if (!c.ok) return c;
    void fold.offer(c.value.result, c.value.update);
    return { ok: true, value: c.value.result };
  };
}

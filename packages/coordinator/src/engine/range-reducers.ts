import { Worker } from 'node:worker_threads';
import type { AdamStep } from '@atomizer/model';
import type { ParamRange } from '@atomizer/protocol';
import { RANGE_REDUCER_SOURCE } from './range-reducer-thread.js';

// The reducer threads of a run (one per range of the parameter vector) and the memory
// they share with the coordinator: the round's float64 sum and its float32 mean, each one
// SharedArrayBuffer of the model's size, every thread writing only its own range. A thread
// that dies (an error, a crash, terminate()) is started again at once on the same memory;
// what it was asked is rejected with a ReducerFailedError naming the range, and the fold
// rebuilds the sum (ordered-fold.ts).

/** One chunk of one result for one range's reducer. */
export interface ChunkToFold {
  /** The chunk's bytes (the buffer is handed to the thread and comes back). */
  data: Uint8Array;
  /** Element index of the chunk's first value. */
  first: number;
  /** One past the result's last element (the chunk may end in padding). */
  end: number;
  fmt: 'f32' | 'bf16' | 'f16';
  /** The weight (samples) the values are added with. */
  w: number;
  /** The chunk's sha256 from the result's header, or null when the caller checked the whole payload itself (a version 1 object). */
  sha: string | null;
  /** The result's key (named in a refusal) and what this chunk is of it. */
  key: string;
  what: string;
}

/** A reducer thread died while it held a request: the sum of its range is no longer known. */
export class ReducerFailedError extends Error {}

/** A chunk the reducer refused (its hash, or a non-finite value): the reason names the result. */
export class ChunkRefusedError extends Error {}

interface Reply {
  data?: ArrayBuffer;
  nonFinite?: number;
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

export class RangeReducers {
  readonly sum: Float64Array;
  readonly mean: Float32Array;
  /** Threads started again after they died, since the reducers were made. */
  restarts = 0;
  private readonly threads: Thread[];
  private nextId = 0;
  private closed = false;

  constructor(
    readonly ranges: readonly ParamRange[],
    readonly params: number,
  ) {
    if (ranges.length === 0) throw new Error('RangeReducers: no ranges');
    const sumBuffer = new SharedArrayBuffer(8 * params);
    const meanBuffer = new SharedArrayBuffer(4 * params);
    this.sum = new Float64Array(sumBuffer);
    this.mean = new Float32Array(meanBuffer);
    this.threads = ranges.map((range, r) => this.start(r, range, sumBuffer, meanBuffer));
  }

  private start(r: number, range: ParamRange, sum: SharedArrayBuffer, mean: SharedArrayBuffer): Thread {
    const worker = new Worker(RANGE_REDUCER_SOURCE, { eval: true, workerData: { sum, mean, from: range.from, to: range.to } });
    const t: Thread = { worker, pending: new Map() };
    worker.on('message', (m: Reply & { id: number; bad?: string }) => {
      const p = t.pending.get(m.id);
      if (p === undefined) return;
      t.pending.delete(m.id);
      if (m.bad !== undefined) p.reject(new ChunkRefusedError(m.bad));
      else p.resolve(m);
    });
    const died = (why: string): void => {
      if (this.threads[r] !== t) return;
      const err = new ReducerFailedError(`range ${r} [${range.from}, ${range.to}): reducer thread ${why}`);
      for (const p of t.pending.values()) p.reject(err);
      t.pending.clear();
      if (this.closed) return;
      this.restarts++;
      this.threads[r] = this.start(r, range, sum, mean);
    };
    worker.on('error', (err) => died(`failed: ${err.message}`));
    worker.on('exit', (code) => died(`exited with code ${code}`));
    return t;
  }

  private ask(r: number, msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const t = this.threads[r];
    if (t === undefined) throw new Error(`RangeReducers: no range ${r}`);
    if (this.closed) return Promise.reject(new ReducerFailedError(`range ${r}: the reducers are closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      t.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Fold one chunk into range `r`'s sum; resolves with the chunk's buffer (reusable) once added. */
  async fold(r: number, c: ChunkToFold): Promise<Reply> {
    // The thread gets the whole buffer (it reads byteLength of it from offset 0, 4-byte aligned); a view elsewhere in one is copied.
    const data = c.data.byteOffset === 0 && c.data.buffer instanceof ArrayBuffer ? c.data.buffer : c.data.slice().buffer;
    return this.ask(
      r,
      {
        op: 'fold',
        data,
        byteLength: c.data.byteLength,
        first: c.first,
        end: c.end,
        fmt: c.fmt,
        w: c.w,
        sha: c.sha,
        key: c.key,
        what: c.what,
      },
      [data],
    );
  }

  /** Zero the whole sum, each thread its range. */
  async zero(): Promise<void> {
    await Promise.all(this.ranges.map((_, r) => this.ask(r, { op: 'zero' })));
  }

  /** The float32 mean of the sum over `total` samples, each thread its range; valid until the next zero(). */
  async meanOf(total: number): Promise<Float32Array> {
    await Promise.all(this.ranges.map((_, r) => this.ask(r, { op: 'mean', total })));
    return this.mean;
  }

  /**
   * One AdamW step of `weights` from the mean (clipped in place beforehand), each thread its
   * range, with the optimizer's shared moments; then each range of the new weights checked.
   * Resolves with the first non-finite weight's index, or -1.
   */
  async adamStep(step: AdamStep, weights: Float32Array, moments: { m: Float32Array; v: Float32Array }): Promise<number> {
    const shared = [weights, moments.m, moments.v].map((a) => a.buffer);
    if (!shared.every((b) => b instanceof SharedArrayBuffer) || weights.length !== this.params) {
      throw new Error('RangeReducers.adamStep: the weights and moments must be whole arrays in shared memory');
    }
    const [w, m, v] = shared;
    const replies = await Promise.all(this.ranges.map((_, r) => this.ask(r, { op: 'adam', step, weights: w, m, v })));
    const bad = replies.map((x) => x.nonFinite ?? -1).filter((i) => i >= 0);
    return bad.length === 0 ? -1 : Math.min(...bad);
  }

  /** End range `r`'s thread as a crash would (it is started again; what it held is rejected). */
  async terminate(r: number): Promise<void> {
    await this.threads[r]?.worker.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

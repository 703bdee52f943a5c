import { performance } from 'node:perf_hooks';
import type { AccumulatedGradient } from '@atomizer/model';
import {
  SCRATCH,
  FLAT_CHUNK_BYTES,
  JobReplySchema,
  RangeResultMetaSchema,
  decodeFlat,
  planWorkerRanges,
  sha256Hex,
  type ObjectStore,
  type RangePlan,
  type ReduceJob,
  type ReducePlan,
  type RunKeys,
  type TransportFormat,
} from '@atomizer/protocol';
import { RoundFailedError, type Executor, type SliceProblem } from './executor.js';
import { newFoldStats, type FoldStats } from './ordered-fold.js';
import { sampleTotals, type AcceptedTrainResult, type Checked } from './results.js';

// Range reducers that the workers run (train.reduce: workers; docs/design.md
// "Aggregation"). The coordinator keeps only the headers of the round's accepted results
// (results.ts). When the round would close (the executor's final settle), it writes the
// round's reduce plan (the accepted results in job-id order, their layouts and chunk
// hashes, the sample total) and runs R reduce jobs (planWorkerRanges: from P and N), each
// folding its range of every result on a worker (worker/src/reduce-job.ts, protocol's
// range-fold.ts: the arithmetic of the coordinator's own reducer threads) and writing the
// range's float32 mean. Each output is read whole (P values in all, never a result),
// checked against its reply (payload hash, size) and the plan, and copied into `mean`; the
// optimizer step then runs as in the coordinator's path, on the same bits.
//
// A reducer that finds a result bad (a chunk hash, a NaN, an object gone) names it: the
// result is refused through settle() and its slice retried; the round closes again later
// with a new plan (a new generation). An output that does not check is refused and its
// reduce job run again (the executor). finish() gives a mean only when the last reduce
// covered exactly the accepted jobs: never a partial sum.

export interface WorkerReduceOptions {
  store: ObjectStore;
  executor: Executor;
  keys: RunKeys;
  run: string;
  round: number;
  params: number;
  transport: TransportFormat;
  /** Where the ranges' means are copied (the coordinator's reducer threads step from it). */
  mean: Float32Array;
  /** train.reduceRanges: R when > 0. */
  ranges: number;
  /** Tries per reduce job (rounds.attempts). */
  attempts: number;
  log?: (msg: string) => void;
}

interface RangeOutput {
  range: number;
  refused?: SliceProblem;
  bytes: number;
}

export class WorkerReduce {
  private readonly offered = new Map<number, AcceptedTrainResult>();
  /** The jobs whose sum `mean` holds, once a reduce of them checked out. */
  private reduced: number[] | undefined;
  private generation = 0;
  /** The last reduce's range plan (the round event's `ranges`, `where`, `plan`). */
  plan: RangePlan | undefined;
  /** The accepted reducer jobs' own figures, summed (the round event's aggregation.rangeJobs). */
  readonly rangeJobs = { jobs: 0, bytesIn: 0, readMs: 0, foldMs: 0, uploadMs: 0 };
  readonly stats: FoldStats = newFoldStats();

  constructor(private readonly opts: WorkerReduceOptions) {}

  /** An accepted result (header checked): reduced by the workers when the round closes. */
  offer(result: AcceptedTrainResult): void {
    this.offered.set(result.job, result);
    this.reduced = undefined;
  }

  /**
   * Nothing to refuse until the round would close; then (`final`) the reduce of `accepted`
   * runs, and the results a reducer found bad are returned (refused and retried by the
   * executor, which closes the round again later).
   */
  async settle(accepted: readonly number[], final: boolean): Promise<SliceProblem[]> {
    if (!final) return [];
    this.stats.closedAt = performance.now();
    const jobs = [...accepted].sort((a, b) => a - b);
    if (this.reduced !== undefined && sameJobs(this.reduced, jobs)) return [];
    const results = jobs.map((j) => this.offered.get(j));
    const missing = jobs.filter((_, i) => results[i] === undefined);
    if (missing.length > 0) throw new RoundFailedError(`round ${this.opts.round}: jobs ${missing.join(',')} accepted but never offered`);
    const v1 = (results as AcceptedTrainResult[]).filter((r) => r.layout.chunks === undefined);
    if (v1.length > 0) {
      for (const r of v1) this.offered.delete(r.job);
      return v1.map((r) => ({
        job: r.job,
        reason: `${r.reply.resultKey}: a version 1 result (no chunk hashes) cannot be reduced by range`,
      }));
    }
    const t = performance.now();
    const problems = await this.reduce(results as AcceptedTrainResult[]);
    this.stats.foldMs += performance.now() - t;
    for (const p of problems) this.offered.delete(p.job as number);
    if (problems.length === 0) this.reduced = jobs;
    return problems;
  }

  /** The sample-weighted mean, once the last reduce covered exactly `accepted`. */
  async finish(accepted: readonly number[]): Promise<AccumulatedGradient> {
    const problems = await this.settle(accepted, true);
    if (problems.length > 0)
      throw new RoundFailedError(`round ${this.opts.round}: ${problems.map((p) => `job ${p.job}: ${p.reason}`).join('; ')}`);
    const want = [...accepted].sort((a, b) => a - b);
    if (this.reduced === undefined || !sameJobs(this.reduced, want))
      throw new RoundFailedError(
        `round ${this.opts.round}: the reduced sum holds jobs ${this.reduced?.join(',') || 'none'} but the round accepted ${want.join(',') || 'none'}`,
      );
    const { total, loss } = sampleTotals(want.map((j) => this.offered.get(j)!.meta));
    return { grads: this.opts.mean, samples: total, loss };
  }

  private async reduce(results: AcceptedTrainResult[]): Promise<SliceProblem[]> {
    const { store, keys, run, round, params } = this.opts;
    const generation = ++this.generation;
    if (generation > 1) this.stats.rebuilds++;
    const { total } = sampleTotals(results.map((r) => r.meta));
    if (total === 0) throw new RoundFailedError(`round ${round}: no samples accumulated; cannot average`);
    const plan: ReducePlan = {
      kind: 'reduce-plan',
      run,
      round,
      generation,
      params,
      total,
      results: results.map((r) => ({
        job: r.job,
        key: r.reply.resultKey,
        samples: r.meta.samples,
        fmt: r.layout.fmt,
        length: r.layout.length,
        payloadOffset: r.layout.payloadOffset,
        payloadEnd: r.layout.payloadEnd,
        chunkBytes: r.layout.chunks!.bytes,
        chunkSha256: r.layout.chunks!.sha256,
      })),
    };
    const planBytes = new TextEncoder().encode(JSON.stringify(plan));
    const planKey = keys.result(round, `reduce-g${generation}-plan`);
    this.opts.executor.assertOwner();
    await store.put(planKey, planBytes, SCRATCH);
    const planSha256 = sha256Hex(planBytes);
    const width = this.opts.transport === 'f32' ? 4 : 2;
    this.plan = planWorkerRanges(params, results.length, { alignTo: FLAT_CHUNK_BYTES / width, force: this.opts.ranges });
    const jobs: ReduceJob[] = this.plan.ranges.map((r, i) => ({
      kind: 'reduce',
      run,
      round,
      range: i,
      from: r.from,
      to: r.to,
      planKey,
      planSha256,
      resultKey: keys.result(round, `reduce-g${generation}-range-${i}`),
    }));
    this.opts.log?.(`round ${round}: ${jobs.length} range reducer job(s) on the workers (${this.plan.reason})`);
    let tries = 0;
    const outputs = await this.opts.executor.reduceRound(round, generation, jobs, this.opts.attempts, async (job, reply) => {
      tries++;
      return this.checkOutput(job, reply, planSha256, results.length);
    });
    this.stats.reducerRestarts += tries - jobs.length;
    const refused = new Map<number, SliceProblem>();
    for (const o of outputs)
      if (o.refused !== undefined && !refused.has(o.refused.job as number)) refused.set(o.refused.job as number, o.refused);
    this.stats.folded += refused.size === 0 ? results.length : 0;
    return [...refused.values()];
  }

  /** A reduce job's reply and output: refused unless both name this round, range and plan, and the bytes hash to what the reply says. */
  private async checkOutput(job: ReduceJob, raw: unknown, planSha256: string, count: number): Promise<Checked<RangeOutput>> {
    const r = JobReplySchema.safeParse(raw);
    if (!r.success)
      return { ok: false, reason: `reply malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    const reply = r.data;
    if (reply.run !== job.run || reply.round !== job.round || reply.resultKey !== job.resultKey)
      return {
        ok: false,
        reason: `reply is for run ${reply.run} round ${reply.round} (${reply.resultKey}), expected round ${job.round} (${job.resultKey})`,
      };
    if (reply.refused !== undefined) return { ok: true, value: { range: job.range, refused: reply.refused, bytes: 0 } };
    if (reply.payloadSha256 === undefined) return { ok: false, reason: `reply names no payload hash for ${job.resultKey}` };
    let bytes: Uint8Array;
    try {
      bytes = await this.opts.store.get(job.resultKey);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    this.stats.bytesRead += bytes.byteLength;
    if (bytes.byteLength !== reply.bytesOut)
      return { ok: false, reason: `${job.resultKey}: ${bytes.byteLength} bytes, the reducer wrote ${reply.bytesOut}` };
    let flat;
    try {
      flat = decodeFlat(bytes, job.resultKey, { copy: false });
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    if (flat.payloadSha256 !== reply.payloadSha256)
      return {
        ok: false,
        reason: `${job.resultKey}: payload sha256 ${flat.payloadSha256.slice(0, 12)}…, the reducer wrote ${reply.payloadSha256.slice(0, 12)}…`,
      };
    const m = RangeResultMetaSchema.safeParse(flat.meta);
    if (!m.success) return { ok: false, reason: `${job.resultKey}: header malformed` };
    const meta = m.data;
    if (meta.run !== job.run || meta.round !== job.round || meta.range !== job.range || meta.from !== job.from || meta.to !== job.to)
      return {
        ok: false,
        reason: `${job.resultKey}: the output of round ${meta.round} range ${meta.range} [${meta.from}, ${meta.to}), expected round ${job.round} range ${job.range} [${job.from}, ${job.to})`,
      };
    if (meta.planSha256 !== planSha256 || meta.results !== count)
      return {
        ok: false,
        reason: `${job.resultKey}: reduced from another plan (${meta.planSha256.slice(0, 12)}…, ${meta.results} results)`,
      };
    const mean = flat.arrays.mean;
    if (!(mean instanceof Float32Array) || mean.length !== job.to - job.from)
      return { ok: false, reason: `${job.resultKey}: expected ${job.to - job.from} float32 values 'mean'` };
    this.opts.mean.set(mean, job.from);
    const j = this.rangeJobs;
    j.jobs++;
    j.bytesIn += reply.bytesIn;
    j.readMs += reply.fetchMs;
    j.foldMs += reply.computeMs;
    j.uploadMs += reply.uploadMs;
    return { ok: true, value: { range: job.range, bytes: bytes.byteLength } };
  }
}

function sameJobs(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((j, i) => j === b[i]);
}

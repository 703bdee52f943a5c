import {
  OutageGuard,
  checkJobSize,
  evalJobId,
  reduceJobId,
  roundJobId,
  trainJobId,
  type EvalJob,
  type ObjectStore,
  type ReduceJob,
  type TrainJob,
} from '@atomizer/protocol';
import { connectRedis, redisOptions } from '@atomizer/protocol/redis';
import { JobCache, STUB_BACKEND, runJob, type ComputeMode } from '@atomizer/worker';
import { FlowProducer, Job, Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AcceptedEvalResult, AcceptedTrainResult, Checked } from './results.js';
import { RunLease } from './run-lease.js';
import { redisOutage } from './redis-outage.js';
import { WakeableSleep } from './wakeable-sleep.js';

// How a round's slices get computed. BullMQExecutor: a BullMQ flow per round
// (the round the parent, its slices the children, spread over the train
// queues), workers in other processes, results checked as they arrive, a
// refused result retried as a new job, the round closed when every slice is in
// or on quorum + deadline. InProcessExecutor: the same jobs run one after the
// other in this process through the worker's own code: the single-process
// reference loop the distributed run must reproduce.

export interface RoundPolicy {
  quorum: number;
  deadlineMs: number;
  attempts: number;
}

export interface SliceProblem {
  job: number | string;
  reason: string;
}

export interface RoundOutcome {
  /** Accepted results, sorted by job id. */
  accepted: AcceptedTrainResult[];
  /** Slices still out when the round closed on quorum. */
  late: number[];
  failed: SliceProblem[];
  rejected: SliceProblem[];
}

export interface EvalOutcome {
  accepted: AcceptedEvalResult[];
  failed: SliceProblem[];
}

export type TrainCheck = (job: TrainJob, reply: unknown) => Promise<Checked<AcceptedTrainResult>>;
export type EvalCheck = (job: EvalJob, reply: unknown) => Promise<Checked<AcceptedEvalResult>>;
/** The coordinator's check of a reduce job's reply and range output (worker-reduce.ts); refused: the job is run again. */
export type ReduceCheck<T> = (job: ReduceJob, reply: unknown) => Promise<Checked<T>>;

/** Moments of a round the caller may use. */
export interface RoundHooks {
  /**
   * Called once when every slice of the round is computing (its worker has its inputs),
   * or at the latest when the round closes: bookkeeping started then does not hold up the
   * workers' downloads.
   */
  onComputing?: () => void;
  /**
   * Accepted results found bad later, when their payload was read (ordered-fold.ts): asked
   * after each look at the queues, and with `final` before the round closes with
   * `accepted` (it then waits until each of them is folded or refused). Each one named is
   * refused like a bad reply: logged, and its slice retried while attempts remain.
   */
  settle?: (accepted: readonly number[], final: boolean) => Promise<SliceProblem[]>;
}

export interface Executor {
  readonly name: string;
  trainRound(round: number, jobs: TrainJob[], policy: RoundPolicy, check: TrainCheck, hooks?: RoundHooks): Promise<RoundOutcome>;
  evaluate(round: number, jobs: EvalJob[], attempts: number, check: EvalCheck): Promise<EvalOutcome>;
  /**
   * Run a round's range reducer jobs (train.reduce: workers) and return what `check` made of
   * each, in the jobs' order. A job that throws is retried by BullMQ (`attempts`); a reply
   * or output `check` refuses is logged and the job run again, up to `attempts` times; past
   * that the round fails (RoundFailedError), never committing part of a sum.
   */
  reduceRound<T>(round: number, generation: number, jobs: ReduceJob[], attempts: number, check: ReduceCheck<T>): Promise<T[]>;
  /**
   * Before a commit (checkpoint, status, metrics): throws if this coordinator no longer
   * owns the run (run-lease.ts). The in-process executor owns its run outright.
   */
  fence(): Promise<void>;
  /** Like fence() without a Redis round trip: throws once the lease is known lost (before publishing, deleting, enqueueing). */
  assertOwner(): void;
  /** The lease this coordinator holds on the run, recorded in status.json. */
  readonly lease?: { holder: string; token: number };
  close(): Promise<void>;
}

/** Thrown when a round can no longer reach its quorum: nothing of it reaches the weights. */
export class RoundFailedError extends Error {}

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export class InProcessExecutor implements Executor {
  readonly name = 'in-process';
  private readonly cache: JobCache;

  constructor(
    private readonly store: ObjectStore,
    private readonly backend = 'in-process',
    /** 'stub': the workers' pseudo-gradients instead of the model (the reference of a scale simulation). */
    private readonly compute: ComputeMode = 'model',
  ) {
    this.cache = new JobCache(this.opts());
  }

  private opts() {
    return {
      store: this.store,
      backend: this.compute === 'stub' ? STUB_BACKEND : this.backend,
      worker: 'coordinator',
      compute: this.compute,
    };
  }

  async trainRound(_round: number, jobs: TrainJob[], _policy: RoundPolicy, check: TrainCheck, hooks?: RoundHooks): Promise<RoundOutcome> {
    // One thread: bookkeeping interleaves with nothing here, so it may start at once.
    hooks?.onComputing?.();
    const out: RoundOutcome = { accepted: [], late: [], failed: [], rejected: [] };
    for (const job of jobs) {
      try {
        const { reply } = await runJob(job, this.cache, this.opts());
        const c = await check(job, reply);
        if (c.ok) out.accepted.push(c.value);
        else out.rejected.push({ job: job.job, reason: c.reason });
      } catch (err) {
        out.failed.push({ job: job.job, reason: (err as Error).message });
      }
    }
    const bad =
      (await hooks?.settle?.(
        out.accepted.map((r) => r.job),
        true,
      )) ?? [];
    out.rejected.push(...bad);
    out.accepted = out.accepted.filter((r) => !bad.some((b) => b.job === r.job));
    if (out.failed.length > 0 || out.rejected.length > 0) {
      const p = [...out.failed, ...out.rejected][0]!;
      throw new RoundFailedError(`slice ${p.job}: ${p.reason}`);
    }
    return out;
  }

  async evaluate(_round: number, jobs: EvalJob[], _attempts: number, check: EvalCheck): Promise<EvalOutcome> {
    const out: EvalOutcome = { accepted: [], failed: [] };
    for (const job of jobs) {
      try {
        const { reply } = await runJob(job, this.cache, this.opts());
        const c = await check(job, reply);
        if (c.ok) out.accepted.push(c.value);
        else out.failed.push({ job: job.job, reason: c.reason });
      } catch (err) {
        out.failed.push({ job: job.job, reason: (err as Error).message });
      }
    }
    return out;
  }

  async reduceRound<T>(round: number, _generation: number, jobs: ReduceJob[], attempts: number, check: ReduceCheck<T>): Promise<T[]> {
    const out: T[] = [];
    for (const job of jobs) {
      let last = '';
      for (let t = 1; ; t++) {
        if (t > attempts) throw new RoundFailedError(`round ${round}: range ${job.range} [${job.from}, ${job.to}): ${last}`);
        try {
          const { reply } = await runJob(job, this.cache, this.opts());
          const c = await check(job, reply);
          if (c.ok) {
            out.push(c.value);
            break;
          }
          last = `output refused ${t} time(s); last: ${c.reason}`;
        } catch (err) {
          last = `reducer failed ${t} time(s); last: ${(err as Error).message}`;
        }
      }
    }
    return out;
  }

  async fence(): Promise<void> {}

  assertOwner(): void {}

  async close(): Promise<void> {}
}

interface SliceState {
  job: TrainJob;
  queue: string;
  bullId: string;
  /** Jobs enqueued for this slice (first + retries after refused results). */
  tries: number;
  /** Times the job was enqueued again after it vanished from Redis. */
  requeued: number;
  state: 'pending' | 'accepted' | 'failed';
}

export interface BullExecutorOptions {
  redisUrl: string;
  run: string;
  queues: { train: string[]; eval: string; rounds: string };
  log?: Log;
  /** Poll interval while waiting (queue events wake it earlier), ms. */
  pollMs?: number;
  /** How long a Redis outage is ridden out before the run stops, ms (default ATOMIZER_OUTAGE_BUDGET). */
  outageBudgetMs?: number;
  /** Run lease time to live, ms (run-lease.ts). */
  leaseTtlMs?: number;
}

/** How long close() waits for each BullMQ object before cutting its connections, ms. */
const CLOSE_WAIT_MS = 3000;

export class BullMQExecutor implements Executor {
  readonly name = 'bullmq';
  private readonly queues = new Map<string, Queue>();
  private readonly flow: FlowProducer;
  private readonly events: QueueEvents[] = [];
  private readonly roundWorker: Worker;
  private readonly redis: Redis;
  private readonly waits = new WakeableSleep();
  /** The current round's slices that have not yet reported their compute stage. */
  private awaitingCompute: { ids: Set<string>; fire: () => void } | undefined;
  /** This round's job ids, and those of them seen completed in the queues' events with their return values. */
  private completions: { ids: Set<string>; values: Map<string, unknown> } | undefined;
  private session = 0;
  /** The completion of finished rounds' flow parents, one pass at a time (completeRoundParents). */
  private parents: Promise<void> = Promise.resolve();
  private readonly log: Log;
  private readonly guard: OutageGuard;
  private runLease: RunLease | undefined;

  private constructor(private readonly opts: BullExecutorOptions) {
    this.log = opts.log ?? (() => undefined);
    // Long-lived clients report connection trouble as events: one guard line per outage, not a stack dump per retry.
    const { guard, onError } = redisOutage(opts.redisUrl, (line) => this.log(line), opts.outageBudgetMs);
    this.guard = guard;
    const connection = redisOptions(opts.redisUrl) as ConnectionOptions;
    const blocking = redisOptions(opts.redisUrl, { role: 'worker' }) as ConnectionOptions;
    for (const name of [...opts.queues.train, opts.queues.eval, opts.queues.rounds]) this.queues.set(name, new Queue(name, { connection }));
    this.flow = new FlowProducer({ connection });
    for (const name of [...opts.queues.train, opts.queues.eval]) {
      const ev = new QueueEvents(name, { connection: blocking });
      const wake = (): void => this.waits.wake();
      ev.on('completed', ({ jobId, returnvalue }) => {
        if (this.completions?.ids.has(jobId) === true) this.completions.values.set(jobId, returnvalue);
        wake();
      });
      ev.on('failed', wake);
      ev.on('progress', ({ jobId, data }) => {
        const stage = (data as { stage?: unknown } | null)?.stage;
        if (stage === 'compute' || stage === 'upload') this.computing(jobId);
      });
      ev.on('error', onError);
      this.events.push(ev);
    }
    // The round (flow parent) is marked done once its slices are: visible in bull-board. Taken
    // by hand (no processor), after the next round's jobs are enqueued (completeRoundParents).
    this.roundWorker = new Worker(opts.queues.rounds, null, { connection: blocking });
    this.roundWorker.on('error', onError);
    for (const q of this.queues.values()) q.on('error', onError);
    this.flow.on('error', onError);
    this.redis = connectRedis(opts.redisUrl);
    this.redis.on('error', onError);
    // Reconnected by itself: the outage is over even if no guarded call has run since.
    this.redis.on('ready', () => this.guard.markUp());
  }

  /** A Redis operation, ridden through outages up to the budget (safe to repeat: see each call). */
  private r<T>(op: () => Promise<T>): Promise<T> {
    return this.guard.run(op);
  }

  get lease(): { holder: string; token: number } | undefined {
    return this.runLease === undefined ? undefined : { holder: this.runLease.holder, token: this.runLease.token };
  }

  async fence(): Promise<void> {
    await this.runLease?.fence();
  }

  assertOwner(): void {
    this.runLease?.assertHeld();
  }

  static async open(opts: BullExecutorOptions): Promise<BullMQExecutor> {
    const ex = new BullMQExecutor(opts);
    try {
      await ex.r(() => Promise.all([...ex.queues.values()].map((q) => q.waitUntilReady())));
      await ex.r(() => Promise.all(ex.events.map((e) => e.waitUntilReady())));
      // One coordinator per run: refused (after one lease time to live) while another lives.
      ex.runLease = await RunLease.acquire(ex.redis, opts.run, {
        guard: ex.guard,
        log: (line) => ex.log(line),
        ...(opts.leaseTtlMs !== undefined ? { ttlMs: opts.leaseTtlMs } : {}),
      });
      // Each coordinator start of a run is a new session: its job ids differ from
      // those of a crashed predecessor, whose waiting jobs are removed here.
      ex.session = await ex.r(() => ex.redis.incr(`atomizer:run:${opts.run}:sessions`));
      await ex.dropStaleJobs();
      // A round parent taken by hand whose completion never came (a crash between the two,
      // an outage past its 30 s lock) goes back to waiting here, and the next pass completes
      // it; what the checker's Redis calls hit goes to the worker's 'error' listener.
      void ex.roundWorker.startStalledCheckTimer();
    } catch (err) {
      await ex.close();
      throw err;
    }
    return ex;
  }

  private async dropStaleJobs(): Promise<void> {
    let removed = 0;
    for (const q of this.queues.values()) {
      const jobs = await this.r(() => q.getJobs(['wait', 'delayed', 'prioritized', 'waiting-children']));
      for (const j of jobs) {
        if ((j.data as { run?: string } | undefined)?.run === this.opts.run) {
          await this.r(() => j.remove())
            .then(() => removed++)
            .catch(() => undefined);
        }
      }
    }
    if (removed > 0) this.log(`removed ${removed} waiting job(s) of an earlier session of run ${this.opts.run}`);
  }

  private computing(jobId: string): void {
    const w = this.awaitingCompute;
    if (w === undefined || !w.ids.delete(jobId) || w.ids.size > 0) return;
    this.awaitingCompute = undefined;
    w.fire();
  }

  private queue(name: string): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw new Error(`unknown queue ${name}`);
    return q;
  }

  private jobOpts(attempts: number) {
    return {
      attempts,
      backoff: { type: 'exponential' as const, delay: 500 },
      removeOnComplete: { count: 5000 },
      removeOnFail: { count: 5000 },
    };
  }

  async trainRound(round: number, jobs: TrainJob[], policy: RoundPolicy, check: TrainCheck, hooks?: RoundHooks): Promise<RoundOutcome> {
    const { train } = this.opts.queues;
    const suffix = `s${this.session}`;
    const slices: SliceState[] = jobs.map((job, i) => {
      const bullId = `${trainJobId(job.run, round, job.job)}.${suffix}`;
      checkJobSize(job, bullId);
      return { job, queue: train[i % train.length] as string, bullId, tries: 1, requeued: 0, state: 'pending' };
    });
    let fired = false;
    const fire = (): void => {
      if (fired) return;
      fired = true;
      hooks?.onComputing?.();
    };
    this.awaitingCompute = { ids: new Set(slices.map((s) => s.bullId)), fire };
    this.completions = { ids: new Set(slices.map((s) => s.bullId)), values: new Map() };
    try {
      return await this.runRound(round, jobs, slices, policy, check, hooks?.settle);
    } finally {
      this.awaitingCompute = undefined;
      this.completions = undefined;
      fire();
    }
  }

  private async runRound(
    round: number,
    jobs: TrainJob[],
    slices: SliceState[],
    policy: RoundPolicy,
    check: TrainCheck,
    settle: RoundHooks['settle'],
  ): Promise<RoundOutcome> {
    const { rounds } = this.opts.queues;
    const suffix = `s${this.session}`;
    // Repeating the add after a lost reply adds nothing: BullMQ keeps the first job of an id.
    await this.r(() =>
      this.flow.add({
        name: `round ${round}`,
        queueName: rounds,
        data: { run: this.opts.run, round, slices: jobs.length },
        opts: { jobId: `${roundJobId(this.opts.run, round)}.${suffix}`, removeOnComplete: { count: 1000 } },
        children: slices.map((s) => ({
          name: `train r${round} j${s.job.job}`,
          queueName: s.queue,
          data: s.job,
          opts: { jobId: s.bullId, ...this.jobOpts(policy.attempts), ignoreDependencyOnFailure: true },
        })),
      }),
    );
    this.completeRoundParents();
    const accepted = new Map<number, AcceptedTrainResult>();
    const failed: SliceProblem[] = [];
    const rejected: SliceProblem[] = [];
    const need = Math.ceil(policy.quorum * jobs.length - 1e-9);
    const deadline = Date.now() + policy.deadlineMs;
    let warned = false;
    // A bad result (at its check, or later when its payload is folded): logged, its slice retried as a new job while attempts remain.
    const refuse = async (s: SliceState, reason: string): Promise<void> => {
      accepted.delete(s.job.job);
      rejected.push({ job: s.job.job, reason });
      this.log(`round ${round}: result of slice ${s.job.job} refused: ${reason}`);
      if (s.tries >= policy.attempts) {
        s.state = 'failed';
        failed.push({ job: s.job.job, reason: `refused ${s.tries} time(s); last: ${reason}` });
      } else {
        s.tries++;
        s.state = 'pending';
        s.bullId = `${trainJobId(s.job.run, round, s.job.job)}.${suffix}.t${s.tries}`;
        this.completions?.ids.add(s.bullId);
        checkJobSize(s.job, s.bullId);
        await this.r(() =>
          this.queue(s.queue).add(`train r${round} j${s.job.job} (try ${s.tries})`, s.job, {
            jobId: s.bullId,
            ...this.jobOpts(policy.attempts),
          }),
        );
      }
    };
    const accept = (s: SliceState, value: AcceptedTrainResult, times: Job | Promise<Job | undefined>): void => {
      s.state = 'accepted';
      accepted.set(s.job.job, value);
      const now = Date.now();
      void Promise.resolve(times).then((bj) => {
        if (bj?.processedOn !== undefined && bj.finishedOn !== undefined) {
          value.timing = { queuedMs: bj.processedOn - bj.timestamp, detectedMs: now - bj.finishedOn };
        }
      });
    };
    /** Refuse what the fold found bad; true when something was. */
    const settled = async (final: boolean): Promise<boolean> => {
      if (settle === undefined) return false;
      const bad = await settle([...accepted.keys()], final);
      for (const p of bad) {
        const s = slices.find((x) => x.job.job === p.job);
        if (s !== undefined) await refuse(s, p.reason);
      }
      return bad.length > 0;
    };
    for (;;) {
      // A coordinator that lost the run stops enqueueing and checking at once.
      this.runLease?.assertHeld();
      // Every pending slice at once: result fetches and checks overlap.
      const inspect = async (s: SliceState): Promise<void> => {
        const q = this.queue(s.queue);
        const completed = this.completions?.values;
        if (completed?.has(s.bullId) === true) {
          // Its 'completed' event carried the return value: checked at once, no Redis round
          // trip before the result's header is read. The job's timestamps (telemetry only) are
          // read meanwhile and filled in when they come, never waited for.
          const times = Job.fromId(q, s.bullId).catch(() => undefined);
          const c = await check(s.job, completed.get(s.bullId));
          if (c.ok) accept(s, c.value, times);
          else await refuse(s, c.reason);
          return;
        }
        // State first, then the job hash: a job finishing between the two reads would
        // otherwise look completed with the return value of the earlier snapshot (none).
        const state = await this.r(() => q.getJobState(s.bullId));
        // Waiting or running: nothing more to read (a job that vanishes meanwhile is seen at the next look).
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
        const bj = await this.r(() => Job.fromId(q, s.bullId));
        if (bj === undefined || state === 'unknown') {
          // Redis restarted without its data, or the job was removed by hand: the result
          // key is deterministic, so enqueueing it again counts the slice once.
          if (s.requeued >= policy.attempts) {
            s.state = 'failed';
            failed.push({ job: s.job.job, reason: `vanished from Redis ${s.requeued + 1} times` });
            return;
          }
          s.requeued++;
          vanished.push(s.job.job);
          await this.r(() => q.add(`train r${round} j${s.job.job}`, s.job, { jobId: s.bullId, ...this.jobOpts(policy.attempts) }));
          return;
        }
        if (state === 'completed') {
          const c = await check(s.job, bj.returnvalue);
          if (c.ok) accept(s, c.value, bj);
          else await refuse(s, c.reason);
        } else if (state === 'failed') {
          s.state = 'failed';
          failed.push({ job: s.job.job, reason: bj.failedReason || 'failed' });
          this.log(`round ${round}: slice ${s.job.job} failed after ${bj.attemptsMade} attempt(s): ${bj.failedReason}`);
        }
      };
      const vanished: number[] = [];
      await Promise.all(slices.filter((s) => s.state === 'pending').map(inspect));
      await settled(false);
      if (vanished.length > 0) {
        this.log(
          `round ${round}: ${vanished.length} job(s) vanished from Redis (slices ${vanished.sort((a, b) => a - b).join(', ')}); enqueued again`,
        );
      }
      const pending = slices.filter((s) => s.state === 'pending');
      if (failed.length > jobs.length - need) {
        throw new RoundFailedError(
          `round ${round} cannot reach its quorum (${need} of ${jobs.length} slices): ${failed.map((f) => `slice ${f.job}: ${f.reason}`).join('; ')}`,
        );
      }
      if (pending.length === 0) {
        if (await settled(true)) continue;
        break;
      }
      if (Date.now() >= deadline) {
        if (accepted.size >= need) {
          if (await settled(true)) continue;
          for (const s of pending)
            await this.r(() => Job.fromId(this.queue(s.queue), s.bullId).then((j) => j?.remove())).catch(() => undefined);
          return { accepted: sortByJob(accepted), late: pending.map((s) => s.job.job), failed, rejected };
        }
        if (!warned) {
          warned = true;
          this.log(`round ${round}: deadline passed with ${accepted.size} of ${need} needed slices in; waiting for the quorum`);
        }
      }
      await this.waits.sleep(this.opts.pollMs ?? 250);
    }
    return { accepted: sortByJob(accepted), late: [], failed, rejected };
  }

  async evaluate(round: number, jobs: EvalJob[], attempts: number, check: EvalCheck): Promise<EvalOutcome> {
    const q = this.queue(this.opts.queues.eval);
    const ids = jobs.map((job) => `${evalJobId(job.run, round, job.job)}.s${this.session}`);
    jobs.forEach((job, i) => checkJobSize(job, ids[i]!));
    const bulk = (which: number[]) =>
      this.r(() =>
        q.addBulk(
          which.map((i) => ({
            name: `eval r${round} ${jobs[i]!.job}`,
            data: jobs[i]!,
            opts: { jobId: ids[i]!, ...this.jobOpts(attempts) },
          })),
        ),
      );
    await bulk(jobs.map((_, i) => i));
    const out: EvalOutcome = { accepted: [], failed: [] };
    const pending = new Set(jobs.map((_, i) => i));
    // Jobs lost with Redis's data are enqueued again, at most `attempts` times each.
    const requeued = new Map<number, number>();
    while (pending.size > 0) {
      this.runLease?.assertHeld();
      for (const i of [...pending]) {
        const state = await this.r(() => q.getJobState(ids[i]!));
        const bj = await this.r(() => Job.fromId(q, ids[i]!));
        const job = jobs[i]!;
        if (state === 'unknown' && (requeued.get(i) ?? 0) < attempts) {
          requeued.set(i, (requeued.get(i) ?? 0) + 1);
          this.log(`round ${round}: evaluation job ${ids[i]} vanished from Redis; enqueued again`);
          await bulk([i]);
        } else if (state === 'completed') {
          pending.delete(i);
          const c = await check(job, bj?.returnvalue);
          if (c.ok) out.accepted.push(c.value);
          else out.failed.push({ job: job.job, reason: c.reason });
        } else if (state === 'failed' || state === 'unknown') {
          pending.delete(i);
          out.failed.push({ job: job.job, reason: bj?.failedReason ?? 'job vanished' });
        }
      }
      if (pending.size > 0) await this.waits.sleep(this.opts.pollMs ?? 250);
    }
    return out;
  }

  async reduceRound<T>(round: number, generation: number, jobs: ReduceJob[], attempts: number, check: ReduceCheck<T>): Promise<T[]> {
    const { train } = this.opts.queues;
    const base = jobs.map((job) => `${reduceJobId(job.run, round, generation, job.range)}.s${this.session}`);
    const state = jobs.map((job, i) => ({ job, queue: train[i % train.length] as string, bullId: base[i]!, tries: 1, requeued: 0 }));
    const add = (s: (typeof state)[number]) => {
      checkJobSize(s.job, s.bullId);
      return this.r(() =>
        this.queue(s.queue).add(`reduce r${round} g${generation} range ${s.job.range}${s.tries > 1 ? ` (try ${s.tries})` : ''}`, s.job, {
          jobId: s.bullId,
          ...this.jobOpts(attempts),
        }),
      );
    };
    for (const s of state) await add(s);
    const out = new Map<number, T>();
    const fail = (s: (typeof state)[number], why: string): never => {
      throw new RoundFailedError(`round ${round}: range reducer ${s.job.range} [${s.job.from}, ${s.job.to}): ${why}`);
    };
    while (out.size < jobs.length) {
      this.runLease?.assertHeld();
      await Promise.all(
        state.map(async (s, i) => {
          if (out.has(i)) return;
          const q = this.queue(s.queue);
          const st = await this.r(() => q.getJobState(s.bullId));
          const bj = await this.r(() => Job.fromId(q, s.bullId));
          if (bj === undefined || st === 'unknown') {
            // Lost with Redis's data: the output key is deterministic, so running it again is harmless.
            if (s.requeued >= attempts) fail(s, `vanished from Redis ${s.requeued + 1} times`);
            s.requeued++;
            this.log(`round ${round}: reduce job ${s.bullId} vanished from Redis; enqueued again`);
            await add(s);
          } else if (st === 'completed') {
            const c = await check(s.job, bj.returnvalue);
            if (c.ok) {
              out.set(i, c.value);
              return;
            }
            this.log(`round ${round}: output of range reducer ${s.job.range} refused: ${c.reason}`);
            if (s.tries >= attempts) fail(s, `output refused ${s.tries} time(s); last: ${c.reason}`);
            s.tries++;
            s.bullId = `${base[i]}.t${s.tries}`;
            await add(s);
          } else if (st === 'failed') {
            fail(s, `failed after ${bj.attemptsMade} attempt(s): ${bj.failedReason || 'failed'}`);
          }
        }),
      );
      if (out.size < jobs.length) await this.waits.sleep(this.opts.pollMs ?? 250);
    }
    return jobs.map((_, i) => out.get(i)!);
  }

  /**
   * Mark the rounds whose slices are all done as done (their flow parents, in the rounds
   * queue). Off the rounds' critical path: called once a round's jobs are enqueued (the
   * previous round's parent is then waiting) and at close; a BullMQ Worker processing the
   * queue would run its scripts while the coordinator closes a round. Bookkeeping for the
   * dashboards only: a failure is logged naming the job; a parent taken and not completed
   * goes back to waiting by the stalled check (open()) and a later pass completes it.
   */
  private completeRoundParents(): void {
    const token = `coordinator-${process.pid}-s${this.session}`;
    this.parents = this.parents.then(async () => {
      let id: string | undefined;
      try {
        for (let job = await this.roundWorker.getNextJob(token, { block: false }); job !== undefined;) {
          id = job.id;
          const round = (job.data as { round?: unknown } | undefined)?.round;
          await job.moveToCompleted({ round, done: new Date().toISOString() }, token, false);
          id = undefined;
          job = await this.roundWorker.getNextJob(token, { block: false });
        }
      } catch (err) {
        this.log(`round job${id !== undefined ? ` ${id}` : 's'} (flow parent) not marked done for now: ${(err as Error).message}`);
      }
    });
  }

  /** Never waits on an unreachable Redis for long: each object gets CLOSE_WAIT_MS, then its connections are cut. */
  async close(): Promise<void> {
    this.waits.wake();
    // Only a coordinator that held the run (not one refused the lease at open) touches the rounds queue.
    if (this.runLease !== undefined) {
      this.completeRoundParents();
      await closeWithin(
        () => this.parents,
        async () => undefined,
      );
    }
    await this.runLease?.release();
    await Promise.all([
      // close(true) would return the close already in progress (BullMQ 6): cut the connection instead.
      closeWithin(
        () => this.roundWorker.close(),
        () => this.roundWorker.disconnect(),
      ),
      ...this.events.map((e) =>
        closeWithin(
          () => e.close(),
          () => e.disconnect(),
        ),
      ),
      closeWithin(
        () => this.flow.close(),
        () => this.flow.disconnect(),
      ),
      ...[...this.queues.values()].map((q) =>
        closeWithin(
          () => q.close(),
          () => q.disconnect(),
        ),
      ),
    ]);
    this.redis.disconnect();
  }
}

/** close(), or after CLOSE_WAIT_MS cut(): a BullMQ object never holds a shutdown up on an unreachable Redis. */
export async function closeWithin(close: () => Promise<unknown>, cut: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    close().then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), CLOSE_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (timedOut) await Promise.race([cut().catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
}

function sortByJob(m: Map<number, AcceptedTrainResult>): AcceptedTrainResult[] {
  return [...m.values()].sort((a, b) => a.job - b.job);
}

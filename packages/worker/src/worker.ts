import { hostname } from 'node:os';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  OutageGuard,
  WORKER_HEARTBEAT_SECONDS,
  WORKER_KEY_PREFIX,
  WORKER_TTL_SECONDS,
  isTransientError,
  outageBudgetMs,
  type JobReply,
  type WorkerStatus,
} from '@atomizer/protocol';
import { connectRedis, redactRedisUrl, redisOptions } from '@atomizer/protocol/redis';
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { cacheFolderName } from './compute.js';
import { ComputeProcess, JobFailure } from './compute-process.js';
import type { ComputeMode } from './stub-compute.js';

// The BullMQ side of a worker (docs/design.md "Worker"): one BullMQ Worker per
// queue it serves, a pool of compute processes (one per concurrent job; one
// per GPU), heartbeats for the dashboard, SIGTERM = finish or release the
// current job and exit. A lost Redis connection is reconnected (ioredis
// retries; BullMQ resumes pulling), one log line per state change; past the
// outage budget the worker stops with the reason (`failure`) for its
// supervisor to restart it. Store outages are ridden out in the compute
// process (openStore's ResilientStore).

export interface WorkerOptions {
  redisUrl: string;
  /** Store location (s3://bucket/prefix or a folder), opened in the compute process. */
  store: string;
  queues: string[];
  backend?: string;
  /** 'stub': no model, a pseudo-gradient of the run's size (scale simulations). Default 'model'. */
  compute?: ComputeMode;
  concurrency?: number;
  cacheDir?: string;
  cacheBytes?: number;
  /** BullMQ lock duration, ms (a dead worker's job is retried after about this long). Default 30 s. */
  lockMs?: number;
  /** How long SIGTERM waits for the current job before releasing it, ms. Default 60 s. */
  drainMs?: number;
  /** How long a Redis outage is ridden out before the worker stops, ms. Default ATOMIZER_OUTAGE_BUDGET. */
  outageBudgetMs?: number;
  id?: string;
  openblasThreads?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  env?: NodeJS.ProcessEnv;
}

export interface RunningWorker {
  id: string;
  backend: string;
  /** Resolves when the worker stopped. */
  closed: Promise<void>;
  stop(reason?: string): Promise<void>;
  readonly jobsDone: number;
  /** Why the worker stopped by itself (an outage past the budget); undefined after a requested stop. */
  readonly failure: string | undefined;
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  if (opts.queues.length === 0) throw new Error('worker: no queue to serve (--queues a,b)');
  redisOptions(opts.redisUrl); // fail early on a malformed URL
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`worker: concurrency must be a positive integer, got ${concurrency}`);
  const id = opts.id ?? `${hostname()}-${process.pid}`;
  const cacheDir = opts.cacheDir ?? join(tmpdir(), 'atomizer-cache', cacheFolderName(opts.store));
  const pool = Array.from(
    { length: concurrency },
    () =>
      new ComputeProcess({
        store: opts.store,
        backend: opts.backend ?? 'auto',
        ...(opts.compute !== undefined ? { compute: opts.compute } : {}),
        worker: id,
        cacheDir,
        ...(opts.cacheBytes !== undefined ? { cacheBytes: opts.cacheBytes } : {}),
        openblasThreads: opts.openblasThreads ?? 1,
        ...(opts.env !== undefined ? { env: opts.env } : {}),
      }),
  );
  const started = await Promise.all(pool.map((p) => p.start()));
  const backend = started[0]?.backend ?? 'unknown';
  log(
    `worker ${id}: backend ${backend} (${started[0]?.detail ?? ''}), queues ${opts.queues.join(', ')}, concurrency ${concurrency}, Redis ${redactRedisUrl(opts.redisUrl)}`,
  );

  const status: WorkerStatus = {
    id,
    host: hostname(),
    pid: process.pid,
    backend,
    queues: opts.queues,
    state: 'idle',
    jobsDone: 0,
    jobsFailed: 0,
    started: new Date().toISOString(),
    updated: new Date().toISOString(),
  };
  const guard = new OutageGuard({
    what: `worker ${id}: Redis at ${redactRedisUrl(opts.redisUrl)}`,
    budgetMs: opts.outageBudgetMs ?? outageBudgetMs(),
    log,
  });
  const onError = (err: Error): void => {
    if (isTransientError(err)) guard.markDown(err);
    else log(`worker ${id}: Redis: ${err.message}`);
  };
  const redis = connectRedis(opts.redisUrl);
  redis.on('error', onError);
  redis.on('ready', () => guard.markUp());
  let failure: string | undefined;
  let stopping = false;
  const heartbeat = async (): Promise<void> => {
    status.updated = new Date().toISOString();
    try {
      await redis.set(`${WORKER_KEY_PREFIX}${id}`, JSON.stringify(status), 'EX', WORKER_TTL_SECONDS);
      guard.markUp();
    } catch (err) {
      if (isTransientError(err)) guard.markDown(err);
    }
    if (guard.downForMs() > guard.budgetMs && !stopping) {
      failure = `Redis at ${redactRedisUrl(opts.redisUrl)} unreachable for ${Math.round(guard.downForMs() / 1000)} s, past the outage budget of ${Math.round(guard.budgetMs / 1000)} s`;
      void stop(failure);
      // Whatever a close still waits on, the worker is done within 20 s: its supervisor restarts it.
      setTimeout(() => {
        log(`worker ${id}: closing did not finish within 20 s; exiting anyway`);
        resolveClosed();
      }, 20_000).unref();
    }
  };
  await heartbeat();
  const timer = setInterval(() => void heartbeat(), WORKER_HEARTBEAT_SECONDS * 1000);

  const workers: Worker[] = [];
  // Don't hoard: with every compute process busy, stop fetching on all queues. On one queue
  // BullMQ's own concurrency (the pool's size) already does: pausing and resuming it around
  // every job would also restart its stalled-job check (a Redis script) at each job's end,
  // between a job's completion and the next one's start.
  const free = (): ComputeProcess | undefined => pool.find((p) => !p.busy);
  const setFetching = async (): Promise<void> => {
    if (stopping || opts.queues.length < 2) return;
    const anyFree = free() !== undefined;
    for (const w of workers) {
      if (anyFree && w.isPaused()) w.resume();
      else if (!anyFree && !w.isPaused()) await w.pause(true);
    }
  };
  const waiters: Array<() => void> = [];
  const acquire = async (): Promise<ComputeProcess> => {
    for (;;) {
      const p = free();
      if (p !== undefined) return p;
      await new Promise<void>((r) => waiters.push(r));
    }
  };

  const processor = async (job: Job): Promise<JobReply> => {
    const proc = await acquire();
    status.state = 'busy';
    status.job = job.id;
    void heartbeat();
    const jobId = job.id ?? '?';
    const t0 = Date.now();
    try {
      // One progress update per job reaches Redis: the compute stage, on which the coordinator
      // starts its between-round bookkeeping (bull-board shows it too). The fetch, batch and upload
      // stages stay in this process (their times are in the reply): each would cost a Redis script,
      // a queue event and the coordinator's handling of it, while a job fetches or uploads.
      const p = proc.run(jobId, job.data, (stage, detail) => {
        if (stage === 'compute') void job.updateProgress({ stage, ...detail }).catch(() => undefined);
      });
      await setFetching();
      const reply = await p;
      status.jobsDone++;
      if (reply.payloadSha256 !== undefined || reply.refused !== undefined) {
        const what =
          reply.refused !== undefined ? `refused job ${reply.refused.job}: ${reply.refused.reason}` : `${reply.bytesIn} bytes read`;
        log(`job ${jobId} done in ${Date.now() - t0} ms: range reduced, ${what}`);
      } else log(`job ${jobId} done in ${Date.now() - t0} ms: ${reply.samples} samples, loss ${reply.loss.toFixed(4)}`);
      return reply;
    } catch (err) {
      status.jobsFailed++;
      const message = (err as Error).message;
      log(`job ${jobId} failed (attempt ${job.attemptsMade + 1}): ${message}`);
      if (err instanceof JobFailure && err.permanent) throw new UnrecoverableError(message);
      throw err;
    } finally {
      if (!pool.some((p) => p.busy)) {
        status.state = stopping ? 'stopping' : 'idle';
        delete status.job;
      }
      void heartbeat();
      waiters.splice(0).forEach((w) => w());
      await setFetching();
    }
  };

  const lockDuration = opts.lockMs ?? 30_000;
  for (const q of opts.queues) {
    const w = new Worker(q, processor, {
      connection: redisOptions(opts.redisUrl, { role: 'worker' }) as ConnectionOptions,
      concurrency,
      lockDuration,
      stalledInterval: Math.max(1000, Math.round(lockDuration / 2)),
      maxStalledCount: 3,
      removeOnComplete: { count: 2000 },
      removeOnFail: { count: 5000 },
    });
    w.on('error', onError);
    workers.push(w);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const stop = async (reason = 'stop requested'): Promise<void> => {
    if (stopping) return closed;
    stopping = true;
    status.state = 'stopping';
    void heartbeat();
    // Past the outage budget Redis is gone: a graceful close would wait on it, so only a short one.
    const drainMs = failure !== undefined ? 3000 : (opts.drainMs ?? 60_000);
    log(`worker ${id}: ${reason}; finishing the current job (at most ${drainMs / 1000} s)`);
    const graceful = Promise.all(workers.map((w) => w.close()));
    const timedOut = await within(
      graceful.then(() => false),
      drainMs,
      true,
    );
    if (timedOut) {
      log(`worker ${id}: the current job did not finish in time; releasing it (it will be retried)`);
      await Promise.all(pool.map((p) => p.stop(1000)));
      // close(true) returns the close already in progress (BullMQ 6), which may wait on a dead
      // Redis: cut the connections instead once it has had a few seconds.
      await within(Promise.all(workers.map((w) => w.close(true))), 3000, undefined);
      // disconnect() waits for a connection being (re)made: bounded too.
      await within(Promise.all(workers.map((w) => w.disconnect().catch(() => undefined))), 2000, undefined);
    }
    await Promise.all(pool.map((p) => p.stop()));
    clearInterval(timer);
    await within(
      redis.del(`${WORKER_KEY_PREFIX}${id}`).catch(() => undefined),
      2000,
      undefined,
    );
    redis.disconnect();
    log(`worker ${id}: stopped after ${status.jobsDone} jobs`);
    resolveClosed();
    return closed;
  };
  return {
    id,
    backend,
    closed,
    stop,
    get jobsDone() {
      return status.jobsDone;
    },
    get failure() {
      return failure;
    },
  };
}

/** `p`, or `fallback` once `ms` have passed. */
async function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// The jobs of `atomizer predict --redis` on their way through BullMQ: enqueued
// at once on the run's eval queue (workers serve it by default), each retried
// by BullMQ up to `attempts` times (a worker or compute process that dies
// mid-job: its lock expires or the compute process reports the death, and the
// job runs again elsewhere), waited for one at a time in tile order, as the map
// is written. As the engine's executor does it: Redis calls ride out outages
// up to the budget (OutageGuard), a job that vanished from Redis (restart
// without data, removed by a training coordinator starting on the same run) is
// enqueued again, queue events wake the wait early. No run lease is taken: a
// prediction writes nothing of the run's state, so it may run beside training.

import { OutageGuard, checkJobSize, predictJobId, type JobReply, type PredictJob } from '@atomizer/protocol';
import { connectRedis, redisOptions } from '@atomizer/protocol/redis';
import { Job, Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { readWorkers } from '../dashboard/redis-data.js';
import { closeWithin } from '../engine/executor.js';
import { redisOutage } from '../engine/redis-outage.js';
import { WakeableSleep } from '../engine/wakeable-sleep.js';

export interface PredictDispatchOptions {
  redisUrl: string;
  /** The queue workers take the jobs from (the run's eval queue). */
  queue: string;
  /** BullMQ attempts per job. */
  attempts: number;
  log: (msg: string) => void;
  /** How long a Redis outage is ridden out, ms (default ATOMIZER_OUTAGE_BUDGET). */
  outageBudgetMs?: number;
  /** Poll interval while waiting (queue events wake it earlier), ms. */
  pollMs?: number;
}

interface Entry {
  job: PredictJob;
  id: string;
  /** Times enqueued again after vanishing from Redis. */
  requeued: number;
}

export class PredictDispatch {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly redis: Redis;
  private readonly guard: OutageGuard;
  private entries: Entry[] = [];
  private readonly waits = new WakeableSleep();

  private constructor(private readonly opts: PredictDispatchOptions) {
    const { guard, onError } = redisOutage(opts.redisUrl, opts.log, opts.outageBudgetMs);
    this.guard = guard;
    this.queue = new Queue(opts.queue, { connection: redisOptions(opts.redisUrl) as ConnectionOptions });
    this.events = new QueueEvents(opts.queue, { connection: redisOptions(opts.redisUrl, { role: 'worker' }) as ConnectionOptions });
    const wake = (): void => this.waits.wake();
    this.events.on('completed', wake);
    this.events.on('failed', wake);
    this.events.on('error', onError);
    this.queue.on('error', onError);
    this.redis = connectRedis(opts.redisUrl);
    this.redis.on('error', onError);
    this.redis.on('ready', () => this.guard.markUp());
  }

  static async open(opts: PredictDispatchOptions): Promise<PredictDispatch> {
    const d = new PredictDispatch(opts);
    try {
      await d.r(() => d.queue.waitUntilReady());
      await d.r(() => d.events.waitUntilReady());
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

  private r<T>(op: () => Promise<T>): Promise<T> {
    return this.guard.run(op);
  }

  /** Ids of the live workers that serve the queue (their heartbeats). */
  async workersServing(): Promise<string[]> {
    const { workers } = await this.r(() => readWorkers(this.redis));
    return workers.filter((w) => w.alive && w.queues.includes(this.opts.queue)).map((w) => w.id);
  }

  private add(entries: Entry[]): Promise<unknown> {
    const { attempts } = this.opts;
    // Repeating the add after a lost reply adds nothing: BullMQ keeps the first job of an id.
    return this.r(() =>
      this.queue.addBulk(
        entries.map((e) => ({
          name: `predict ${e.job.predict} tiles ${e.job.start}-${e.job.end - 1}`,
          data: e.job,
          opts: {
            jobId: e.id,
            attempts,
            backoff: { type: 'exponential' as const, delay: 500 },
            removeOnComplete: { count: 5000 },
            removeOnFail: { count: 5000 },
          },
        })),
      ),
    );
  }

  /** Enqueue every job of a prediction (in tile order: workers take them roughly in that order). */
  async enqueue(jobs: PredictJob[]): Promise<void> {
    this.entries = jobs.map((job) => {
      const id = predictJobId(job.run, job.predict, job.start, job.end);
      checkJobSize(job, id);
      return { job, id, requeued: 0 };
    });
    await this.add(this.entries);
  }

  /** Wait until job i is done; its reply. A job that failed every attempt is an Error naming it, its tiles and the reason. */
  async done(i: number): Promise<JobReply> {
    const e = this.entries[i];
    if (e === undefined) throw new Error(`predict: no job ${i} (${this.entries.length} enqueued)`);
    const { attempts } = this.opts;
    for (;;) {
      // State first, then the job hash: a job finishing between the two reads would otherwise look
      // completed with the return value of the earlier snapshot (none).
      const state = await this.r(() => this.queue.getJobState(e.id));
      const bj = await this.r(() => Job.fromId(this.queue, e.id));
      if (state === 'completed' && bj !== undefined) return bj.returnvalue as JobReply;
      const what = `predict job ${e.id} (tiles ${e.job.start}-${e.job.end - 1} of ${e.job.input})`;
      if (state === 'failed') {
        throw new Error(
          `${what} failed after ${bj?.attemptsMade ?? attempts} attempt(s): ${(bj?.failedReason ?? 'no reason recorded').split('\n')[0]}; fix the cause and predict again`,
        );
      }
      if (state === 'unknown' || bj === undefined) {
        if (e.requeued >= attempts)
          throw new Error(
            `${what} vanished from Redis ${e.requeued + 1} times; check that nothing empties the queue ${this.opts.queue}, and predict again`,
          );
        e.requeued++;
        this.opts.log(`${what} vanished from Redis; enqueued again`);
        await this.add([e]);
      }
      await this.waits.sleep(this.opts.pollMs ?? 250);
    }
  }

  /** Remove the jobs not yet taken by a worker (after a failure: nobody needs their tiles any more). */
  async cancel(): Promise<void> {
    for (const e of this.entries) {
      const bj = await this.r(() => Job.fromId(this.queue, e.id)).catch(() => undefined);
      const state = await bj?.getState().catch(() => 'unknown');
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await bj?.remove().catch(() => undefined);
    }
  }

  /** Never waits on an unreachable Redis for long (closeWithin, as the executor closes). */
  async close(): Promise<void> {
    this.waits.wake();
    await Promise.all([
      closeWithin(
        () => this.events.close(),
        () => this.events.disconnect(),
      ),
      closeWithin(
        () => this.queue.close(),
        () => this.queue.disconnect(),
      ),
    ]);
    this.redis.disconnect();
  }
}

import {
  MetricEventSchema,
  RunStatusSchema,
  WORKER_KEY_PREFIX,
  WORKER_TTL_SECONDS,
  WorkerStatusSchema,
  runKeys,
  type MetricEvent,
  type ObjectStore,
  type RunStatus,
  type WorkerStatus,
} from '@atomizer/protocol';
import type { Redis } from 'ioredis';

// A run writer for the dashboard's tests and screenshot script: it writes what the
// coordinator writes (runs/<run>/config.json, status.json and metrics.jsonl, the whole
// file rewritten every round) and what workers write (heartbeats in Redis), each
// object validated against the protocol schemas, into a real store and a real Redis.
// The numbers are made up but shaped like a training run (warm-up + cosine learning
// rate, decaying loss, evaluations of seen and unseen Landsat MSS modalities).

export interface SampleRunOptions {
  store: ObjectStore;
  redis: Redis;
  run?: string;
  rounds?: number;
  slices?: number;
  workers?: number;
  evalEvery?: number;
  queuePrefix?: string;
  /** Clock for the events (tests use a fixed start). */
  start?: Date;
}

const MODALITIES: Array<{ modality: string; seen: 'seen' | 'unseen'; skill: number }> = [
  { modality: 'mss-grn', seen: 'seen', skill: 0.86 },
  { modality: 'mss-gr', seen: 'seen', skill: 0.8 },
  { modality: 'mss-rn', seen: 'seen', skill: 0.83 },
  { modality: 'mss-gr-nir2', seen: 'unseen', skill: 0.78 },
  { modality: 'mss-r-nir2', seen: 'unseen', skill: 0.71 },
  { modality: 'mss-grn-240m', seen: 'unseen', skill: 0.74 },
];

export class SampleRun {
  readonly run: string;
  readonly rounds: number;
  readonly slices: number;
  readonly workerIds: string[];
  readonly evalEvery: number;
  /** Rounds completed. */
  round = 0;
  private readonly events: MetricEvent[] = [];
  private readonly started: Date;
  private clock: number;
  private state: RunStatus['state'] = 'starting';
  private readonly workerStarted: string;
  private jobsDone = new Map<string, number>();

  constructor(private readonly opts: SampleRunOptions) {
    this.run = opts.run ?? 'sample-run';
    this.rounds = opts.rounds ?? 30;
    this.slices = opts.slices ?? 4;
    this.evalEvery = opts.evalEvery ?? 5;
    this.workerIds = Array.from({ length: opts.workers ?? 2 }, (_, i) => `worker-${i + 1}`);
    this.started = opts.start ?? new Date();
    this.clock = this.started.getTime();
    this.workerStarted = this.started.toISOString();
  }

  /** The round-r training loss this writer reports (tests compare against it). */
  lossAt(round: number): number {
    return 0.45 + 1.35 * Math.exp(-round / 8) + 0.03 * Math.sin(round * 1.7);
  }

  lrAt(round: number): number {
    const peak = 3e-4;
    const warm = 2;
    if (round < warm) return (peak * (round + 1)) / warm;
    return 0.5 * peak * (1 + Math.cos((Math.PI * (round - warm)) / Math.max(1, this.rounds - warm)));
  }

  samplesPerSecondAt(round: number): number {
    return 410 + 25 * Math.sin(round * 0.9) + (round % 3) * 7;
  }

  private time(): string {
    return new Date(this.clock).toISOString();
  }

  /** config.json, run-start, status 'running', heartbeats. */
  async begin(): Promise<void> {
    const keys = runKeys(this.run);
    await this.opts.store.put(
      keys.config,
      Buffer.from(JSON.stringify({ run: this.run, queues: { prefix: this.opts.queuePrefix ?? 'atomizer', train: 2 } })),
    );
    this.push({
      type: 'run-start',
      time: this.time(),
      run: this.run,
      dataset: 'statlog',
      mode: 'sync',
      rounds: this.rounds,
      slices: this.slices,
      params: 412_678,
      startRound: 0,
      resumed: false,
    });
    this.state = 'running';
    await this.flush();
    await this.heartbeats('idle');
  }

  /** One round: job events, the round summary, maybe evaluations and a checkpoint; status and metrics rewritten. */
  async advance(): Promise<void> {
    const r = this.round;
    const roundMs = 2400 + 300 * Math.sin(r);
    let samples = 0;
    for (let j = 0; j < this.slices; j++) {
      const worker = this.workerIds[j % this.workerIds.length] ?? 'worker-1';
      samples += 64;
      this.jobsDone.set(worker, (this.jobsDone.get(worker) ?? 0) + 1);
      this.push({
        type: 'job',
        time: this.time(),
        round: r,
        job: j,
        worker,
        backend: 'wasm',
        samples: 64,
        loss: this.lossAt(r) + 0.02 * (j - this.slices / 2),
        atoms: 64 * 36,
        fetchMs: 12,
        batchMs: 40,
        computeMs: 1900,
        uploadMs: 8,
        bytesIn: 1_650_000,
        bytesOut: 1_650_000,
      });
    }
    const late = r % 7 === 3 ? [this.slices - 1] : [];
    const rejected = r % 11 === 6 ? [{ job: 1, reason: 'result has 3 NaN values in update (worker-2): rejected, weights untouched' }] : [];
    this.clock += roundMs;
    this.push({
      type: 'round',
      time: this.time(),
      round: r,
      loss: this.lossAt(r),
      lr: this.lrAt(r),
      samples,
      atoms: samples * 36,
      wallMs: roundMs,
      slowestComputeMs: roundMs - 110,
      overheadMs: 110,
      aggregateMs: 35,
      samplesPerSecond: this.samplesPerSecondAt(r),
      bytesMoved: this.slices * 3_300_000,
      received: this.slices - late.length,
      slices: this.slices,
      late,
      failed: [],
      rejected,
      gradNorm: 1.2 * Math.exp(-r / 20),
      workers: this.workerIds,
    });
    for (const x of rejected) this.push({ type: 'rejected', time: this.time(), round: r, job: x.job, reason: x.reason });
    this.round = r + 1;
    if (this.round % this.evalEvery === 0 || this.round === this.rounds) {
      for (const m of MODALITIES) {
        const acc = Math.min(0.95, m.skill * (1 - Math.exp(-this.round / 6)));
        for (const split of ['val', 'test']) {
          this.push({
            type: 'eval',
            time: this.time(),
            round: r,
            split,
            modality: m.modality,
            seen: m.seen,
            samples: split === 'val' ? 1000 : 2000,
            skipped: 0,
            loss: 1.8 - acc,
            accuracy: split === 'val' ? acc : acc - 0.01,
            macroF1: acc - 0.04,
          });
        }
      }
      this.push({ type: 'checkpoint', time: this.time(), round: r, key: runKeys(this.run).checkpoint(r, 'weights.bin') });
    }
    if (this.round === this.rounds) {
      this.state = 'done';
      this.push({ type: 'run-end', time: this.time(), round: r, state: 'done' });
    }
    await this.flush();
    await this.heartbeats(this.state === 'done' ? 'idle' : 'busy');
  }

  private push(e: MetricEvent): void {
    this.events.push(MetricEventSchema.parse(e));
  }

  /** Rewrite status.json and metrics.jsonl, as the coordinator does after each round. */
  async flush(): Promise<void> {
    const keys = runKeys(this.run);
    const last = [...this.events].reverse().find((e) => e.type === 'round');
    const status: RunStatus = RunStatusSchema.parse({
      run: this.run,
      state: this.state,
      round: this.round,
      rounds: this.rounds,
      startRound: 0,
      started: this.started.toISOString(),
      updated: this.time(),
      ...(last?.type === 'round' ? { loss: last.loss, lr: last.lr, samplesPerSecond: last.samplesPerSecond } : {}),
      etaSeconds: (this.rounds - this.round) * 2.4,
      mode: 'sync',
      dataset: 'statlog',
      params: 412_678,
    });
    await this.opts.store.put(keys.metrics, Buffer.from(this.events.map((e) => `${JSON.stringify(e)}\n`).join('')));
    await this.opts.store.put(keys.status, Buffer.from(JSON.stringify(status)));
  }

  /** Each worker's heartbeat, with the TTL workers use. */
  async heartbeats(state: WorkerStatus['state']): Promise<void> {
    const prefix = this.opts.queuePrefix ?? 'atomizer';
    for (const [i, id] of this.workerIds.entries()) {
      const status = WorkerStatusSchema.parse({
        id,
        host: 'node-1',
        pid: 4100 + i,
        backend: i === 0 ? 'wasm (native kernels: on)' : 'wasm',
        queues: [`${prefix}-train-${i % 2}`, `${prefix}-eval`],
        state,
        ...(state === 'busy' ? { job: `${this.run}.r${String(this.round).padStart(6, '0')}.j${String(i).padStart(6, '0')}` } : {}),
        jobsDone: this.jobsDone.get(id) ?? 0,
        jobsFailed: 0,
        started: this.workerStarted,
        updated: new Date().toISOString(),
      });
      await this.opts.redis.set(WORKER_KEY_PREFIX + id, JSON.stringify(status), 'EX', WORKER_TTL_SECONDS);
    }
  }
}

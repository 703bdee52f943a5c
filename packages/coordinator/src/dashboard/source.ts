import { type ObjectStore, type RunStatus } from '@atomizer/protocol';
import type { Redis } from 'ioredis';
import { RunStore } from '../run-store.js';
import { listRuns, MetricsFollower, readQueuePrefix, summarizeMetrics, type RunMetrics } from './run-data.js';
import { discoverQueues, readWorkers, type WorkerView } from './redis-data.js';

// One poller per dashboard: every `intervalMs` it reads the run's status.json, the
// new bytes of metrics.jsonl, the worker heartbeats and the queue counts, and keeps
// the result as a snapshot that the API, the SSE stream and /metrics all serve
// (so ten open pages cost the store and Redis what one does).

/** Job states shown per queue (BullMQ getJobCounts names). */
export const QUEUE_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'waiting-children', 'prioritized'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueView {
  name: string;
  counts: Record<QueueState, number>;
}

export interface StatusSnapshot {
  /** When this snapshot was read (ISO). */
  time: string;
  run: string | null;
  /** Runs with a status.json, newest first (when the run was not given). */
  runs: Array<{ run: string; updated: string; state: RunStatus['state'] }>;
  status: RunStatus | null;
  progress: { round: number; rounds: number; fraction: number; etaSeconds: number | null } | null;
  workers: WorkerView[];
  queuePrefix: string;
  queues: QueueView[];
  /** Problems reading the store or Redis (the page shows them; the poll goes on). */
  errors: string[];
  /** Incremented when the run's metrics changed. */
  metricsVersion: number;
}

export interface SourceOptions {
  redis: Redis;
  store: ObjectStore;
  run?: string;
  queuePrefix?: string;
  intervalMs?: number;
  /** How often (ms) to look for a newer run when `run` was not given. */
  runScanMs?: number;
  /** How long (s) a worker whose heartbeat expired stays on the page as gone. */
  goneWorkerSeconds?: number;
  /** Called with each queue name found (bull-board adds it). */
  onQueues?: (names: string[]) => void;
  /** Job counts of a queue (the server owns the BullMQ Queue objects). */
  queueCounts: (name: string) => Promise<Record<QueueState, number>>;
}

const DEFAULT_QUEUE_PREFIX = 'atomizer';

export class DashboardSource {
  private snapshot: StatusSnapshot;
  private metrics: RunMetrics | null = null;
  private follower: MetricsFollower | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastRunScan = 0;
  private runs: StatusSnapshot['runs'] = [];
  private configPrefix: string | undefined;
  private gone = new Map<string, WorkerView>();
  private listeners = new Set<(s: StatusSnapshot) => void>();
  private closed = false;

  constructor(private readonly opts: SourceOptions) {
    this.snapshot = {
      time: new Date().toISOString(),
      run: opts.run ?? null,
      runs: [],
      status: null,
      progress: null,
      workers: [],
      queuePrefix: opts.queuePrefix ?? DEFAULT_QUEUE_PREFIX,
      queues: [],
      errors: [],
      metricsVersion: 0,
    };
  }

  get current(): StatusSnapshot {
    return this.snapshot;
  }

  get currentMetrics(): RunMetrics | null {
    return this.metrics;
  }

  /** Called after every poll with the new snapshot. Returns the unsubscribe function. */
  subscribe(fn: (s: StatusSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** First poll (awaited), then one every intervalMs. */
  async start(): Promise<void> {
    await this.refresh();
    const loop = (): void => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        void this.refresh().finally(loop);
      }, this.opts.intervalMs ?? 1000);
    };
    loop();
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** Poll now (joins a poll in progress). */
  refresh(): Promise<void> {
    this.running ??= this.poll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async poll(): Promise<void> {
    const errors: string[] = [];
    const now = Date.now();
    const run = await this.pickRun(now).catch((err: unknown) => {
      errors.push(`object store: ${(err as Error).message}`);
      return this.snapshot.run ?? undefined;
    });

    let status: RunStatus | null = null;
    if (run !== undefined) {
      if (this.follower?.run !== run) {
        this.follower = new MetricsFollower(this.opts.store, run);
        this.metrics = null;
        this.configPrefix = await readQueuePrefix(this.opts.store, run);
      }
      try {
        status = (await new RunStore(this.opts.store, run).status()) ?? null;
      } catch (err) {
        errors.push((err as Error).message);
      }
      try {
        const changed = await this.follower.update();
        if (changed || this.metrics === null) this.metrics = summarizeMetrics(run, this.follower.events, this.follower.warnings);
      } catch (err) {
        errors.push(`metrics: ${(err as Error).message}`);
      }
      if (this.configPrefix === undefined && this.opts.queuePrefix === undefined && status !== null) {
        this.configPrefix = await readQueuePrefix(this.opts.store, run);
      }
    }

    const queuePrefix = this.opts.queuePrefix ?? this.configPrefix ?? DEFAULT_QUEUE_PREFIX;
    let workers: WorkerView[] = this.snapshot.workers.map((w) => ({ ...w, alive: false }));
    const queues: QueueView[] = [];
    try {
      const read = await readWorkers(this.opts.redis, now);
      errors.push(...read.errors);
      workers = this.withGone(read.workers, now);
      const names = await discoverQueues(this.opts.redis, queuePrefix);
      this.opts.onQueues?.(names);
      for (const name of names) queues.push({ name, counts: await this.opts.queueCounts(name) });
    } catch (err) {
      errors.push(`redis: ${(err as Error).message}`);
    }

    this.snapshot = {
      time: new Date(now).toISOString(),
      run: run ?? null,
      runs: this.runs,
      status,
      progress: status !== null ? progressOf(status, this.metrics) : null,
      workers,
      queuePrefix,
      queues,
      errors,
      metricsVersion: this.follower?.version ?? 0,
    };
    for (const fn of this.listeners) fn(this.snapshot);
  }

  /** The given run, else the most recently updated status.json (looked for again every runScanMs). */
  private async pickRun(now: number): Promise<string | undefined> {
    if (this.opts.run !== undefined) return this.opts.run;
    const stale = now - this.lastRunScan >= (this.opts.runScanMs ?? 10_000);
    if (this.snapshot.run === null || stale) {
      this.lastRunScan = now;
      this.runs = await listRuns(this.opts.store);
      return this.runs[0]?.run ?? undefined;
    }
    return this.snapshot.run;
  }

  /** Keep workers whose heartbeat expired on the page for a while, marked not alive. */
  private withGone(live: WorkerView[], now: number): WorkerView[] {
    const ids = new Set(live.map((w) => w.id));
    for (const w of this.snapshot.workers) if (!ids.has(w.id) && w.alive) this.gone.set(w.id, { ...w, alive: false });
    for (const id of ids) this.gone.delete(id);
    const keep = (this.opts.goneWorkerSeconds ?? 600) * 1000;
    const gone: WorkerView[] = [];
    for (const [id, w] of this.gone) {
      const updated = Date.parse(w.updated);
      if (now - updated > keep) this.gone.delete(id);
      else gone.push({ ...w, ageSeconds: Math.max(0, (now - updated) / 1000), alive: false, state: w.state });
    }
    return [...live, ...gone].sort((a, b) => a.id.localeCompare(b.id));
  }
}

/** Round progress and ETA: status.etaSeconds when the coordinator gives it, else mean round time x rounds left. */
export function progressOf(status: RunStatus, metrics: RunMetrics | null): NonNullable<StatusSnapshot['progress']> {
  const total = Math.max(status.rounds, 0);
  const done = Math.min(status.round, total);
  let eta: number | null = status.etaSeconds ?? null;
  if (eta === null && metrics !== null && metrics.rounds.length > 0 && status.state === 'running') {
    const recent = metrics.rounds.slice(-10);
    const mean = recent.reduce((s, r) => s + r.wallMs, 0) / recent.length / 1000;
    eta = mean * (total - done);
  }
  if (status.state === 'done') eta = 0;
  return { round: done, rounds: total, fraction: total > 0 ? done / total : 0, etaSeconds: eta };
}

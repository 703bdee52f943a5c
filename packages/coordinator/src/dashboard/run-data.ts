import {
  MetricEventSchema,
  runKeys,
  type EvalEvent,
  type MetricEvent,
  type ObjectStore,
  type RoundEvent,
  type RunStatus,
} from '@atomizer/protocol';
import { RunStore } from '../run-store.js';

// What the dashboard reads from the object store: runs/<run>/status.json and
// runs/<run>/metrics.jsonl (protocol/metrics.ts), and which run is the newest.

/** The run names that have a runs/<run>/status.json, with their `updated` time, newest first. */
export async function listRuns(store: ObjectStore): Promise<Array<{ run: string; updated: string; state: RunStatus['state'] }>> {
  const keys = await store.list('runs/');
  const runs: Array<{ run: string; updated: string; state: RunStatus['state'] }> = [];
  for (const key of keys) {
    const m = /^runs\/([^/]+)\/status\.json$/.exec(key);
    if (m === null || m[1] === undefined) continue;
    const status = await new RunStore(store, m[1]).status().catch(() => undefined);
    if (status !== undefined) runs.push({ run: m[1], updated: status.updated, state: status.state });
  }
  runs.sort((a, b) => Date.parse(b.updated) - Date.parse(a.updated) || a.run.localeCompare(b.run));
  return runs;
}

/** The queue prefix a run was configured with (config.queues.prefix in runs/<run>/config.json), if readable. */
export async function readQueuePrefix(store: ObjectStore, run: string): Promise<string | undefined> {
  const stored = await new RunStore(store, run).config().catch(() => undefined);
  return stored?.config.queues.prefix;
}

/** Bytes before the read offset compared on every read, to notice a rewritten (not appended) file. */
const GUARD_BYTES = 64;
const MAX_WARNINGS = 20;

/**
 * Follows runs/<run>/metrics.jsonl. The coordinator rewrites the whole object every
 * round, usually by appending; the follower reads only the new bytes (one ranged GET)
 * when the object grew and its last known bytes are unchanged, and starts over otherwise.
 * A line that does not parse is skipped and reported in `warnings` (never fatal: the
 * dashboard keeps showing the rest).
 */
export class MetricsFollower {
  readonly key: string;
  private offset = 0;
  private guard: Buffer = Buffer.alloc(0);
  private lineNo = 0;
  events: MetricEvent[] = [];
  warnings: string[] = [];
  /** Incremented whenever `events` changes. */
  version = 0;

  constructor(
    private readonly store: ObjectStore,
    readonly run: string,
  ) {
    this.key = runKeys(run).metrics;
  }

  /** Read what is new; returns true when `events` changed. */
  async update(): Promise<boolean> {
    const info = await this.store.head(this.key);
    if (info === undefined) {
      if (this.offset === 0 && this.events.length === 0) return false;
      this.reset();
      return true;
    }
    if (info.size === this.offset) return false;
    if (info.size < this.offset) return this.readAll(info.size);
    const from = this.offset - this.guard.length;
    const chunk = Buffer.from(await this.store.getRange(this.key, from, info.size));
    if (!chunk.subarray(0, this.guard.length).equals(this.guard)) return this.readAll(info.size);
    return this.consume(chunk.subarray(this.guard.length));
  }

  /** The object was rewritten (shorter, or its known bytes changed): start over. */
  private async readAll(size: number): Promise<boolean> {
    this.reset();
    if (size > 0) this.consume(Buffer.from(await this.store.getRange(this.key, 0, size)));
    return true;
  }

  private reset(): void {
    this.offset = 0;
    this.guard = Buffer.alloc(0);
    this.lineNo = 0;
    this.events = [];
    this.warnings = [];
    this.version++;
  }

  /** Parse the complete lines of `bytes` (which start at `this.offset`); a trailing partial line waits. */
  private consume(bytes: Buffer): boolean {
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) return false;
    const complete = bytes.subarray(0, end + 1);
    let changed = false;
    for (const line of complete.toString('utf8').split('\n').slice(0, -1)) {
      this.lineNo++;
      if (line.trim() === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        this.warn(`${this.key}:${this.lineNo}: not JSON (${(err as Error).message})`);
        continue;
      }
      const r = MetricEventSchema.safeParse(obj);
      if (!r.success) {
        this.warn(`${this.key}:${this.lineNo}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
        continue;
      }
      this.events.push(r.data);
      changed = true;
    }
    const consumedEnd = this.offset + complete.length;
    const previous = this.guard;
    const tail = Buffer.concat([previous, complete]);
    this.guard = Buffer.from(tail.subarray(Math.max(0, tail.length - GUARD_BYTES)));
    this.offset = consumedEnd;
    if (changed) this.version++;
    return changed;
  }

  private warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
  }
}

/** One point of the round curves. */
export interface RoundPoint {
  round: number;
  time: string;
  loss: number;
  lr: number;
  samplesPerSecond: number;
  wallMs: number;
  overheadMs: number;
  received: number;
  slices: number;
}

/** One row of the evaluation table: the latest evaluation of a (split, modality). */
export interface EvalRow {
  round: number;
  split: string;
  modality: string;
  seen: 'seen' | 'unseen';
  samples: number;
  skipped: number;
  loss: number;
  accuracy?: number;
  macroF1?: number;
  mAP?: number;
  /** Accuracy (or mAP) at the previous evaluation of the same row, to show the trend. */
  previous?: number;
}

export interface Incident {
  round: number;
  kind: 'rejected' | 'late' | 'failed';
  job: number | string;
  reason?: string;
  time: string;
}

/** What the charts and tables need, derived from the events. */
export interface RunMetrics {
  run: string;
  rounds: RoundPoint[];
  evals: EvalRow[];
  /** Most recent first, at most `maxIncidents`. */
  incidents: Incident[];
  checkpoints: Array<{ round: number; key: string; time: string }>;
  start?: Extract<MetricEvent, { type: 'run-start' }>;
  end?: Extract<MetricEvent, { type: 'run-end' }>;
  /** Lines of metrics.jsonl that did not parse (skipped). */
  warnings: string[];
}

export function summarizeMetrics(run: string, events: readonly MetricEvent[], warnings: string[] = [], maxIncidents = 50): RunMetrics {
  const rounds = new Map<number, RoundPoint>();
  const evals = new Map<string, EvalRow>();
  const incidents = new Map<string, Incident>();
  const checkpoints: RunMetrics['checkpoints'] = [];
  let start: RunMetrics['start'];
  let end: RunMetrics['end'];
  const addIncident = (i: Incident): void => {
    const id = `${i.round}/${i.kind}/${String(i.job)}`;
    if (!incidents.has(id) || (i.reason !== undefined && incidents.get(id)?.reason === undefined)) incidents.set(id, i);
  };
  for (const e of events) {
    switch (e.type) {
      case 'run-start':
        start = e;
        end = undefined;
        break;
      case 'round':
        rounds.set(e.round, roundPoint(e));
        for (const job of e.late) addIncident({ round: e.round, kind: 'late', job, time: e.time });
        for (const job of e.failed) addIncident({ round: e.round, kind: 'failed', job, time: e.time });
        for (const r of e.rejected) addIncident({ round: e.round, kind: 'rejected', job: r.job, reason: r.reason, time: e.time });
        break;
      case 'eval': {
        const id = `${e.split}\u0000${e.modality}`;
        const before = evals.get(id);
        evals.set(id, evalRow(e, before));
        break;
      }
      case 'rejected':
        addIncident({ round: e.round, kind: 'rejected', job: e.job, reason: e.reason, time: e.time });
        break;
      case 'checkpoint':
        checkpoints.push({ round: e.round, key: e.key, time: e.time });
        break;
      case 'run-end':
        end = e;
        break;
      case 'job':
        break;
    }
  }
  const splitOrder = (s: string): number => ['train', 'val', 'test'].indexOf(s);
  return {
    run,
    rounds: [...rounds.values()].sort((a, b) => a.round - b.round),
    evals: [...evals.values()].sort(
      (a, b) =>
        splitOrder(a.split) - splitOrder(b.split) ||
        a.split.localeCompare(b.split) ||
        (a.seen === b.seen ? 0 : a.seen === 'seen' ? -1 : 1) ||
        a.modality.localeCompare(b.modality),
    ),
    incidents: [...incidents.values()].sort((a, b) => b.round - a.round || Date.parse(b.time) - Date.parse(a.time)).slice(0, maxIncidents),
    checkpoints,
    ...(start !== undefined ? { start } : {}),
    ...(end !== undefined ? { end } : {}),
    warnings,
  };
}

function roundPoint(e: RoundEvent): RoundPoint {
  return {
    round: e.round,
    time: e.time,
    loss: e.loss,
    lr: e.lr,
    samplesPerSecond: e.samplesPerSecond,
    wallMs: e.wallMs,
    overheadMs: e.overheadMs,
    received: e.received,
    slices: e.slices,
  };
}

function evalRow(e: EvalEvent, before: EvalRow | undefined): EvalRow {
  const score = (r: { accuracy?: number; mAP?: number }): number | undefined => r.accuracy ?? r.mAP;
  const prev = before !== undefined && before.round !== e.round ? score(before) : before?.previous;
  return {
    round: e.round,
    split: e.split,
    modality: e.modality,
    seen: e.seen,
    samples: e.samples,
    skipped: e.skipped,
    loss: e.loss,
    ...(e.accuracy !== undefined ? { accuracy: e.accuracy } : {}),
    ...(e.macroF1 !== undefined ? { macroF1: e.macroF1 } : {}),
    ...(e.mAP !== undefined ? { mAP: e.mAP } : {}),
    ...(prev !== undefined ? { previous: prev } : {}),
  };
}

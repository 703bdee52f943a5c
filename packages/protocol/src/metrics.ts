import { z } from 'zod';

// Events of runs/<run>/metrics.jsonl (one JSON object per line) and the run's
// status object (runs/<run>/status.json): written by the coordinator, read by
// the dashboard, `atomizer report` and the tests. One schema for all of them.

const time = z.string();
const num = z.number();
const count = z.number().int().nonnegative();

export const RunStartEventSchema = z.looseObject({
  type: z.literal('run-start'),
  time,
  run: z.string(),
  dataset: z.string(),
  mode: z.enum(['sync', 'local']),
  rounds: count,
  slices: count,
  params: count,
  startRound: count,
  resumed: z.boolean(),
});

export const JobEventSchema = z.looseObject({
  type: z.literal('job'),
  time,
  round: count,
  job: z.union([count, z.string()]),
  worker: z.string(),
  backend: z.string(),
  samples: count,
  loss: num,
  atoms: count,
  fetchMs: num,
  batchMs: num,
  computeMs: num,
  uploadMs: num,
  bytesIn: count,
  bytesOut: count,
  /** Local mode: the slot's inner state came from the worker's memory instead of the store. */
  innerStateFromMemory: z.boolean().optional(),
});

export const RoundEventSchema = z.looseObject({
  type: z.literal('round'),
  time,
  round: count,
  loss: num,
  lr: num,
  samples: count,
  atoms: count,
  /** Round wall time: first enqueue to the new weights published. */
  wallMs: num,
  /** The slowest slice's compute time (its worker's batch + compute). */
  slowestComputeMs: num,
  /** wallMs - slowestComputeMs: queueing, S3 transfers, aggregation. */
  overheadMs: num,
  aggregateMs: num,
  samplesPerSecond: num,
  bytesMoved: count,
  received: count,
  slices: count,
  late: z.array(z.union([count, z.string()])),
  failed: z.array(z.union([count, z.string()])),
  rejected: z.array(z.object({ job: z.union([count, z.string()]), reason: z.string() })),
  gradNorm: num,
  workers: z.array(z.string()),
  /** The compute backends of the accepted slices (more than one: results agree to ~1e-7, not bit for bit). */
  backends: z.array(z.string()).optional(),
  /** The coordinator process: CPU during the round, resident memory at its end and the process's peak so far. */
  coordinator: z.object({ cpuMs: num, rssMB: num, peakRssMB: num }).optional(),
  /** How the round's results were summed (docs/design.md "Aggregation"). */
  aggregation: z
    .object({
      /** 'ordered-stream': folded in job-id order as they arrived, in the coordinator; 'ordered-ranges': the same per range of the vector, each range by its own reducer (issue 13). */
      method: z.string(),
      /** Time folding results into the sum, ms (most of it while the round ran). */
      foldMs: num,
      /** Results read again from the store (before issue 13: early arrivals let go; since: refolds after a rebuild of the sum). */
      rereads: count,
      /** Most memory held at once by results waiting or being read, MiB; the bound is windowMB. */
      heldPeakMB: num,
      windowMB: num,
      /** Results read and checked at once, at most. */
      checksAtOnce: count,
      /** 'ordered-ranges': the number of ranges R, where they were reduced and why R. */
      ranges: count.optional(),
      where: z.string().optional(),
      plan: z.string().optional(),
      /** Times the sum was zeroed and rebuilt this round (a result refused at its turn, a reducer that died). */
      rebuilds: count.optional(),
      reducerRestarts: count.optional(),
      /** Payload bytes the fold read from the store (header checks not counted). */
      bytesRead: count.optional(),
      /** After the close: the folds still pending and the mean, ms; then the norm, clipping, optimizer step and finiteness check, ms. */
      closeFoldMs: num.optional(),
      stepMs: num.optional(),
      /** train.reduce workers: the accepted range reducer jobs of the round, summed: how many, bytes they read (plan and chunks), and their read, fold (hash, finiteness, float64 adds, mean) and upload times, ms. */
      rangeJobs: z.object({ jobs: count, bytesIn: count, readMs: num, foldMs: num, uploadMs: num }).optional(),
    })
    .optional(),
});

export const EvalEventSchema = z.looseObject({
  type: z.literal('eval'),
  time,
  round: count,
  split: z.string(),
  modality: z.string(),
  seen: z.enum(['seen', 'unseen']),
  samples: count,
  skipped: count,
  loss: num,
  /** Single-label: overall accuracy and macro F1. Multi-label: macro mAP and macro F1. */
  accuracy: num.optional(),
  macroF1: num.optional(),
  mAP: num.optional(),
});

export const CheckpointEventSchema = z.looseObject({ type: z.literal('checkpoint'), time, round: count, key: z.string() });
export const RejectedEventSchema = z.looseObject({
  type: z.literal('rejected'),
  time,
  round: count,
  job: z.union([count, z.string()]),
  reason: z.string(),
});
export const RunEndEventSchema = z.looseObject({
  type: z.literal('run-end'),
  time,
  round: count,
  state: z.enum(['done', 'failed', 'stopped']),
  message: z.string().optional(),
});

export const MetricEventSchema = z.discriminatedUnion('type', [
  RunStartEventSchema,
  JobEventSchema,
  RoundEventSchema,
  EvalEventSchema,
  CheckpointEventSchema,
  RejectedEventSchema,
  RunEndEventSchema,
]);
export type MetricEvent = z.infer<typeof MetricEventSchema>;
export type RoundEvent = z.infer<typeof RoundEventSchema>;
export type EvalEvent = z.infer<typeof EvalEventSchema>;
export type JobEvent = z.infer<typeof JobEventSchema>;

/** Parse metrics.jsonl; a bad line is reported by its number. */
export function parseMetricsJsonl(text: string, source = 'metrics.jsonl'): MetricEvent[] {
  const out: MetricEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new Error(`${source}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const r = MetricEventSchema.safeParse(obj);
    if (!r.success) throw new Error(`${source}:${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    out.push(r.data);
  });
  return out;
}

/** runs/<run>/status.json: the run at a glance, rewritten after every round. */
export const RunStatusSchema = z.looseObject({
  run: z.string(),
  state: z.enum(['starting', 'sharding', 'running', 'evaluating', 'done', 'failed', 'stopped']),
  round: count,
  rounds: count,
  startRound: count,
  started: time,
  updated: time,
  loss: num.optional(),
  lr: num.optional(),
  samplesPerSecond: num.optional(),
  etaSeconds: num.optional(),
  mode: z.enum(['sync', 'local']),
  dataset: z.string(),
  params: count,
  message: z.string().optional(),
  /** The coordinator that holds the run (its lease and fencing token). */
  lease: z.object({ holder: z.string(), token: count }).optional(),
});
export type RunStatus = z.infer<typeof RunStatusSchema>;

import { z } from 'zod';
import { formatKeyNumber, validateKeyName } from './keys.js';
import { ReduceJobSchema, type ReduceJob } from './reduce-jobs.js';
import { TRANSPORT_FORMATS } from './run-config.js';

// Jobs, replies and result headers between the coordinator and workers
// (docs/design.md "Jobs", "Rounds", "Failure"). Both sides validate with these
// schemas. Jobs carry keys and small numbers only, never tensors: enqueueing
// refuses a payload over MAX_JOB_BYTES.

/** Largest job payload (JSON bytes) the coordinator enqueues. */
export const MAX_JOB_BYTES = 4096;

const key = z.string().min(1).max(1024);
const sha = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest');
const count = z.number().int().nonnegative();

const jobBase = {
  run: z.string().min(1),
  round: count,
  /** The run's resolved config (model, encoding, data options the worker needs). */
  configKey: key,
  weightsKey: key,
  /** sha256 of the weights object's payload: a result must echo it. */
  weightsSha256: sha,
  manifestKey: key,
  seed: count,
  /** Where the result goes (runKeys(run).result(round, job)). */
  resultKey: key,
};

export const TrainJobSchema = z
  .object({
    kind: z.literal('train'),
    ...jobBase,
    job: count,
    /**
     * The samples: train shard `shard` of the manifest (its key and sha256 are there), samples
     * [start, end). Sync mode: one part. Local mode: one part per local step.
     */
    parts: z
      .array(
        z
          .object({ shard: count, start: count, end: count })
          .strict()
          .refine((p) => p.end > p.start, { message: 'end must be greater than start' }),
      )
      .min(1)
      .max(256),
    mode: z.enum(['sync', 'local']),
    /** Local steps (1 in sync mode). */
    localSteps: z.number().int().positive(),
    /** Learning rate of the local steps (local mode). */
    lr: z.number().nonnegative(),
    /** Local mode: the inner optimizer state this slot left last round (absent or missing: fresh). */
    innerStateKey: key.optional(),
    /**
     * Payload sha256 of the object at innerStateKey, when the coordinator knows it (the reply
     * that left it said so): a worker that still holds exactly that state in memory skips
     * the download. Absent: the worker reads the object.
     */
    innerStateSha256: sha.optional(),
    /** Local mode: where to leave the inner optimizer state for the slot's next round. */
    innerStateOutKey: key.optional(),
  })
  .strict()
  .refine((j) => j.mode === 'local' || j.parts.length === 1, { message: 'a sync job has exactly one part', path: ['parts'] });

export const EvalJobSchema = z
  .object({
    kind: z.literal('eval'),
    ...jobBase,
    job: z.string().min(1),
    shardKey: key,
    /** sha256 of the shard object, from the manifest. */
    shardSha256: sha,
    /** Samples [start, end) of the shard. */
    start: count,
    end: count,
    split: z.enum(['train', 'val', 'test']),
    /** Modality (a registry name or the JSON of an inline definition) the samples are presented in. */
    modality: z.string().min(1).max(1024),
  })
  .strict()
  .refine((j) => j.end > j.start, { message: 'end must be greater than start', path: ['end'] });

/**
 * A range of tiles of a map `atomizer predict --redis` makes (docs/design.md "Predict"): the
 * worker opens the scene at `input`, reads each tile's window (tile + halo), predicts one patch
 * per stride x stride block with the checkpoint and writes the tiles' pixels to resultKey.
 * Everything that decides a pixel's value is in the job, chosen once by the coordinator
 * (modality, normalisation, patch, seeds from the checkpoint round), so the map equals the
 * one predicted in-process byte for byte.
 */
export const PredictJobSchema = z
  .object({
    kind: z.literal('predict'),
    run: z.string().min(1),
    /** The prediction's id: its results live under runKeys(run).predictPrefix(predict). */
    predict: z.string().min(1).max(64),
    configKey: key,
    /** The checkpoint's round (batch seeds derive from it, as in-process). */
    round: count,
    checkpointKey: key,
    /** sha256 of the checkpoint object: a worker refuses other bytes. */
    checkpointSha256: sha,
    /** The scene where workers read it: an http(s):// or s3:// URL, or an absolute path on storage they share. */
    input: key,
    sensor: z.string().min(1).max(64).optional(),
    bands: z.array(z.string().min(1).max(64)).max(64).optional(),
    /** Reader resolution factor: read the overview closest to, not coarser than, this (absent: full resolution). */
    resolution: z.number().gt(0).lt(1).optional(),
    /** Size of the grid read, to refuse a scene that changed since the coordinator opened it. */
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** JSON of the modality as applied to the grid read. */
    modality: z.string().min(1).max(2048),
    /** Per band key: [key, mean, std] (empty: each patch normalised with its own statistics). */
    normalisation: z.array(z.tuple([z.string().min(1).max(128), z.number(), z.number().nonnegative()])).max(128),
    patch: z.number().int().positive(),
    halo: count,
    stride: z.number().int().positive(),
    tileSize: z.number().int().positive().multipleOf(16),
    batchSize: z.number().int().positive(),
    probabilities: z.boolean(),
    /** Tiles [start, end) of the map, row-major. */
    start: count,
    end: count,
    resultKey: key,
  })
  .strict()
  .refine((j) => j.end > j.start, { message: 'end must be greater than start', path: ['end'] })
  .refine((j) => j.halo === Math.floor(j.patch / 2), { message: 'halo must be half the patch (rounded down)', path: ['halo'] });

export type TrainJob = z.infer<typeof TrainJobSchema>;
export type EvalJob = z.infer<typeof EvalJobSchema>;
export type PredictJob = z.infer<typeof PredictJobSchema>;
export type AtomizerJob = TrainJob | EvalJob | PredictJob | ReduceJob;

/** Parse a job's data on the worker side; the error names the job. */
export function parseJob(data: unknown, jobId = 'job'): AtomizerJob {
  const kind = (data as { kind?: unknown } | null)?.kind;
  const schema =
    kind === 'eval' ? EvalJobSchema : kind === 'predict' ? PredictJobSchema : kind === 'reduce' ? ReduceJobSchema : TrainJobSchema;
  const r = schema.safeParse(data);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`job ${jobId} is malformed: ${lines.join('; ')}`);
  }
  return r.data;
}

/** Refuse a payload too large for Redis (the coordinator calls this before every enqueue). */
export function checkJobSize(data: unknown, jobId: string): number {
  const bytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
  if (bytes > MAX_JOB_BYTES) {
    throw new Error(
      `job ${jobId}: payload is ${bytes} bytes, over the ${MAX_JOB_BYTES}-byte limit; jobs carry keys and small numbers only (put data in the object store)`,
    );
  }
  return bytes;
}

/** BullMQ job id of a slice: deterministic, so a job added twice is one job. BullMQ ids may not contain ':'. */
export function trainJobId(run: string, round: number, job: number): string {
  return `${validateKeyName('run id', run)}.r${formatKeyNumber('round', round)}.j${formatKeyNumber('job', job)}`;
}
export function evalJobId(run: string, round: number, job: string): string {
  return `${validateKeyName('run id', run)}.r${formatKeyNumber('round', round)}.${validateKeyName('eval job', job)}`;
}
/** BullMQ job id of a range reducer job (train.reduce: workers): its round, the reduce's generation and the range. */
export function reduceJobId(run: string, round: number, generation: number, range: number): string {
  return `${roundJobId(run, round)}.g${generation}.reduce${formatKeyNumber('range', range)}`;
}
/** BullMQ job id of a predict job: its prediction and tile range. */
export function predictJobId(run: string, predict: string, start: number, end: number): string {
  return `${validateKeyName('run id', run)}.p${validateKeyName('predict id', predict)}.t${formatKeyNumber('tile', start)}-${formatKeyNumber('tile', end)}`;
}
export function roundJobId(run: string, round: number): string {
  return `${validateKeyName('run id', run)}.r${formatKeyNumber('round', round)}`;
}

/** What a worker replies (the BullMQ return value): a summary, the data is at resultKey. */
export const JobReplySchema = z
  .object({
    resultKey: key,
    run: z.string(),
    round: count,
    job: z.union([count, z.string()]),
    samples: count,
    loss: z.number(),
    atoms: count,
    /** Milliseconds: fetching weights + shard, building the batch, computing, uploading. */
    fetchMs: z.number().nonnegative(),
    batchMs: z.number().nonnegative(),
    computeMs: z.number().nonnegative(),
    uploadMs: z.number().nonnegative(),
    bytesIn: count,
    bytesOut: count,
    /** Local mode: payload sha256 of the inner state left at the job's innerStateOutKey. */
    innerStateSha256: sha.optional(),
    /** Local mode: the slot's inner state came from this worker's memory, not the store. */
    innerStateFromMemory: z.boolean().optional(),
    /** Reduce jobs: the payload sha256 of the range output written at resultKey. */
    payloadSha256: sha.optional(),
    /** Reduce jobs: a result of the plan that was refused (a chunk hash, a NaN): its slice is retried, the range not written. */
    refused: z.object({ job: count, reason: z.string() }).strict().optional(),
    backend: z.string(),
    worker: z.string(),
  })
  .strict();
export type JobReply = z.infer<typeof JobReplySchema>;

/** Header (flat-file meta) of round weights. */
export const WeightsMetaSchema = z
  .object({
    kind: z.literal('weights'),
    run: z.string(),
    round: count,
    params: count,
    modelConfigSha256: sha,
    /** Absent: f32. bf16/f16: the array is u16 bit patterns of that format. */
    transport: z.enum(TRANSPORT_FORMATS).optional(),
  })
  .strict();
export type WeightsMeta = z.infer<typeof WeightsMetaSchema>;

/** Header of a train result: arrays { update } (gradient in sync mode, delta in local mode). */
export const TrainResultMetaSchema = z
  .object({
    kind: z.literal('train-result'),
    run: z.string(),
    round: count,
    job: count,
    mode: z.enum(['sync', 'local']),
    weightsSha256: sha,
    /** Absent: f32. bf16/f16: the update array is u16 bit patterns of that format. */
    transport: z.enum(TRANSPORT_FORMATS).optional(),
    samples: z.number().int().positive(),
    loss: z.number(),
    atoms: count,
    gradNorm: z.number(),
    backend: z.string(),
    worker: z.string(),
  })
  .strict();
export type TrainResultMeta = z.infer<typeof TrainResultMetaSchema>;

/** Header of an eval result: arrays { scores (samples x classes), labels (flattened), labelOffsets (samples + 1) }. */
export const EvalResultMetaSchema = z
  .object({
    kind: z.literal('eval-result'),
    run: z.string(),
    round: count,
    job: z.string(),
    split: z.string(),
    modality: z.string(),
    weightsSha256: sha,
    samples: count,
    classes: count,
    /** Samples skipped because the modality left them no atom. */
    skipped: count,
    atoms: count,
    loss: z.number(),
    backend: z.string(),
    worker: z.string(),
  })
  .strict();
export type EvalResultMeta = z.infer<typeof EvalResultMetaSchema>;

/** Header of a predict result: arrays { tiles (the tiles' pixels, uint8, pixel-interleaved, concatenated in tile order) }. */
export const PredictResultMetaSchema = z
  .object({
    kind: z.literal('predict-result'),
    run: z.string(),
    predict: z.string(),
    start: count,
    end: count,
    checkpointSha256: sha,
    /** Bytes per pixel: 1 (class id) or the class count (probabilities). */
    samplesPerPixel: z.number().int().positive(),
    /** Byte length of each tile in `tiles`, in order. */
    tileBytes: z.array(count),
    /** Pixels per class (top class for probabilities) and pixels left nodata, over the tiles. */
    pixels: z.array(count),
    nodata: count,
    patches: count,
    atoms: count,
    backend: z.string(),
    worker: z.string(),
  })
  .strict();
export type PredictResultMeta = z.infer<typeof PredictResultMetaSchema>;

/** Queue names of a run config's queues section. */
export function queueNames(prefix: string, trainQueues: number): { train: string[]; eval: string; rounds: string } {
  validateKeyName('queue prefix', prefix);
  if (prefix.includes(':')) throw new Error(`queue prefix '${prefix}' must not contain ':'`);
  return {
    train: Array.from({ length: trainQueues }, (_, i) => `${prefix}-train-${i}`),
    eval: `${prefix}-eval`,
    rounds: `${prefix}-rounds`,
  };
}

/** Worker heartbeat (Redis key WORKER_KEY_PREFIX + id, JSON, with a TTL): what the dashboard shows per worker. */
export const WorkerStatusSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  backend: z.string(),
  queues: z.array(z.string()),
  state: z.enum(['starting', 'idle', 'busy', 'stopping']),
  job: z.string().optional(),
  jobsDone: count,
  jobsFailed: count,
  started: z.string(),
  updated: z.string(),
});
export type WorkerStatus = z.infer<typeof WorkerStatusSchema>;
export const WORKER_KEY_PREFIX = 'atomizer:worker:';
export const WORKER_HEARTBEAT_SECONDS = 5;
export const WORKER_TTL_SECONDS = 20;

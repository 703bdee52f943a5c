// Public surface of @atomizer/protocol. Only what is listed here, and the three entry points
// below, may be imported by other packages. Add exports in the block of your module.

// Nothing here loads the AWS SDK, ioredis or s3rver: the model, the tokenizer and every
// worker import this. Those live behind their own entry points (package.json "exports",
// each one module), loaded only where used:
//   @atomizer/protocol/s3        S3Store (the AWS SDK); openStore imports it on the first s3:// location
//   @atomizer/protocol/redis     Redis connection options, reachability check, embedded redis-server (ioredis)
//   @atomizer/protocol/embedded  an S3 server in this process on a folder (s3rver): the demo and tests

// object store (interface, local folder, location parsing and opening, outage riding)
export { NotFoundError, getIfExists, isNotFoundError, validateObjectKey } from './object-store.js';
export type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
export { SCRATCH } from './object-store.js';
export { LocalStore } from './local-store.js';
export type { S3ConnectionOptions, S3Credentials } from './s3-store.js';
export { openStore, parseS3Location } from './open-store.js';
export type { OpenStoreOptions, S3Location } from './open-store.js';
export { ResilientStore } from './resilient-store.js';

// outages of Redis and the store: retried with backoff up to a budget, one log line per state change
export { DEFAULT_OUTAGE_BUDGET_S, OUTAGE_BUDGET_ENV, OutageError, OutageGuard, isTransientError, outageBudgetMs } from './outage.js';
export type { OutageGuardOptions } from './outage.js';

// child processes that must not outlive this one (a watchdog stops them even after SIGKILL)
export { killWithParent, processAlive } from './child-guard.js';
export type { ChildGuard } from './child-guard.js';

// key layout
export { KEY_NUMBER_WIDTH, datasetKeys, formatKeyNumber, newBuildId, parseKeyNumber, runKeys, validateKeyName } from './keys.js';
export type { DatasetBuildKeys, DatasetKeys, RunKeys } from './keys.js';

// hashing
export { Sha256, sha256Hex } from './sha256.js';

// flat binary objects: weights, results (JSON header + typed arrays + payload sha256)
export {
  FLAT_CHUNK_BYTES,
  FLAT_MAGIC,
  FLAT_VERSION,
  decodeFlat,
  encodeFlat,
  encodeFlatChunks,
  flatChunkSha256,
  flatHeaderBytes,
  flatPayloadSha256,
  readFlatHeader,
} from './flat-file.js';
export type { DecodeOptions, FlatArray, FlatArraySpec, FlatChunks, FlatFile, FlatHeader } from './flat-file.js';

// run config (every value has a default, a description and a flag)
export {
  OUTER_KINDS,
  REDUCE_WHERE,
  RunConfigSchema,
  StoredRunSchema,
  TRAIN_MODES,
  TRANSPORT_FORMATS,
  evalSplits,
  getPath,
  parseRunConfig,
  parseStoredRun,
  runConfigLeaves,
  setPath,
} from './run-config.js';
export type { RunConfig, RunConfigInput, RunConfigLeaf, StoredRun, TransportFormat } from './run-config.js';

// zod issues as lines naming full paths (unknown keys with the nearest valid one); edit distance for suggestions
export { issueLines } from './schema-issues.js';
export { editDistance, nearestName } from './edit-distance.js';

// jobs, replies, result headers, queue names, worker heartbeats
export {
  EvalJobSchema,
  EvalResultMetaSchema,
  JobReplySchema,
  MAX_JOB_BYTES,
  PredictJobSchema,
  PredictResultMetaSchema,
  TrainJobSchema,
  TrainResultMetaSchema,
  WORKER_HEARTBEAT_SECONDS,
  WORKER_KEY_PREFIX,
  WORKER_TTL_SECONDS,
  WeightsMetaSchema,
  WorkerStatusSchema,
  checkJobSize,
  evalJobId,
  parseJob,
  predictJobId,
  queueNames,
  reduceJobId,
  roundJobId,
  trainJobId,
} from './jobs.js';
export type {
  AtomizerJob,
  EvalJob,
  EvalResultMeta,
  JobReply,
  PredictJob,
  PredictResultMeta,
  TrainJob,
  TrainResultMeta,
  WeightsMeta,
  WorkerStatus,
} from './jobs.js';

// metrics.jsonl events and status.json
export { EvalEventSchema, JobEventSchema, MetricEventSchema, RoundEventSchema, RunStatusSchema, parseMetricsJsonl } from './metrics.js';
export type { EvalEvent, JobEvent, MetricEvent, RoundEvent, RunStatus } from './metrics.js';

// range reducers: the ranges of a round's vector, their arithmetic (coordinator threads and worker reduce jobs), reduce jobs
export { MAX_RANGES, MAX_WORKER_RANGES, SHARD_MIN_VALUES, planRanges, planWorkerRanges } from './range-plan.js';
export type { ParamRange, RangePlan } from './range-plan.js';
export { chunkSpans, chunkValues, float16Table, foldValues, meanOfSum } from './range-fold.js';
export type { ChunkSpan, ResultLayout, ValueFormat } from './range-fold.js';
export { RangeResultMetaSchema, ReduceJobSchema, ReducePlanSchema } from './reduce-jobs.js';
export type { RangeResultMeta, ReduceJob, ReducePlan } from './reduce-jobs.js';

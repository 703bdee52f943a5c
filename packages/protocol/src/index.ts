// Public surface of @atomizer/protocol. Only what is listed here may be imported by other packages.
// Add exports in the block of your module.

// object store (interface, local folder, S3, embedded S3 server, location parsing)
export {
  NotFoundError,
  getIfExists,
  isNotFoundError,
  validateObjectKey,
} from './object-store.js';
export type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
export { LocalStore } from './local-store.js';
export { S3Store } from './s3-store.js';
export type { S3ConnectionOptions, S3Credentials, S3StoreOptions } from './s3-store.js';
export { openStore, parseS3Location } from './open-store.js';
export type { OpenStoreOptions, S3Location } from './open-store.js';
export { ResilientStore } from './resilient-store.js';
export { startEmbeddedS3 } from './embedded-s3.js';
export type { EmbeddedS3, EmbeddedS3Options } from './embedded-s3.js';
export { startRangeServer } from './range-server.js';
export type { RangeServer } from './range-server.js';

// outages of Redis and the store: retried with backoff up to a budget, one log line per state change
export { DEFAULT_OUTAGE_BUDGET_S, OUTAGE_BUDGET_ENV, OutageError, OutageGuard, isTransientError, outageBudgetMs } from './outage.js';
export type { OutageGuardOptions } from './outage.js';

// key layout
export {
  KEY_NUMBER_WIDTH,
  datasetKeys,
  formatKeyNumber,
  newBuildId,
  parseKeyNumber,
  runKeys,
  validateKeyName,
} from './keys.js';
export type { DatasetBuildKeys, DatasetKeys, RunKeys } from './keys.js';

// hashing
export { Sha256, sha256Hex } from './sha256.js';

// Redis: connection options (TLS/auth from URL or env), reachability check, embedded redis-server
export {
  DEFAULT_REDIS_URL,
  REDIS_ENV,
  REDIS_INSTALL_HINT,
  RedisAuthError,
  checkRedis,
  connectRedis,
  findRedisServer,
  freePort,
  isRedisAuthError,
  redactRedisUrl,
  redisOptions,
  startEmbeddedRedis,
} from './redis.js';
export type { EmbeddedRedis, RedisConnectOptions } from './redis.js';

// flat binary objects: weights, results (JSON header + typed arrays + payload sha256)
export { FLAT_MAGIC, FLAT_VERSION, decodeFlat, encodeFlat, encodeFlatChunks, flatPayloadSha256 } from './flat-file.js';
export type { DecodeOptions, FlatArray, FlatChunks, FlatFile } from './flat-file.js';

// run config (every value has a default, a description and a flag)
export {
  OUTER_KINDS,
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
  roundJobId,
  trainJobId,
} from './jobs.js';
export type { AtomizerJob, EvalJob, EvalResultMeta, JobReply, PredictJob, PredictResultMeta, TrainJob, TrainResultMeta, WeightsMeta, WorkerStatus } from './jobs.js';

// metrics.jsonl events and status.json
export {
  EvalEventSchema,
  JobEventSchema,
  MetricEventSchema,
  RoundEventSchema,
  RunStatusSchema,
  parseMetricsJsonl,
} from './metrics.js';
export type { EvalEvent, JobEvent, MetricEvent, RoundEvent, RunStatus } from './metrics.js';

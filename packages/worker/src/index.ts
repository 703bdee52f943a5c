// Public surface of @atomizer/worker. Only what is listed here may be imported by other packages.

// the job recipe shared with the coordinator's single-process reference loop
export {
  buildEvalBatch,
  buildTrainBatch,
  evalModality,
  loadRunContext,
  modelConfigSha256,
  resolveModelConfig,
  runContext,
  trainRecipe,
} from './run-context.js';
export type { BuiltBatch, RunContext } from './run-context.js';

// one job start to finish (fetch, batch, compute, upload) and its caches
export { runJob } from './compute.js';
export { JobCache } from './job-cache.js';
export type { JobCacheOptions } from './job-cache.js';
export { PermanentJobError } from './job-errors.js';
export type { ComputeOptions, JobOutput } from './compute.js';
export { ShardDiskCache, isDiskFullError } from './shard-cache.js';
export type { ShardCacheFs, ShardCacheOptions } from './shard-cache.js';

// atomizer predict: a map's tiles (in-process and in a worker's predict job alike), how pixels are stored, checkpoint weights
export { mapGeometry, predictTile, statsWithTable, tileRect, tileWindow } from './map-tiles.js';
export type { MapGeometry, PredictedTile, TilePredictor } from './map-tiles.js';
export { MAP_NODATA, MAX_MAP_CLASSES, PROBABILITY_SCALE, argmax, encodeProbabilities, mapMetadata } from './map-encoding.js';
export { checkpointWeights } from './checkpoint-weights.js';

// the compute a scale simulation runs instead of the model
export { COMPUTE_MODES, STUB_BACKEND, stubLoss, stubUpdate } from './stub-compute.js';
export type { ComputeMode } from './stub-compute.js';

// the worker process: BullMQ workers + compute processes + heartbeats + graceful stop
export { ComputeProcess, JobFailure, terminate } from './compute-process.js';
export { startWorker } from './worker.js';
export type { RunningWorker, WorkerOptions } from './worker.js';

// the number formats results and weights travel in (train.transport)
export { decodeTransport, encodeTransport, transportMeta } from './transport.js';

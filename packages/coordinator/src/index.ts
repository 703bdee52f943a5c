// Public surface of @atomizer/coordinator. Only what is listed here may be imported by other packages.

// the training engine (run setup, data plan, executors, result checks, round loop)
export {
  BullMQExecutor,
  InProcessExecutor,
  RoundFailedError,
  checkEvalResult,
  checkTrainResult,
  ensureDataset,
  epochOrder,
  lrSchedule,
  prepareRun,
  sliceUnits,
  takeSlices,
  train,
  withRunId,
} from './engine/index.js';
export type {
  DataCursor,
  EvalOutcome,
  Executor,
  PreparedRun,
  RoundOutcome,
  RoundPolicy,
  SliceUnit,
  TrainOptions,
  TrainResult,
} from './engine/index.js';

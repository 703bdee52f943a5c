// The training engine: run setup, data plan, executors (BullMQ and in-process), result checks, the round loop.
export { epochOrder, sliceUnits, takeSlices } from './data-plan.js';
export type { DataCursor, SliceUnit } from './data-plan.js';
export { BullMQExecutor, InProcessExecutor, RoundFailedError } from './executor.js';
export type { EvalOutcome, Executor, RoundHooks, RoundOutcome, RoundPolicy, SliceProblem } from './executor.js';
export { checkEvalResult, checkTrainResult } from './results.js';
export { evalScores } from './eval-metrics.js';
export type { EvalScores } from './eval-metrics.js';
export { ensureDataset, prepareRun, runModalityLists, withRunId } from './run-setup.js';
export type { PreparedRun, PrepareOptions } from './run-setup.js';
export { lrSchedule } from './optimizers.js';
export { RESUME_SAFE_KEYS, applyChanges, checkResumeChanges, diffGivenConfig, formatChange } from './config-changes.js';
export type { ConfigChange } from './config-changes.js';
export { applyResumeChanges, planResumeChanges, recordResumeChanges } from './resume-changes.js';
export type { ResumeChangesOptions, ResumePlan } from './resume-changes.js';
export { train } from './trainer.js';
export type { Log, TrainOptions, TrainResult } from './trainer.js';

// Public surface of @atomizer/model. Only what is listed here may be imported
// by other packages. Add exports in the block of your module.

// config
export { MODEL_PRESETS, ModelConfigSchema, modelConfig } from './config.js';
export type { ModelConfig, ModelConfigInput, PresetName } from './config.js';

// param-table, tensor-table (flat parameter array <-> named tensors)
export { ParamTable, defaultDecayFilter } from './param-table.js';
export type { ParamEntry, ParamRange, ParamSpec } from './param-table.js';
export { DTYPE_BYTES, TENSOR_DTYPES, checkTensor, numel } from './tensor-table.js';
export type { HostTensor, TensorDType, TensorData, TensorDataByDType, TensorTable } from './tensor-table.js';

// network (backend, input stage, layers, parameters, init, training primitives)
export { BACKEND_CHOICES, selectBackend } from './backend.js';
export type { BackendChoice, BackendInfo, BackendLogger, BackendOptions } from './backend.js';
export { channelKindIndex, fourierFeaturesOp, inputStage, spectralFeaturesOp } from './input-stage.js';
export { matMul } from './matmul.js';
export { linear } from './linear.js';
export { layerNorm } from './layer-norm.js';
export type { LayerNormParams } from './layer-norm.js';
export { MASKED_SCORE, attention, keyBias } from './attention.js';
export type { AttentionParams } from './attention.js';
export { geglu, gelu } from './geglu.js';
export type { GegluParams } from './geglu.js';
export { attentionPool } from './attention-pool.js';
export type { AttentionPoolParams } from './attention-pool.js';
export { atomizerParamSpecs, atomizerParamTable, distinctLayers, layerParamIndex, paramCount, tokenDim } from './model-params.js';
export { initKind, initParams } from './init.js';
export { atomizerForward, dropAtoms, paramTensors } from './atomizer-model.js';
export type { ForwardOptions, ParamTensors } from './atomizer-model.js';
export { apply, gradients, localSteps, paramTableOf, predict, sliceBatch } from './training.js';
export type { FlatOptimizer, GradientOptions, GradientResult, LabelledBatch } from './training.js';

// training utilities: losses, metrics, optimizers, schedule, gradients, checkpoints
export { bceWithLogits, classificationLoss, labelsToTargetArray, labelsToTargets, softmaxCrossEntropy } from './losses.js';
export type { Task } from './losses.js';
export {
  argmaxRows,
  averagePrecision,
  classificationReport,
  confusionMatrix,
  macroF1,
  macroF1FromConfusion,
  macroMeanAveragePrecision,
  meanPerClassAccuracy,
  microMeanAveragePrecision,
  multiLabelMacroF1,
  overallAccuracy,
  splitRows,
} from './metrics.js';
export type { LabelSets, MultiLabelReport, PerClassMetric, ScoreRows, SingleLabelReport } from './metrics.js';
export { ADAM_STATE_NAMES, Adam, applyAdamRange } from './optimizer.js';
export type { AdamOptions, AdamState, AdamStep } from './optimizer.js';
export { OUTER_STATE_NAMES, OuterOptimizer, outerStep } from './outer-optimizer.js';
export type { OuterKind, OuterOptions } from './outer-optimizer.js';
export { cosineSchedule } from './schedule.js';
export type { CosineScheduleOptions, LrSchedule } from './schedule.js';
export { GradientAccumulator, accumulateGradients } from './gradient-accumulator.js';
export type { AccumulatedGradient, GradientPart } from './gradient-accumulator.js';
export { clipByGlobalNorm, globalNorm } from './clip-grad-norm.js';
export type { ClipResult } from './clip-grad-norm.js';
export { bfloat16BitsToFloat32, float16BitsToFloat32, float32Bits, float32ToBFloat16Bits, float32ToFloat16Bits } from './half-float.js';
export { decodeSafetensors, encodeSafetensors } from './safetensors.js';
export type { EncodeOptions, SafetensorsContents } from './safetensors.js';
export { CHECKPOINT_FORMAT, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export { TORCH_EXPORT_FORMAT, TORCH_MODULE_PATH, torchName, torchStateDict } from './torch-state-dict.js';
export type { Checkpoint, LoadedCheckpoint, SaveCheckpointOptions } from './checkpoint.js';

// speed: analytic FLOP count (throughput / fraction of peak), attention with the atoms on the rows
export { forwardFlops, trainingStepFlops } from './flops.js';
export { WASM_HEAP_BUDGET_BYTES, WASM_HEAP_LIMIT_BYTES, planStepMemory, stepHeapBytes } from './memory-plan.js';
export type { HeapOptions, MemoryPlan } from './memory-plan.js';
export type { FlopBreakdown } from './flops.js';
export { attentionCoreRows, attentionRows } from './attention-rows.js';

// speed, training step on the CPU backends: host-encoded tokens, fused GEGLU gate, shared attention checks
export { INPUT_ENCODINGS, hostInputStage, inputTokens, resolveInputEncoding } from './host-input-stage.js';
export type { InputEncoding } from './host-input-stage.js';
export { gegluGate, nativeGegluActive } from './geglu.js';
export { checkAttentionInputs } from './attention.js';
export { checkAtomBatch } from './input-stage.js';

// fixed-slot baseline (issue 5): a plain MLP over one slot per training band x pixel; missing bands 0, new bands in their spectral neighbour's slot
export {
  evaluateFixedSlotBaseline,
  fillSlots,
  fixedSlotInputs,
  fixedSlotLayout,
  predictFixedSlot,
  slotPlacement,
  trainFixedSlotBaseline,
} from './baseline/fixed-slot.js';
export type {
  FixedSlot,
  FixedSlotEvaluation,
  FixedSlotLayout,
  FixedSlotModel,
  FixedSlotTrainOptions,
  SlotNormalisation,
  SlotPlacement,
} from './baseline/fixed-slot.js';

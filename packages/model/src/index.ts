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

// Public surface of @atomizer/model. Only what is listed here may be imported
// by other packages. Add exports in the block of your module.

// config
export { MODEL_PRESETS, ModelConfigSchema, modelConfig } from './config.js';
export type { ModelConfig, ModelConfigInput, PresetName } from './config.js';

import { EncodingConfigSchema } from '@atomizer/tokenizer';
import { z } from 'zod';

// Every hyperparameter of the Atomizer network (docs/model.md section 3) in one
// typed config. Presets below; any field can be overridden.

export const ModelConfigSchema = z.object({
  /** L: number of learned latents. */
  numLatents: z.number().int().min(1),
  /** d: latent width. */
  latentDim: z.number().int().min(1),
  /** Number of (cross-attention + FF + self blocks) layers. */
  depth: z.number().int().min(1),
  crossHeads: z.number().int().min(1),
  crossHeadDim: z.number().int().min(1),
  selfHeads: z.number().int().min(1),
  selfHeadDim: z.number().int().min(1),
  /** Self-attention + FF blocks after each cross-attention. */
  selfPerCross: z.number().int().min(0),
  /** GEGLU hidden width multiplier: d -> 2*mult*d -> gate -> mult*d -> d (docs/model.md: 8d / 4d, so 4). */
  ffMult: z.number().int().min(1),
  /** Share the weights of layers 2..depth (Perceiver). */
  weightTying: z.boolean(),
  /** Re-draw the atom subset before each cross-attention (training only). */
  tokenDropout: z.boolean(),
  /** With tokenDropout: fraction of each sample's atoms kept in each cross-attention (our choice, docs/model.md section 3). */
  tokenDropoutKeep: z.number().gt(0).max(1).default(0.5),
  /** Number of output classes. */
  numClasses: z.number().int().min(1),
  /** 'multi': sigmoid + BCE (BigEarthNet); 'single': softmax cross-entropy. */
  task: z.enum(['multi', 'single']),
  /** Learned vectors for non-spectral channel kinds (SAR polarisations ...), in place of the spectral encoding. */
  channelKinds: z.array(z.string()),
  /**
   * Std of the truncated-normal initialisation of latents and weights, before the cut at
   * +-2 std (TensorFlow's truncated_normal semantics, not rescaled: the drawn values' std
   * is 0.88 x this; PyTorch's trunc_normal_(std=0.02) cuts at +-2 absolute, i.e. hardly at all).
   */
  initStd: z.number().positive(),
  /** The fixed input encodings (tokenizer's EncodingConfig). */
  encoding: EncodingConfigSchema,
});

export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

const common = {
  selfPerCross: 1,
  ffMult: 4,
  weightTying: false,
  tokenDropout: false,
  numClasses: 19,
  task: 'multi' as const,
  channelKinds: ['sar-vv', 'sar-vh', 'sar-hh', 'sar-hv'],
  initStd: 0.02,
  encoding: {},
};

/** Named presets. `paper`: docs/model.md section 3 paper scale; `small`: CPU-sized for tests and the demo. */
export const MODEL_PRESETS = {
  paper: {
    ...common,
    numLatents: 512,
    latentDim: 512,
    depth: 8,
    crossHeads: 1,
    crossHeadDim: 64,
    selfHeads: 8,
    selfHeadDim: 64,
  },
  small: {
    ...common,
    numLatents: 32,
    latentDim: 64,
    depth: 2,
    crossHeads: 1,
    crossHeadDim: 32,
    selfHeads: 4,
    selfHeadDim: 16,
  },
  /** Smallest useful network, for finite-difference gradient checks. */
  tiny: {
    ...common,
    numLatents: 4,
    latentDim: 8,
    depth: 2,
    crossHeads: 1,
    crossHeadDim: 4,
    selfHeads: 2,
    selfHeadDim: 4,
    ffMult: 2,
    numClasses: 3,
  },
} satisfies Record<string, ModelConfigInput>;

export type PresetName = keyof typeof MODEL_PRESETS;

/** A preset with overrides applied, validated; errors name the field. */
export function modelConfig(preset: PresetName | string, overrides: Partial<ModelConfigInput> = {}): ModelConfig {
  const base = (MODEL_PRESETS as Record<string, ModelConfigInput>)[preset];
  if (base === undefined) {
    throw new Error(`Unknown model preset '${preset}'; expected one of: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  }
  const parsed = ModelConfigSchema.safeParse({ ...base, ...overrides });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid model config field '${issue?.path.join('.') ?? '?'}': ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

import { tokenLayout } from '@atomizer/tokenizer';
import type { ModelConfig } from './config.js';
import { paramCount } from './model-params.js';

// How a training step fits the wasm backend's heap (issue 16). tfjs-wasm's heap is
// 32-bit: it cannot grow past 4 GiB, and a step that needs more dies with
// `Aborted()` and no message. What a step needs, measured on the heap
// (docs/benchmarks.md, "Paper preset on CPU: memory"):
//
//   fixed       about 12 bytes per parameter: the weights as tensors, their
//               gradients, and the flat copies around them;
//   per sample  each layer's intermediates, kept by the gradient tape for the
//               backward pass: GEGLU feed-forwards (about 106 bytes per latent x
//               width x feed-forward block x ffMult), self-attention scores (about
//               22 bytes per latent pair x head), cross-attention scores (about 24
//               bytes per latent x atom x head) and the tokens.
//
// With every layer recomputed in the backward pass (recomputed.ts, same bits) a
// sample holds one layer's intermediates plus each layer's input instead of all
// layers' intermediates. The plan takes, in order: the plain step; the same step
// with recomputation; recomputation on the largest micro-batch that fits (other
// bits, the same for every worker: the choice depends only on the config, the
// slice and the atom count). A config whose single sample does not fit is an
// error naming the limit.

/** The wasm heap's hard limit (32-bit addresses, 64 KiB pages): 4 GiB - 64 KiB. */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30 - 2 ** 16;
/** What a plan may use of it: the estimate is an average fit, and the heap grows in steps. */
export const WASM_HEAP_BUDGET_BYTES = Math.floor(0.85 * WASM_HEAP_LIMIT_BYTES);

const FIXED_BYTES_PER_PARAM = 12;
const FF_BYTES = 106;
const SELF_SCORE_BYTES = 22;
const CROSS_SCORE_BYTES = 24;
const TOKEN_BYTES = 16;

export interface MemoryPlan {
  /** Recompute each layer in the backward pass. */
  checkpointLayers: boolean;
  /** Samples per forward/backward pass (the whole batch when it fits). */
  microBatch: number;
  /** Estimated peak heap of the step as planned, bytes. */
  bytes: number;
  /** Estimated peak heap of the plain step (whole batch, no recomputation), bytes. */
  plainBytes: number;
  /** The budget the plan was made for, bytes. */
  budgetBytes: number;
}

/** Bytes one sample keeps for one layer's backward pass, at `atoms` atoms. */
function layerSampleBytes(cfg: ModelConfig, atoms: number): number {
  const L = cfg.numLatents;
  const d = cfg.latentDim;
  const ffBlocks = 1 + cfg.selfPerCross;
  const ff = FF_BYTES * L * d * ffBlocks * cfg.ffMult;
  const self = SELF_SCORE_BYTES * L * L * cfg.selfHeads * cfg.selfPerCross;
  const cross = CROSS_SCORE_BYTES * L * atoms * cfg.crossHeads;
  return ff + self + cross;
}

/** Estimated peak heap of one training step over `samples` samples of at most `atoms` atoms, bytes. */
export function stepHeapBytes(cfg: ModelConfig, samples: number, atoms: number, checkpointLayers: boolean): number {
  const fixed = FIXED_BYTES_PER_PARAM * paramCount(cfg);
  const tokens = TOKEN_BYTES * atoms * tokenLayout(cfg.encoding).dim;
  const layer = layerSampleBytes(cfg, atoms);
  // Recomputed: one layer's intermediates at a time, plus every layer's input (latents) kept.
  const perSample = checkpointLayers ? layer + cfg.depth * 4 * cfg.numLatents * cfg.latentDim * 2 : cfg.depth * layer;
  return fixed + samples * (perSample + tokens);
}

/**
 * The plan for a step of `samples` samples at `atoms` atoms within `budgetBytes`. With
 * `microBatch` given (the run's train.microBatch), only recomputation is decided.
 */
export function planStepMemory(
  cfg: ModelConfig,
  samples: number,
  atoms: number,
  opts: { microBatch?: number; budgetBytes?: number } = {},
): MemoryPlan {
  const budgetBytes = opts.budgetBytes ?? WASM_HEAP_BUDGET_BYTES;
  const plainBytes = stepHeapBytes(cfg, samples, atoms, false);
  const fits = (m: number, ckpt: boolean) => stepHeapBytes(cfg, m, atoms, ckpt) <= budgetBytes;
  const given = opts.microBatch !== undefined && opts.microBatch > 0 ? Math.min(opts.microBatch, samples) : undefined;
  const plan = (microBatch: number, checkpointLayers: boolean): MemoryPlan => ({
    checkpointLayers,
    microBatch,
    bytes: stepHeapBytes(cfg, microBatch, atoms, checkpointLayers),
    plainBytes,
    budgetBytes,
  });
  const want = given ?? samples;
  if (fits(want, false)) return plan(want, false);
  if (fits(want, true)) return plan(want, true);
  if (given === undefined) {
    // The largest micro-batch that fits, then evened out over the passes it takes (16 samples
    // that fit 9 at a time run as 8 + 8, not 9 + 7).
    for (let m = samples - 1; m >= 1; m--) if (fits(m, true)) return plan(Math.ceil(samples / Math.ceil(samples / m)), true);
  }
  const one = stepHeapBytes(cfg, given ?? 1, atoms, true);
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  throw new Error(
    `a training step of ${given ?? 1} sample(s) at ${atoms} atoms needs about ${gib(one)} of heap even with every layer recomputed, ` +
      `over the ${gib(budgetBytes)} a CPU (wasm) worker can use of its 4 GiB heap; ` +
      (given !== undefined ? 'lower train.microBatch, ' : '') +
      'lower train.maxAtoms, or use a smaller model (numLatents, latentDim, ffMult)',
  );
}

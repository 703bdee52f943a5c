import { SeededRng } from '@atomizer/tokenizer';
import type { ModelConfig } from './config.js';
import { atomizerParamTable } from './model-params.js';
import type { ParamEntry } from './param-table.js';

// Deterministic initialisation from a seed, drawn on the host with the
// project's one RNG (tokenizer's SeededRng), never tf.random: the same seed
// gives bit-identical weights on every backend and in every process.

/** How a parameter is initialised, from its name (see model-params.ts). */
export function initKind(entry: ParamEntry): 'ones' | 'zeros' | 'normal' {
  if (entry.name.endsWith('.gamma')) return 'ones';
  if (entry.name.endsWith('.beta') || entry.shape.length === 1) return 'zeros';
  return 'normal';
}

/**
 * The flat initial weights: LayerNorm gains 1, biases and shifts 0, every other
 * tensor (latents, projections, pooling query, channel embeddings) a truncated
 * normal (within 2 std) of std cfg.initStd (docs/model.md section 3). Each
 * parameter draws from its own stream derived from (seed, parameter index), so
 * a parameter's values do not depend on the sizes of the ones before it.
 */
export function initParams(cfg: ModelConfig, seed: number): Float32Array {
  const table = atomizerParamTable(cfg);
  const flat = table.zeros();
  for (const [index, entry] of table.entries.entries()) {
    const view = flat.subarray(entry.offset, entry.offset + entry.size);
    const kind = initKind(entry);
    if (kind === 'ones') view.fill(1);
    else if (kind === 'normal') {
      const rng = SeededRng.derive(seed, index);
      for (let i = 0; i < view.length; i++) view[i] = rng.truncatedNormal(2) * cfg.initStd;
    }
  }
  return flat;
}

import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { TensorTable } from './tensor-table.js';

// A checkpoint is one safetensors file (docs/design.md: runs/<run>/checkpoints/<round>/):
//   model.<param name>      the weights (F32, or F16/BF16 as a smaller export)
//   optimizer.<state name>  the optimizer state (Adam.toTensors(), OuterOptimizer.toTensors())
//   __metadata__            the caller's string metadata, plus 'atomizer.format'
// Python reads it with `safetensors.numpy.load_file` / `safetensors.torch.load_file`.
// With F32 weights a save/load round trip is bit-exact, so training resumes exactly.

export const CHECKPOINT_FORMAT = 'atomizer-checkpoint/1';
const FORMAT_KEY = 'atomizer.format';
const WEIGHTS_PREFIX = 'model.';
const OPTIMIZER_PREFIX = 'optimizer.';

export interface Checkpoint {
  weights: TensorTable;
  optimizerState?: TensorTable;
  /** String metadata (run id, round, config JSON, RNG state ...). */
  meta?: Record<string, string>;
}

export interface LoadedCheckpoint {
  weights: TensorTable;
  optimizerState: TensorTable;
  meta: Record<string, string>;
}

export interface SaveCheckpointOptions {
  /** Precision of the weights in the file. Default F32 (exact); optimizer state is always stored as given. */
  weightsDType?: 'F32' | 'F16' | 'BF16';
}

export function saveCheckpoint(cp: Checkpoint, opts: SaveCheckpointOptions = {}): Uint8Array {
  const meta = cp.meta ?? {};
  if (FORMAT_KEY in meta) throw new Error(`Checkpoint meta key '${FORMAT_KEY}' is reserved`);
  const table: TensorTable = {};
  for (const [name, t] of Object.entries(cp.weights)) {
    const dtype = opts.weightsDType !== undefined && t.dtype === 'F32' ? opts.weightsDType : t.dtype;
    table[WEIGHTS_PREFIX + name] = { ...t, dtype } as typeof t;
  }
  for (const [name, t] of Object.entries(cp.optimizerState ?? {})) table[OPTIMIZER_PREFIX + name] = t;
  return encodeSafetensors(table, { ...meta, [FORMAT_KEY]: CHECKPOINT_FORMAT });
}

/** Reads a checkpoint written by saveCheckpoint; `source` names the file in errors. */
export function loadCheckpoint(bytes: Uint8Array, source = 'checkpoint'): LoadedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const format = metadata[FORMAT_KEY];
  if (format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${source}: not an Atomizer checkpoint (metadata '${FORMAT_KEY}' is ${JSON.stringify(format)}, expected '${CHECKPOINT_FORMAT}')`,
    );
  }
  const meta = { ...metadata };
  delete meta[FORMAT_KEY];
  const weights: TensorTable = {};
  const optimizerState: TensorTable = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(WEIGHTS_PREFIX)) weights[name.slice(WEIGHTS_PREFIX.length)] = t;
    else if (name.startsWith(OPTIMIZER_PREFIX)) optimizerState[name.slice(OPTIMIZER_PREFIX.length)] = t;
    else throw new Error(`${source}: tensor '${name}' is neither '${WEIGHTS_PREFIX}*' nor '${OPTIMIZER_PREFIX}*'`);
  }
  return { weights, optimizerState, meta };
}

import * as tf from './tfjs.js';
import { deriveSeed, type AtomBatch } from '@atomizer/tokenizer';
import { atomizerForward, paramTensors, type ParamTensors } from './atomizer-model.js';
import type { InputEncoding } from './host-input-stage.js';
import { clipByGlobalNorm, globalNorm } from './clip-grad-norm.js';
import type { ModelConfig } from './config.js';
import { GradientAccumulator, type GradientPart } from './gradient-accumulator.js';
import { classificationLoss, labelsToTargets } from './losses.js';
import { atomizerParamTable } from './model-params.js';
import type { ParamTable } from './param-table.js';
import { readWithSquares } from './tensor-view.js';

// Training primitives on flat weights (docs/design.md "Rounds"): a worker receives
// the round's flat Float32Array, computes the gradient of its slice (or H local
// steps) and returns a flat array. All tensors are created and freed here.

export interface GradientOptions {
  /** Training mode (token dropout); default true. */
  training?: boolean;
  /** Seed of the token-dropout draws; micro-batch k uses deriveSeed(seed, k). */
  seed?: number;
  /** Samples per forward/backward pass; the batch is split into micro-batches of this size. Default: all at once. */
  microBatch?: number;
  /** Clip the accumulated gradient to this global L2 norm (none when undefined). */
  clipNorm?: number;
  /** Where the fixed token encodings are computed (host-input-stage.ts); default 'auto'. */
  inputEncoding?: InputEncoding;
  /**
   * Recompute the first n layers in the backward pass (recomputed.ts): same bits, a fraction
   * of their activation memory, one more forward of each. Default 0 (memory-plan.ts picks n).
   */
  recomputedLayers?: number;
  /**
   * Where to write the gradient (one float per parameter); default a new array. The result's
   * `grads` is then this array. A loop of steps (localSteps) reuses one: a fresh array of the
   * paper preset's 240 MB each step cost ~0.1 s of page faults and garbage collection.
   */
  out?: Float32Array;
}

export interface GradientResult {
  /** d(mean loss over the batch's samples)/d(weights), flat like the weights. */
  grads: Float32Array;
  /** Mean loss over the samples. */
  loss: number;
  /** Number of samples the gradient averages over (weight of this result when averaging). */
  samples: number;
  /** Global L2 norm of the gradient before clipping. */
  gradNorm: number;
}

const tables = new WeakMap<ModelConfig, ParamTable>();

/** The parameter table of a config, built once per config object. */
export function paramTableOf(cfg: ModelConfig): ParamTable {
  let t = tables.get(cfg);
  if (t === undefined) {
    t = atomizerParamTable(cfg);
    tables.set(cfg, t);
  }
  return t;
}

/** Samples [start, end) of a batch, as views (no copy). */
export function sliceBatch(batch: AtomBatch, start: number, end: number): AtomBatch {
  const N = batch.maxAtoms;
  return {
    batchSize: end - start,
    maxAtoms: N,
    value: batch.value.subarray(start * N, end * N),
    band: batch.band.subarray(start * N, end * N),
    x: batch.x.subarray(start * N, end * N),
    y: batch.y.subarray(start * N, end * N),
    mask: batch.mask.subarray(start * N, end * N),
    doy: batch.doy.subarray(start, end),
    bands: batch.bands,
  };
}

/** Mean loss and mean gradient of one micro-batch. */
function microBatchGradient(
  table: ParamTable,
  params: ParamTensors,
  batch: AtomBatch,
  labels: readonly (readonly number[])[],
  cfg: ModelConfig,
  opts: { training: boolean; seed: number; inputEncoding?: InputEncoding; recomputedLayers?: number },
  flat: Float32Array,
  squares: boolean,
): GradientPart & { sumSquares?: number } {
  const xs = table.entries.map((e) => params[e.name]!);
  const targets = labelsToTargets(labels, cfg.numClasses, cfg.task);
  try {
    const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => {
      const named: ParamTensors = {};
      table.entries.forEach((e, i) => (named[e.name] = args[i]!));
      const logits = atomizerForward(named, batch, cfg, opts);
      return classificationLoss(cfg.task, logits, targets);
    })(xs);
    try {
      // The entries fill the flat array in order, so the sum of squares read on the way is globalNorm's.
      const sumSquares = readWithSquares(
        grads,
        table.entries.map((e) => e.offset),
        flat,
        squares,
      );
      return { grads: flat, samples: batch.batchSize, loss: value.dataSync()[0] as number, sumSquares };
    } finally {
      value.dispose();
      for (const g of grads) g.dispose();
    }
  } finally {
    targets.dispose();
  }
}

/**
 * Gradient of the mean loss (docs/model.md section 4: BCE for 'multi', softmax
 * cross-entropy for 'single') over a batch, at `weights`. With `microBatch`,
 * micro-batch gradients are summed weighted by their sample counts (equal to
 * one pass over the whole batch, at bounded memory). Then optional clipping by
 * global norm.
 */
export function gradients(
  weights: Float32Array,
  batch: AtomBatch,
  labels: readonly (readonly number[])[],
  cfg: ModelConfig,
  opts: GradientOptions = {},
): GradientResult {
  const table = paramTableOf(cfg);
  const B = batch.batchSize;
  if (labels.length !== B) throw new Error(`gradients: ${labels.length} label lists for a batch of ${B} samples`);
  if (B < 1) throw new Error('gradients: empty batch');
  const micro = opts.microBatch ?? B;
  if (!Number.isInteger(micro) || micro < 1) throw new Error(`gradients: microBatch must be a positive integer, got ${micro}`);
  const training = opts.training ?? true;
  const seed = opts.seed ?? 0;
  if (opts.out !== undefined && opts.out.length !== table.size) {
    throw new Error(`gradients: out has ${opts.out.length} elements, the model has ${table.size} parameters`);
  }
  const params = paramTensors(table, weights);
  let grads: Float32Array;
  let loss: number;
  let norm: number | undefined; // globalNorm(grads), when the read-back took it
  try {
    if (micro >= B) {
      // One pass: its mean gradient as is (the float64 accumulator would return the same
      // bits, (w * g) / w, at the cost of two passes over every parameter).
      const part = microBatchGradient(
        table,
        params,
        batch,
        labels,
        cfg,
        {
          training,
          seed: deriveSeed(seed, 0),
          inputEncoding: opts.inputEncoding,
          recomputedLayers: opts.recomputedLayers,
        },
        opts.out ?? new Float32Array(table.size),
        true,
      );
      grads = part.grads;
      loss = part.loss ?? Number.NaN;
      if (part.sumSquares !== undefined) norm = Math.sqrt(part.sumSquares);
    } else {
      const acc = new GradientAccumulator(table.size);
      // One buffer for every pass's gradient (the accumulator copies it into its float64 sum).
      const scratch = new Float32Array(table.size);
      for (let start = 0, k = 0; start < B; start += micro, k++) {
        const end = Math.min(B, start + micro);
        acc.add(
          microBatchGradient(
            table,
            params,
            sliceBatch(batch, start, end),
            labels.slice(start, end),
            cfg,
            {
              training,
              seed: deriveSeed(seed, k),
              inputEncoding: opts.inputEncoding,
              recomputedLayers: opts.recomputedLayers,
            },
            scratch,
            false,
          ),
        );
      }
      ({ grads, loss } = acc.result(opts.out));
    }
  } finally {
    for (const t of Object.values(params)) t.dispose();
  }
  const gradNorm = opts.clipNorm !== undefined ? clipByGlobalNorm(grads, opts.clipNorm, norm).norm : (norm ?? globalNorm(grads));
  return { grads, loss, samples: B, gradNorm };
}

/** Logits [B, C] as a host array (row-major), evaluation mode (no token dropout). */
export function predict(weights: Float32Array, batch: AtomBatch, cfg: ModelConfig, inputEncoding: InputEncoding = 'auto'): Float32Array {
  const table = paramTableOf(cfg);
  const params = paramTensors(table, weights);
  try {
    return tf.tidy(() => atomizerForward(params, batch, cfg, { training: false, inputEncoding })).dataSync() as Float32Array;
  } finally {
    for (const t of Object.values(params)) t.dispose();
  }
}

/** An optimizer updating flat weights in place from a flat gradient (optimizer.ts's Adam fits). */
export interface FlatOptimizer {
  update(params: Float32Array, grads: Float32Array, lr: number): void;
}

export interface LabelledBatch {
  batch: AtomBatch;
  labels: readonly (readonly number[])[];
}

/**
 * Local SGD / FedAvg / DiLoCo inner loop: H optimizer steps from `weights` over
 * `batches` (cycled) at learning rate `lr` (or lr(h) for local step h), returning the delta (final - initial weights) and the
 * mean loss. `weights` is not modified.
 */
export function localSteps(
  weights: Float32Array,
  batches: readonly LabelledBatch[],
  H: number,
  optimizer: FlatOptimizer,
  lr: number | ((step: number) => number),
  cfg: ModelConfig,
  opts: GradientOptions = {},
): { delta: Float32Array; loss: number; samples: number } {
  if (!Number.isInteger(H) || H < 1) throw new Error(`localSteps: H must be a positive integer, got ${H}`);
  if (batches.length === 0) throw new Error('localSteps: no batches');
  const w = Float32Array.from(weights);
  const out = new Float32Array(w.length); // one gradient buffer for the H steps
  let loss = 0;
  let samples = 0;
  for (let h = 0; h < H; h++) {
    const { batch, labels } = batches[h % batches.length]!;
    const g = gradients(w, batch, labels, cfg, { ...opts, seed: deriveSeed(opts.seed ?? 0, h), out });
    optimizer.update(w, g.grads, typeof lr === 'number' ? lr : lr(h));
    loss += g.loss / H;
    samples += g.samples;
  }
  const delta = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) delta[i] = (w[i] as number) - (weights[i] as number);
  return { delta, loss, samples };
}

/** weights + scale * update, as a new array (the outer step of a round). */
export function apply(weights: Float32Array, update: Float32Array, scale = 1): Float32Array {
  if (update.length !== weights.length) {
    throw new Error(`apply: update has ${update.length} values, weights have ${weights.length}`);
  }
  const out = new Float32Array(weights.length);
  for (let i = 0; i < out.length; i++) out[i] = (weights[i] as number) + scale * (update[i] as number);
  return out;
}

import { tokenLayout } from '@atomizer/tokenizer';
import type { ModelConfig } from './config.js';
import { forwardFlops } from './flops.js';
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
// With the fused native GEGLU gate (@atomizer/wasm-native's AtomizerGegluGate, geglu.ts)
// a feed-forward keeps x W1 and Phi(g) instead of the unfused chain's x W1, a, g, Phi(g)
// and gelu(g), and the step's heap shrinks by a third (paper 1 x 256: 2,572 -> 1,688 MiB):
// refitted, about 56 bytes per latent x width x block x ffMult and 9 per parameter. The
// fit a worker uses follows its kernels (`fusedGate`); it decides the recomputed layers
// (no effect on the bits) and, past that, the micro-batch, which a worker without the
// addon (whose bits differ anyway) may choose smaller.
//
// With every layer recomputed in the backward pass (recomputed.ts, same bits) a
// sample holds one layer's intermediates plus each layer's input instead of all
// layers' intermediates. Recomputation costs one more forward of each recomputed
// layer, so only as many layers as the budget needs are recomputed: the first r
// of the depth. The last depth - r layers keep their intermediates; their backward
// runs first and frees them before the first recomputation, so the peak is the
// larger of the kept layers' intermediates and one recomputed layer's, plus the
// inputs the recomputed layers keep. (So the last layer is never worth recomputing:
// the backward would rebuild its intermediates right after the forward freed them.)
// The plan takes the plain step when it fits. Otherwise it weighs the two ways to fit:
// the whole batch with the fewest layers recomputed that fit, or micro-batches (each
// with the fewest recomputed layers that fit it, the passes evened out). Each recomputed
// layer costs one more forward of it per sample; each extra pass costs the host work of
// a gradient (read-back and float64 accumulation over every parameter). The cheaper by
// that estimate wins (stepSeconds; ties keep the larger micro-batch). Micro-batches give
// other bits than the whole batch, the same for every worker: the choice depends only
// on the config, the slice, the atom count and the kernels. (Paper 8 x 2048, fused gate:
// the whole batch with 7 of 8 layers recomputed 24.7 s CPU per step, micro-batches of 2 with
// none 20.7 s.) A config whose single sample does not fit is an error naming the limit.

/** The wasm heap's hard limit (32-bit addresses, 64 KiB pages): 4 GiB - 64 KiB. */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30 - 2 ** 16;
/** What a plan may use of it: the estimate is an average fit, and the heap grows in steps. */
export const WASM_HEAP_BUDGET_BYTES = Math.floor(0.85 * WASM_HEAP_LIMIT_BYTES);

/** Bytes per unit of each term of the estimate, fitted to measured heaps (memory-plan.test.ts). */
interface HeapFit {
  perParam: number;
  /** per latent x width x feed-forward block x ffMult */
  ff: number;
  /** per latent pair x self-attention head */
  selfScore: number;
  /** per latent x atom x cross-attention head */
  crossScore: number;
}
/** The tfjs GEGLU chain (stock or native elementwise kernels), measured 2026-12-04. */
const CHAIN_FIT: HeapFit = { perParam: 12, ff: 106, selfScore: 22, crossScore: 24 };
/** The fused native GEGLU gate, measured 2026-12-05. */
const FUSED_FIT: HeapFit = { perParam: 9, ff: 56, selfScore: 22, crossScore: 24 };
const TOKEN_BYTES = 16;

// The time estimate that weighs recomputation against micro-batches (only the ratio of
// the two matters): products at a sustained 80 GFLOP/s (OpenBLAS on one core here,
// docs/benchmarks.md), and per pass about 16 ns per parameter: the gradient's read-back and
// float64 accumulation, and the products of a smaller pass running slower (measured on the
// paper preset at 2 x 1024, plain: one pass 5.24 s CPU, two passes of one sample 6.25 s).
const SUSTAINED_FLOP_PER_SECOND = 80e9;
const PASS_SECONDS_PER_PARAM = 16e-9;

export interface HeapOptions {
  /** The feed-forwards run the fused native GEGLU gate (geglu.ts's nativeGegluActive()): the smaller fit. Default false. */
  fusedGate?: boolean;
}

export interface MemoryPlan {
  /** Layers recomputed in the backward pass: the first `recomputedLayers` of the depth (0: none, the plain step). */
  recomputedLayers: number;
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
function layerSampleBytes(cfg: ModelConfig, atoms: number, fit: HeapFit): number {
  const L = cfg.numLatents;
  const d = cfg.latentDim;
  const ffBlocks = 1 + cfg.selfPerCross;
  const ff = fit.ff * L * d * ffBlocks * cfg.ffMult;
  const self = fit.selfScore * L * L * cfg.selfHeads * cfg.selfPerCross;
  const cross = fit.crossScore * L * atoms * cfg.crossHeads;
  return ff + self + cross;
}

/**
 * Estimated peak heap of one training step over `samples` samples of at most `atoms` atoms
 * with the first `recomputedLayers` layers recomputed (0 to depth), bytes.
 */
export function stepHeapBytes(cfg: ModelConfig, samples: number, atoms: number, recomputedLayers: number, opts: HeapOptions = {}): number {
  if (!Number.isInteger(recomputedLayers) || recomputedLayers < 0 || recomputedLayers > cfg.depth) {
    throw new Error(`stepHeapBytes: recomputedLayers must be an integer from 0 to the depth ${cfg.depth}, got ${recomputedLayers}`);
  }
  const fit = opts.fusedGate === true ? FUSED_FIT : CHAIN_FIT;
  const fixed = fit.perParam * paramCount(cfg);
  const tokens = TOKEN_BYTES * atoms * tokenLayout(cfg.encoding).dim;
  const layer = layerSampleBytes(cfg, atoms, fit);
  const kept = cfg.depth - recomputedLayers;
  // The kept layers' intermediates (or, once they are freed, one recomputed layer's), plus
  // the input (latents) of every recomputed layer.
  const held = recomputedLayers === 0 ? kept : Math.max(kept, 1);
  const perSample = held * layer + recomputedLayers * 4 * cfg.numLatents * cfg.latentDim * 2;
  return fixed + samples * (perSample + tokens);
}

/**
 * Estimated seconds of a training step of `samples` samples at `atoms` atoms run as
 * micro-batches of `microBatch` with the first `recomputedLayers` layers recomputed: the
 * products (3 forwards, plus one forward of each recomputed layer) and the host work of
 * each pass. Only for comparing plans.
 */
export function stepSeconds(cfg: ModelConfig, samples: number, atoms: number, microBatch: number, recomputedLayers: number): number {
  const f = forwardFlops(cfg, 1, atoms);
  const layer = (f.cross + f.self + f.ff) / cfg.depth;
  const flops = samples * (3 * f.forward + recomputedLayers * layer);
  const passes = Math.ceil(samples / microBatch);
  return flops / SUSTAINED_FLOP_PER_SECOND + passes * paramCount(cfg) * PASS_SECONDS_PER_PARAM;
}

/**
 * The plan for a step of `samples` samples at `atoms` atoms within `budgetBytes`. With
 * `microBatch` given (the run's train.microBatch), only recomputation is decided.
 */
export function planStepMemory(
  cfg: ModelConfig,
  samples: number,
  atoms: number,
  opts: { microBatch?: number; budgetBytes?: number } & HeapOptions = {},
): MemoryPlan {
  const budgetBytes = opts.budgetBytes ?? WASM_HEAP_BUDGET_BYTES;
  // At most all layers but the last (see above): the same peak, one forward less.
  const most = Math.max(cfg.depth - 1, 0);
  const heap = { fusedGate: opts.fusedGate };
  const plainBytes = stepHeapBytes(cfg, samples, atoms, 0, heap);
  const fits = (m: number, recomputed: number) => stepHeapBytes(cfg, m, atoms, recomputed, heap) <= budgetBytes;
  const given = opts.microBatch !== undefined && opts.microBatch > 0 ? Math.min(opts.microBatch, samples) : undefined;
  /** The plan of a micro-batch with the fewest recomputed layers that fit (it must fit with `most`). */
  const plan = (microBatch: number): MemoryPlan => {
    let recomputedLayers = 0;
    while (recomputedLayers < most && !fits(microBatch, recomputedLayers)) recomputedLayers++;
    return { recomputedLayers, microBatch, bytes: stepHeapBytes(cfg, microBatch, atoms, recomputedLayers, heap), plainBytes, budgetBytes };
  };
  const want = given ?? samples;
  if (given !== undefined && fits(want, most)) return plan(want);
  if (given === undefined) {
    if (fits(samples, 0)) return plan(samples);
    // Every micro-batch size that fits, evened out over the passes it takes (16 samples
    // that fit 9 at a time run as 8 + 8, not 9 + 7), the whole batch first; the cheapest wins.
    let best: { plan: MemoryPlan; seconds: number } | undefined;
    for (let m = samples; m >= 1; m--) {
      if (!fits(m, most)) continue;
      const p = plan(Math.ceil(samples / Math.ceil(samples / m)));
      const seconds = stepSeconds(cfg, samples, atoms, p.microBatch, p.recomputedLayers);
      if (best === undefined || seconds < best.seconds) best = { plan: p, seconds };
    }
    if (best !== undefined) return best.plan;
  }
  const one = stepHeapBytes(cfg, given ?? 1, atoms, most, heap);
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  throw new Error(
    `a training step of ${given ?? 1} sample(s) at ${atoms} atoms needs about ${gib(one)} of heap even with every layer recomputed, ` +
      `over the ${gib(budgetBytes)} a CPU (wasm) worker can use of its 4 GiB heap; ` +
      (given !== undefined ? 'lower train.microBatch, ' : '') +
      'lower train.maxAtoms, or use a smaller model (numLatents, latentDim, ffMult)',
  );
}

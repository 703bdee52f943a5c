import { tokenLayout } from '@atomizer/tokenizer';
import type { ModelConfig } from './config.js';

// Analytic matmul FLOP count of the Atomizer network (docs/model.md section 3),
// for throughput figures (GFLOP/s, fraction of a core's peak). Only matrix
// products are counted, 2*m*k*n each; LayerNorm, softmax, GELU, adds and the
// optimizer are left out (they are O(elements), not O(elements * width)), so
// the figure is the usual "model FLOPs" and a lower bound of the work done.
// Padded atoms are counted: the products run over them too. The input stage's
// learned channel vectors (one-hot [N, kinds] x channel_embed, run only for
// batches holding SAR/elevation atoms) are left out: 2*N*kinds*K, under 1%.
//
// packages/model/bench/atomizer_torch.py mirrors trainingStepFlops() term by
// term; the benchmark checks both give the same number.

/** Matmul FLOPs of one forward pass, split by part (whole batch). */
export interface FlopBreakdown {
  /** Cross-attention: q from latents, k/v from the N tokens, scores and weighted sum over N, output. */
  cross: number;
  /** Self-attention blocks: q/k/v/output projections and L x L scores. */
  self: number;
  /** GEGLU feed-forwards (after each cross- and self-attention). */
  ff: number;
  /** Attention pooling (k, v projections, one query) and the linear head. */
  poolHead: number;
  /** Sum of the above. */
  forward: number;
}

/** Forward matmul FLOPs for `batch` samples of `atoms` tokens each. */
export function forwardFlops(cfg: ModelConfig, batch: number, atoms: number): FlopBreakdown {
  const L = cfg.numLatents;
  const d = cfg.latentDim;
  const T = tokenLayout(cfg.encoding).dim;
  const N = atoms;
  const ic = cfg.crossHeads * cfg.crossHeadDim;
  const is = cfg.selfHeads * cfg.selfHeadDim;
  const mult = cfg.ffMult;
  // Per sample and per layer; weight tying shares weights, not work, so every layer counts.
  const cross = 2 * L * d * ic + 2 * 2 * N * T * ic + 2 * 2 * L * N * ic + 2 * L * ic * d;
  const ff = 2 * L * d * (2 * mult * d) + 2 * L * (mult * d) * d;
  const self = 3 * 2 * L * d * is + 2 * 2 * L * L * is + 2 * L * is * d;
  const poolHead = 2 * 2 * L * d * d + 2 * 2 * L * d + 2 * d * cfg.numClasses;
  const perLayer = { cross, ff: ff * (1 + cfg.selfPerCross), self: self * cfg.selfPerCross };
  const out = {
    cross: batch * cfg.depth * perLayer.cross,
    self: batch * cfg.depth * perLayer.self,
    ff: batch * cfg.depth * perLayer.ff,
    poolHead: batch * poolHead,
  };
  return { ...out, forward: out.cross + out.self + out.ff + out.poolHead };
}

/**
 * Matmul FLOPs of one training step: 3 x forward. Each forward product
 * Y = X W has two backward products of the same size, dX = dY W^T and
 * dW = X^T dY (the tokens' dX is needed too: the token LayerNorm is learned).
 */
export function trainingStepFlops(cfg: ModelConfig, batch: number, atoms: number): number {
  return 3 * forwardFlops(cfg, batch, atoms).forward;
}

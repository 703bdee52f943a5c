// Clipping by global norm (as torch.nn.utils.clip_grad_norm_): the L2 norm of
// ALL gradients together, and when it exceeds maxNorm every gradient is scaled
// by maxNorm / norm, so the direction is kept. The sum of squares runs in
// float64 (60 M float32 squares summed in float32 would lose the small ones), in index
// order: in the addon when selectBackend loaded it (native-host.ts), with the same bits.

import { nativeSumSquares } from './native-host.js';

export interface ClipResult {
  /** Global L2 norm before clipping. */
  norm: number;
  /** Factor the gradients were multiplied by (1 when not clipped). */
  scale: number;
}

/** Global L2 norm of one or more gradient arrays, accumulated in float64. */
export function globalNorm(grads: Float32Array | readonly Float32Array[]): number {
  const list = grads instanceof Float32Array ? [grads] : grads;
  const native = nativeSumSquares();
  let sq = 0;
  for (const g of list) {
    if (native !== undefined) sq = native(g, 0, g.length, sq);
    else for (let i = 0; i < g.length; i++) sq += (g[i] as number) * (g[i] as number);
  }
  return Math.sqrt(sq);
}

/**
 * Scales `grads` in place so that their global norm is at most `maxNorm`.
 * A non-finite norm (NaN/Infinity gradients) is an Error rather than a silent
 * step that would destroy the weights.
 */
export function clipByGlobalNorm(grads: Float32Array | readonly Float32Array[], maxNorm: number, knownNorm?: number): ClipResult {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`);
  // knownNorm: globalNorm(grads) when the caller already took it (training.ts, during the read-back)
  const norm = knownNorm ?? globalNorm(grads);
  if (!Number.isFinite(norm)) throw new Error(`clipByGlobalNorm: the gradient norm is ${norm}; the gradients hold NaN or Infinity`);
  if (norm <= maxNorm) return { norm, scale: 1 };
  const scale = maxNorm / norm;
  const list = grads instanceof Float32Array ? [grads] : grads;
  for (const g of list) for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * scale;
  return { norm, scale };
}

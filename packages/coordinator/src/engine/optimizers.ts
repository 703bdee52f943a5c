import { Adam, OuterOptimizer, clipByGlobalNorm, cosineSchedule, globalNorm, type LrSchedule, type ParamRange } from '@atomizer/model';
import type { RunConfig } from '@atomizer/protocol';

// The coordinator's optimizer: AdamW on the mean gradient in sync mode, the outer
// optimizer (mean / momentum / Nesterov) on the mean delta in local mode, and the
// learning-rate schedule over the run's rounds.

export interface OptimizerState {
  adam?: Adam;
  outer?: OuterOptimizer;
}

export function makeOptimizers(cfg: RunConfig, size: number, decay: ParamRange[]): OptimizerState {
  if (cfg.train.mode === 'sync') return { adam: new Adam(size, { kind: 'adamw', weightDecay: cfg.train.weightDecay, decayRanges: decay }) };
  return { outer: new OuterOptimizer(size, { kind: cfg.train.outerKind, lr: cfg.train.outerLr, momentum: cfg.train.outerMomentum }) };
}

export function lrSchedule(cfg: RunConfig): LrSchedule {
  const rounds = cfg.train.rounds;
  return cosineSchedule({
    peakLr: cfg.train.lr,
    minLr: Math.min(cfg.train.minLr, cfg.train.lr),
    totalSteps: rounds,
    warmupSteps: Math.min(cfg.train.warmupRounds, rounds - 1),
  });
}

/**
 * One optimizer step on `weights`, in place, from the round's mean gradient (sync, clipped
 * to train.clipNorm) or mean delta (local). Returns the norm before clipping. A non-finite
 * weight after the step is an error naming it: the run stops before anything of the round
 * is published or checkpointed.
 */
export function optimizerStep(cfg: RunConfig, opt: OptimizerState, weights: Float32Array, mean: Float32Array, lr: number, round: number): number {
  let norm: number;
  if (opt.adam !== undefined) {
    norm = cfg.train.clipNorm > 0 ? clipByGlobalNorm(mean, cfg.train.clipNorm).norm : globalNorm(mean);
    opt.adam.update(weights, mean, lr);
  } else {
    norm = globalNorm(mean);
    opt.outer!.apply(weights, mean);
  }
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i] as number)) throw new Error(`round ${round}: the update made weight ${i} non-finite; the stored weights of round ${round - 1} are kept`);
  }
  return norm;
}

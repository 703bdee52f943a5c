import { Adam, OuterOptimizer, clipByGlobalNorm, cosineSchedule, globalNorm, type LrSchedule, type ParamRange } from '@atomizer/model';
import type { RunConfig } from '@atomizer/protocol';
import type { RangeReducers } from './range-reducers.js';

// The coordinator's optimizer: AdamW on the mean gradient in sync mode, the outer
// optimizer (mean / momentum / Nesterov) on the mean delta in local mode, and the
// learning-rate schedule over the run's rounds.

export interface OptimizerState {
  adam?: Adam;
  outer?: OuterOptimizer;
}

/** `shared`: AdamW's moments in shared memory, for the range reducers to step (sync mode). */
export function makeOptimizers(cfg: RunConfig, size: number, decay: ParamRange[], shared = false): OptimizerState {
  if (cfg.train.mode === 'sync')
    return { adam: new Adam(size, { kind: 'adamw', weightDecay: cfg.train.weightDecay, decayRanges: decay, shared }) };
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
 * is published or checkpointed. With `reducers` and weights and moments in shared memory,
 * AdamW and the check run per range in the reducer threads (the norm stays one sequential
 * pass here: its bits depend on the order of the additions).
 */
export async function optimizerStep(
  cfg: RunConfig,
  opt: OptimizerState,
  weights: Float32Array,
  mean: Float32Array,
  lr: number,
  round: number,
  reducers?: RangeReducers,
): Promise<number> {
  let norm: number;
  const nonFinite = (i: number): Error =>
    new Error(`round ${round}: the update made weight ${i} non-finite; the stored weights of round ${round - 1} are kept`);
  if (opt.adam !== undefined) {
    norm = cfg.train.clipNorm > 0 ? clipByGlobalNorm(mean, cfg.train.clipNorm).norm : globalNorm(mean);
    if (reducers !== undefined && weights.buffer instanceof SharedArrayBuffer && opt.adam.moments().m.buffer instanceof SharedArrayBuffer) {
      const step = opt.adam.planStep(lr);
      const bad = await reducers.adamStep(step, weights, opt.adam.moments());
      opt.adam.commitStep(step);
      if (bad >= 0) throw nonFinite(bad);
      return norm;
    }
    opt.adam.update(weights, mean, lr);
  } else {
    norm = globalNorm(mean);
    opt.outer!.apply(weights, mean);
  }
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i] as number)) throw nonFinite(i);
  }
  return norm;
}

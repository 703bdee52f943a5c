// Learning-rate schedule of docs/model.md section 4: linear warm-up over the first
// 10% of the steps, then a half cosine from the peak down to a floor.

export interface CosineScheduleOptions {
  /** Learning rate at the end of the warm-up. */
  peakLr: number;
  /** Number of optimizer steps of the run. */
  totalSteps: number;
  /** Warm-up length as a fraction of totalSteps (rounded to whole steps). Default 0.1. */
  warmupFraction?: number;
  /** Warm-up length in steps; overrides warmupFraction. */
  warmupSteps?: number;
  /** Floor reached at step totalSteps. Default 0. */
  minLr?: number;
}

export interface LrSchedule {
  readonly peakLr: number;
  readonly minLr: number;
  readonly totalSteps: number;
  readonly warmupSteps: number;
  /** The learning rate of optimizer step `step` (0-based). */
  lr(step: number): number;
}

/**
 * Step t (0-based) of T, warm-up W:
 *   t < W:        peak * (t + 1) / W         (the first step already moves; peak at t = W-1)
 *   W <= t < T:   min + (peak - min) * (1 + cos(pi * (t - W) / (T - W))) / 2
 *   t >= T:       min
 * so the last step T-1 still has a learning rate above the floor.
 */
export function cosineSchedule(opts: CosineScheduleOptions): LrSchedule {
  const { peakLr, totalSteps } = opts;
  const minLr = opts.minLr ?? 0;
  if (!Number.isInteger(totalSteps) || totalSteps < 1)
    throw new Error(`cosineSchedule: totalSteps must be a positive integer, got ${totalSteps}`);
  if (!(peakLr > 0) || !Number.isFinite(peakLr)) throw new Error(`cosineSchedule: peakLr must be a positive number, got ${peakLr}`);
  if (!(minLr >= 0 && minLr <= peakLr)) throw new Error(`cosineSchedule: minLr must be in [0, peakLr = ${peakLr}], got ${minLr}`);
  let warmupSteps: number;
  if (opts.warmupSteps !== undefined) {
    warmupSteps = opts.warmupSteps;
  } else {
    const fraction = opts.warmupFraction ?? 0.1;
    if (!(fraction >= 0 && fraction < 1)) throw new Error(`cosineSchedule: warmupFraction must be in [0, 1), got ${fraction}`);
    warmupSteps = Math.round(fraction * totalSteps);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps >= totalSteps) {
    throw new Error(`cosineSchedule: warmupSteps must be an integer in [0, totalSteps = ${totalSteps}), got ${warmupSteps}`);
  }
  return {
    peakLr,
    minLr,
    totalSteps,
    warmupSteps,
    lr(step: number): number {
      if (!Number.isInteger(step) || step < 0) throw new Error(`Learning-rate schedule: step must be a non-negative integer, got ${step}`);
      if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
      if (step >= totalSteps) return minLr;
      const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
      return minLr + ((peakLr - minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
    },
  };
}

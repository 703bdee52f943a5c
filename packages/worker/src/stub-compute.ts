import type { TrainJob } from '@atomizer/protocol';

// The compute a scale simulation runs instead of the model (`atomizer worker --compute
// stub`, `npm run bench:scale`): a pseudo-gradient of the run's size, a pure function of
// the job's seed, produced at memory speed. Everything around it (weights download,
// result upload, the coordinator's checks and aggregation) is the real path.

export const COMPUTE_MODES = ['model', 'stub'] as const;
export type ComputeMode = (typeof COMPUTE_MODES)[number];

/** The backend name stub results carry (the dashboard and round events show it). */
export const STUB_BACKEND = 'stub';

/** Values in [-1e-3, 1e-3): small enough that any optimizer keeps the weights finite. */
export function stubUpdate(job: Pick<TrainJob, 'seed'>, params: number): Float32Array {
  const out = new Float32Array(params);
  // xorshift32 from the job's seed (never 0).
  let x = (job.seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < params; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 4294967296 - 0.5) * 2e-3;
  }
  return out;
}

/** A loss that falls with the rounds, so the simulation's charts look like a run. */
export function stubLoss(job: Pick<TrainJob, 'round' | 'job'>): number {
  return 2 / Math.sqrt(job.round) + job.job * 1e-4;
}

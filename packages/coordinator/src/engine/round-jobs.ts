import type { RunConfig, RunKeys, TrainJob } from '@atomizer/protocol';
import { deriveSeed } from '@atomizer/tokenizer';
import type { SliceUnit } from './data-plan.js';

// The train jobs of one round: slice i takes the next units of the data plan (one
// in sync mode, one per local step in local mode), its seed derived from the run seed,
// the round and i; in local mode with kept inner states, the slot's state of the
// previous round in and this round's out.

export interface RoundJobsInput {
  cfg: RunConfig;
  run: string;
  round: number;
  keys: RunKeys;
  configKey: string;
  manifestKey: string;
  weightsKey: string;
  weightsSha256: string;
  lr: number;
  /** The round's units, `slices x perSlice` of them in order. */
  units: SliceUnit[];
  /** Payload sha256 of the inner state each slot left in the previous round (local mode). */
  innerShas: ReadonlyMap<number, string>;
}

/** Units per slice: one in sync mode, one per local step in local mode. */
export function unitsPerSlice(cfg: RunConfig): number {
  return cfg.train.mode === 'sync' ? 1 : cfg.train.localSteps;
}

export function roundJobs(a: RoundJobsInput): TrainJob[] {
  const { cfg, round } = a;
  const per = unitsPerSlice(cfg);
  const keepInner = cfg.train.mode === 'local' && cfg.train.innerState === 'keep';
  return Array.from({ length: cfg.train.slices }, (_, i) => ({
    kind: 'train' as const,
    run: a.run,
    round,
    job: i,
    configKey: a.configKey,
    weightsKey: a.weightsKey,
    weightsSha256: a.weightsSha256,
    manifestKey: a.manifestKey,
    parts: a.units.slice(i * per, (i + 1) * per).map((u) => ({ shard: u.shard, start: u.start, end: u.end })),
    seed: deriveSeed(cfg.seed, round, i),
    resultKey: a.keys.result(round, i),
    mode: cfg.train.mode,
    localSteps: cfg.train.mode === 'sync' ? 1 : cfg.train.localSteps,
    lr: a.lr,
    ...(keepInner
      ? {
          ...(round > 1 ? { innerStateKey: a.keys.innerState(round - 1, i) } : {}),
          ...(a.innerShas.has(i) ? { innerStateSha256: a.innerShas.get(i)! } : {}),
          innerStateOutKey: a.keys.innerState(round, i),
        }
      : {}),
  }));
}

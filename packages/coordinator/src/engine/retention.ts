import type { RunConfig, RunKeys } from '@atomizer/protocol';

// What a committed round leaves that nothing will read again (docs/design.md
// "Retention"). A resume starts from a checkpoint, so a round's slice results and the
// weights it read are spent once it is committed; `checkpoint.keepResults` keeps them
// for debugging. Local mode: a slot's inner state of round r-1 was read by round r and
// is kept only while a kept checkpoint resumes from it.

export interface Spent {
  /** Folders to empty. */
  prefixes: string[];
  /** Single objects to delete. */
  keys: string[];
}

/**
 * Spent after `round` was committed. The previous round's results folder again: a late
 * result may have been written after its sweep.
 */
export function spentAfterRound(
  cfg: RunConfig,
  keys: RunKeys,
  round: number,
  startRound: number,
  checkpointRounds: readonly number[],
): Spent {
  const spent: Spent = { prefixes: [], keys: [] };
  if (!cfg.checkpoint.keepResults) {
    spent.prefixes.push(keys.resultsPrefix(round));
    if (round > startRound) spent.prefixes.push(keys.resultsPrefix(round - 1));
    spent.keys.push(keys.weights(round - 1));
  }
  if (cfg.train.mode === 'local' && round > 1 && !checkpointRounds.slice(-cfg.checkpoint.keep).includes(round - 1)) {
    spent.prefixes.push(keys.innerStatePrefix(round - 1));
  }
  return spent;
}

/** Spent once an evaluation of `round` is scored: its results (under the round's results folder). */
export function spentAfterEvaluation(cfg: RunConfig, keys: RunKeys, round: number): Spent {
  return cfg.checkpoint.keepResults ? { prefixes: [], keys: [] } : { prefixes: [keys.resultsPrefix(round)], keys: [] };
}

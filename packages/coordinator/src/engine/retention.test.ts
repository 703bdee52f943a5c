import { parseRunConfig, runKeys } from '@atomizer/protocol';
import { describe, expect, it } from 'vitest';
import { spentAfterEvaluation, spentAfterRound } from './retention.js';

const keys = runKeys('r');

describe('retention', () => {
  it('sync: a committed round spends its results, the previous round folder again, and the weights it read; keepResults keeps them', () => {
    const cfg = parseRunConfig({ run: 'r' });
    expect(spentAfterRound(cfg, keys, 5, 1, [])).toEqual({
      prefixes: [keys.resultsPrefix(5), keys.resultsPrefix(4)],
      keys: [keys.weights(4)],
    });
    // The first round of a session has no earlier folder of its own to sweep.
    expect(spentAfterRound(cfg, keys, 3, 3, []).prefixes).toEqual([keys.resultsPrefix(3)]);
    expect(spentAfterEvaluation(cfg, keys, 5)).toEqual({ prefixes: [keys.resultsPrefix(5)], keys: [] });
    const keep = parseRunConfig({ run: 'r', checkpoint: { keepResults: true } });
    expect(spentAfterRound(keep, keys, 5, 1, [])).toEqual({ prefixes: [], keys: [] });
    expect(spentAfterEvaluation(keep, keys, 5)).toEqual({ prefixes: [], keys: [] });
  });

  it('local: the inner states of round r-1 go unless a kept checkpoint resumes from them', () => {
    const cfg = parseRunConfig({ run: 'r', train: { mode: 'local' }, checkpoint: { keep: 2, keepResults: true } });
    expect(spentAfterRound(cfg, keys, 5, 1, [2]).prefixes).toEqual([keys.innerStatePrefix(4)]);
    expect(spentAfterRound(cfg, keys, 5, 1, [2, 4]).prefixes).toEqual([]);
    // Only the last `keep` checkpoints count.
    expect(spentAfterRound(cfg, keys, 5, 1, [4, 6, 8]).prefixes).toEqual([keys.innerStatePrefix(4)]);
    expect(spentAfterRound(cfg, keys, 1, 1, []).prefixes).toEqual([]);
  });
});

import { parseRunConfig, runConfigLeaves } from '@atomizer/protocol';
import { describe, expect, it } from 'vitest';
import { RESUME_SAFE_KEYS, applyChanges, checkResumeChanges, diffGivenConfig, formatChange } from './config-changes.js';

const stored = parseRunConfig({ run: 'r', model: { preset: 'small' }, train: { rounds: 40, lr: 1e-3 }, eval: { every: 5 } });

describe('diffGivenConfig', () => {
  it('lists only the given values that differ from the stored run, never defaults nor the run id', () => {
    // eval.every and model.preset are given with the stored values; train.slices is not given (its default differs from nothing).
    const changes = diffGivenConfig(stored, { run: 'r', model: { preset: 'small' }, train: { rounds: 45, lr: 1e-4 }, eval: { every: 5 } });
    expect(changes).toEqual([
      { field: 'train.rounds', from: 40, to: 45 },
      { field: 'train.lr', from: 1e-3, to: 1e-4 },
    ]);
    expect(changes.map(formatChange)).toEqual(['train.rounds: 40 -> 45', 'train.lr: 0.001 -> 0.0001']);
    // A given value equal to a default that differs from the stored value is a change.
    expect(diffGivenConfig(stored, { model: { preset: 'tiny' } })).toEqual([{ field: 'model.preset', from: 'small', to: 'tiny' }]);
    expect(diffGivenConfig(stored, {})).toEqual([]);
  });

  it('checks the given values like any config (an unknown key is an error naming it)', () => {
    expect(() => diffGivenConfig(stored, { train: { rouds: 45 } }, 'run.yaml')).toThrow(
      /run\.yaml is invalid:\n {2}train\.rouds: unknown key; did you mean train\.rounds\?/,
    );
  });
});

describe('checkResumeChanges', () => {
  it('lets the schedule, the cadences and the round policy change', () => {
    const safe = diffGivenConfig(stored, {
      train: { rounds: 50, lr: 2e-4, minLr: 1e-6, warmupRounds: 0, outerLr: 0.7, reduce: 'workers', reduceRanges: 4 },
      eval: { every: 2 },
      checkpoint: { every: 10, keep: 1, keepResults: true },
      rounds: { quorum: 0.75, deadlineSeconds: 120, attempts: 5 },
    });
    expect(safe.map((c) => c.field).sort()).toEqual(Object.keys(RESUME_SAFE_KEYS).sort());
    expect(() => checkResumeChanges(safe, 'r', 40)).not.toThrow();
  });

  it('refuses every other change in one line naming each field and saying to start a new run', () => {
    const changes = diffGivenConfig(stored, { seed: 7, model: { preset: 'tiny' }, train: { rounds: 45, mode: 'local' } });
    let message = '';
    try {
      checkResumeChanges(changes, 'r', 40);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(
      /^cannot resume run 'r' with seed 42 -> 7, model\.preset "small" -> "tiny", train\.mode "sync" -> "local": these change what the run trains; start a new run/,
    );
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(/train\.rounds 40/); // the safe change is not named as refused
  });

  it('refuses every key that is not listed as safe (the list is the whole decision)', () => {
    for (const leaf of runConfigLeaves()) {
      if (leaf.path === 'run' || RESUME_SAFE_KEYS[leaf.path] !== undefined) continue;
      const change = [{ field: leaf.path, from: leaf.defaultValue, to: 'other' }];
      expect(() => checkResumeChanges(change, 'r', 0), leaf.path).toThrow(new RegExp(`with ${leaf.path.replace('.', '\\.')} `));
    }
  });

  it('refuses train.rounds that leaves no round to train, naming the rounds done', () => {
    expect(() => checkResumeChanges([{ field: 'train.rounds', from: 40, to: 30 }], 'r', 40)).toThrow(
      "cannot resume run 'r' with train.rounds 30: 40 rounds are already done (the resume continues after the checkpoint of round 40); give more than 40, or leave train.rounds at 40",
    );
    expect(() => checkResumeChanges([{ field: 'train.rounds', from: 40, to: 20 }], 'r', 20)).toThrow(/give more than 20/);
    // Fewer rounds than planned but more than done: a shorter schedule, allowed.
    expect(() => checkResumeChanges([{ field: 'train.rounds', from: 40, to: 21 }], 'r', 20)).not.toThrow();
  });
});

describe('applyChanges', () => {
  it('sets the changed fields on a copy and keeps the rest', () => {
    const next = applyChanges(stored, [
      { field: 'train.rounds', from: 40, to: 45 },
      { field: 'rounds.quorum', from: 1, to: 0.5 },
    ]);
    expect(next.train.rounds).toBe(45);
    expect(next.rounds.quorum).toBe(0.5);
    expect(next.model).toEqual(stored.model);
    expect(stored.train.rounds).toBe(40);
  });
});

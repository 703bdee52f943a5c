import { describe, expect, it } from 'vitest';
import { RunConfigSchema, evalSplits, parseRunConfig, runConfigLeaves, setPath } from './run-config.js';

describe('run config', () => {
  it('has a default for every value', () => {
    const cfg = parseRunConfig({});
    expect(cfg.train.mode).toBe('sync');
    expect(cfg.queues.train).toBe(1);
    expect(cfg.rounds.quorum).toBe(1);
    expect(evalSplits(cfg)).toEqual(['test']);
  });

  it('gives every leaf a flag, a description and its default', () => {
    const leaves = runConfigLeaves();
    const flags = leaves.map((l) => l.flag);
    expect(flags).toContain('--train-slice-samples');
    expect(flags).toContain('--checkpoint-every');
    expect(new Set(flags).size).toBe(flags.length);
    for (const l of leaves) expect(l.description, l.path).not.toBe('');
    const mode = leaves.find((l) => l.path === 'train.mode');
    expect(mode?.choices).toEqual(['sync', 'local']);
    // Setting each leaf to its default through setPath reproduces the defaults.
    const obj: Record<string, unknown> = {};
    for (const l of leaves) setPath(obj, l.path, l.defaultValue);
    expect(RunConfigSchema.parse(obj)).toEqual(parseRunConfig({}));
  });

  it('names every wrong field and the file', () => {
    expect(() => parseRunConfig({ train: { rounds: 0, mode: 'async' }, bogus: 1 }, 'run.yaml')).toThrow(
      /run\.yaml is invalid:[\s\S]*train\.mode[\s\S]*train\.rounds[\s\S]*bogus/,
    );
    expect(() => parseRunConfig({ run: 'a/b' })).toThrow(/run/);
    expect(() => parseRunConfig({ dataset: { normalisation: 'per-scene' } }, 'run.yaml')).toThrow(/run\.yaml is invalid:[\s\S]*dataset\.normalisation: Invalid option: expected one of "train-split"\|"image", got "per-scene"/);
    expect(() => evalSplits(parseRunConfig({ eval: { splits: 'val,holdout' } }))).toThrow(/unknown split 'holdout'/);
  });
});

import { describe, expect, it } from 'vitest';
import { RunConfigSchema, evalSplits, getPath, parseRunConfig, parseStoredRun, runConfigLeaves, setPath } from './run-config.js';

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
    expect(() => parseRunConfig({ dataset: { normalisation: 'per-scene' } }, 'run.yaml')).toThrow(
      /run\.yaml is invalid:[\s\S]*dataset\.normalisation: Invalid option: expected one of "train-split"\|"image", got "per-scene"/,
    );
    expect(() => evalSplits(parseRunConfig({ eval: { splits: 'val,holdout' } }))).toThrow(/unknown split 'holdout'/);
  });

  it('radiometric augmentation: off by default, ranges checked, refused where it could change nothing', () => {
    const t = parseRunConfig({}).train;
    expect([t.radiometricGain, t.radiometricBandGain, t.radiometricShift]).toEqual([1, 1, 0]);
    expect(parseRunConfig({ train: { radiometricGain: 1.5, radiometricShift: 0.02 } }).train.radiometricShift).toBe(0.02);
    expect(() => parseRunConfig({ train: { radiometricGain: 0.5 } }, 'run.yaml')).toThrow(
      /run\.yaml is invalid:\n {2}train\.radiometricGain: /,
    );
    expect(() => parseRunConfig({ train: { radiometricShift: -0.01 } })).toThrow(/train\.radiometricShift: /);
    expect(() => parseRunConfig({ dataset: { normalisation: 'image' }, train: { radiometricShift: 0.02 } }, 'run.yaml')).toThrow(
      /^run\.yaml is invalid:\n {2}train\.radiometricGain\/radiometricBandGain\/radiometricShift: radiometric augmentation has no effect with dataset\.normalisation 'image'/,
    );
  });

  it('takes model.overrides as JSON text or as a mapping (YAML, --set), stored as text', () => {
    expect(parseRunConfig({ model: { overrides: '{"depth":2}' } }).model.overrides).toBe('{"depth":2}');
    expect(parseRunConfig({ model: { overrides: { depth: 2, encoding: { gsd: { enabled: false } } } } }).model.overrides).toBe(
      '{"depth":2,"encoding":{"gsd":{"enabled":false}}}',
    );
    expect(() => parseRunConfig({ model: { overrides: [1] } }, 'run.yaml')).toThrow(/run\.yaml is invalid:\n {2}model\.overrides: /);
  });

  it('refuses an unknown key at every level, naming its full path and the nearest valid key', () => {
    expect(() => parseRunConfig({ train: { rouds: 5 } }, 'run.yaml')).toThrow(
      'run.yaml is invalid:\n  train.rouds: unknown key; did you mean train.rounds?',
    );
    expect(() => parseRunConfig({ eval: { evrey: 2 }, rounds: { qourum: 0.5 }, dataset: { shardsize: 9 } })).toThrow(
      /dataset\.shardsize: unknown key; did you mean dataset\.shardSize\?[\s\S]*rounds\.qourum: unknown key; did you mean rounds\.quorum\?[\s\S]*eval\.evrey: unknown key; did you mean eval\.every\?/,
    );
    // Two unknown keys in one section: a line each; far from every key: the valid keys listed.
    expect(() => parseRunConfig({ model: { presett: 'tiny', zzz: 1 } })).toThrow(
      /model\.presett: unknown key; did you mean model\.preset\?\n {2}model\.zzz: unknown key; expected one of preset, overrides/,
    );
    expect(() => parseRunConfig({ traln: { rounds: 5 } })).toThrow(/traln: unknown key; did you mean train\?/);
  });

  it('reads a stored run back strictly too, naming the field under config', () => {
    const stored = {
      format: 'atomizer-run/1',
      config: parseRunConfig({}),
      manifestKey: 'datasets/d/manifest.json',
      model: {},
      modalities: { train: [], val: [], test: [] },
      params: 1,
      created: 'now',
    };
    expect(parseStoredRun(stored, 'runs/r/config.json').config.train.rounds).toBe(20);
    const typo = { ...stored, config: { ...stored.config, train: { ...stored.config.train, rouds: 5 } } };
    expect(() => parseStoredRun(typo, 'runs/r/config.json')).toThrow(
      'runs/r/config.json is not a valid stored run: config.train.rouds: unknown key; did you mean config.train.rounds?',
    );
  });

  it('getPath reads what setPath wrote, and undefined where a part is missing', () => {
    const obj: Record<string, unknown> = {};
    setPath(obj, 'train.rounds', 45);
    expect(getPath(obj, 'train.rounds')).toBe(45);
    expect(getPath(obj, 'train.lr')).toBeUndefined();
    expect(getPath(obj, 'eval.every')).toBeUndefined();
    expect(getPath({ train: 3 }, 'train.rounds')).toBeUndefined();
  });
});

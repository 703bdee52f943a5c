import { describe, expect, it } from 'vitest';
import { datasetKeys, formatKeyNumber, newBuildId, parseKeyNumber, runKeys, validateKeyName } from './keys.js';

describe('datasetKeys', () => {
  it('lays out a dataset as docs/design.md says', () => {
    const k = datasetKeys('bigearthnet-s2');
    expect(k.manifest).toBe('datasets/bigearthnet-s2/manifest.json');
    expect(k.shard('train', 42)).toBe('datasets/bigearthnet-s2/shards/train/000042.bin');
    expect(k.shard('val', 0)).toBe('datasets/bigearthnet-s2/shards/val/000000.bin');
    expect(k.shardsPrefix('test')).toBe('datasets/bigearthnet-s2/shards/test/');
    expect(k.root).toBe('datasets/bigearthnet-s2/');
  });

  it('stages each sharding attempt under its own build prefix, and finds the build of a key', () => {
    const k = datasetKeys('statlog');
    const id = newBuildId(new Date('2026-11-27T13:30:00.123Z'), '1f2e3d4c');
    expect(id).toBe('20261127T133000123Z-1f2e3d4c');
    const b = k.build(id);
    expect(b.root).toBe('datasets/statlog/builds/20261127T133000123Z-1f2e3d4c/');
    expect(b.shard('train', 7)).toBe('datasets/statlog/builds/20261127T133000123Z-1f2e3d4c/shards/train/000007.bin');
    expect(b.shardsPrefix('test')).toBe('datasets/statlog/builds/20261127T133000123Z-1f2e3d4c/shards/test/');
    expect(b.attempt).toBe('datasets/statlog/builds/20261127T133000123Z-1f2e3d4c/attempt.json');
    expect(b.root.startsWith(k.buildsPrefix)).toBe(true);
    expect(k.buildOf(b.shard('val', 0))).toBe(id);
    expect(k.buildOf(b.attempt)).toBe(id);
    expect(k.buildOf(k.shard('train', 0))).toBeUndefined();
    expect(k.buildOf('datasets/statlog/builds/not-an-id/x')).toBeUndefined();
    expect(k.buildOf(datasetKeys('other').build(id).shard('train', 0))).toBeUndefined();
    // Ids sort by start time, and two attempts in the same millisecond differ.
    const t = new Date('2026-01-01T00:00:00Z');
    expect(newBuildId(t) < newBuildId(new Date(t.getTime() + 1))).toBe(true);
    expect(newBuildId(t)).not.toBe(newBuildId(t));
    expect(() => k.build('../x')).toThrow(/invalid build id "\.\.\/x"/);
  });

  it('pads shard ids so lexicographic order (an S3 listing) is numeric order', () => {
    const k = datasetKeys('d');
    const ids = [0, 1, 2, 9, 10, 11, 99, 100, 999, 1000, 123456];
    const keys = ids.map((i) => k.shard('train', i));
    expect([...keys].sort()).toEqual(keys);
    // Beyond the padding width the number is written in full, still unambiguous.
    expect(k.shard('train', 1_234_567)).toBe('datasets/d/shards/train/1234567.bin');
  });

  it('rejects bad dataset names, splits and shard ids naming the field', () => {
    expect(() => datasetKeys('')).toThrow(/invalid dataset name "": must not be empty/);
    expect(() => datasetKeys('a/b')).toThrow(/invalid dataset name "a\/b": must not contain '\/'/);
    expect(() => datasetKeys('..')).toThrow(/invalid dataset name "\.\.": must not contain '\.\.'/);
    expect(() => datasetKeys('x..y')).toThrow(/dataset name/);
    expect(() => datasetKeys('with space')).toThrow(/dataset name.*whitespace/);
    expect(() => datasetKeys('ok').shard('tr/ain', 1)).toThrow(/invalid split name "tr\/ain"/);
    expect(() => datasetKeys('ok').shard('train', -1)).toThrow(/invalid shard id -1: expected a non-negative integer/);
    expect(() => datasetKeys('ok').shard('train', 1.5)).toThrow(/invalid shard id 1.5/);
    expect(() => datasetKeys('ok').shard('train', Number.NaN)).toThrow(/invalid shard id NaN/);
  });
});

describe('runKeys', () => {
  it('lays out a run as docs/design.md says', () => {
    const k = runKeys('exp-7');
    expect(k.config).toBe('runs/exp-7/config.json');
    expect(k.weights(3)).toBe('runs/exp-7/weights/000003.bin');
    expect(k.result(3, 17)).toBe('runs/exp-7/results/000003/000017.bin');
    expect(k.result(3, 'slice-a')).toBe('runs/exp-7/results/000003/slice-a.bin');
    expect(k.resultsPrefix(3)).toBe('runs/exp-7/results/000003/');
    expect(k.checkpoint(12, 'weights.bin')).toBe('runs/exp-7/checkpoints/000012/weights.bin');
    expect(k.checkpointPrefix(12)).toBe('runs/exp-7/checkpoints/000012/');
    expect(k.latestCheckpoint).toBe('runs/exp-7/checkpoints/latest.json');
    expect(k.metrics).toBe('runs/exp-7/metrics.jsonl');
    expect(k.configChanges).toBe('runs/exp-7/config-changes.jsonl');
  });

  it('gives the same result key for the same (run, round, job): a re-delivered job overwrites itself', () => {
    expect(runKeys('r').result(5, 2)).toBe(runKeys('r').result(5, 2));
    expect(runKeys('r').result(5, 2)).not.toBe(runKeys('r').result(5, 3));
    expect(runKeys('r').result(5, 2)).not.toBe(runKeys('r').result(6, 2));
  });

  it('rejects bad run names, rounds, jobs and checkpoint files naming the field', () => {
    expect(() => runKeys('')).toThrow(/invalid run name "": must not be empty/);
    expect(() => runKeys('../etc')).toThrow(/invalid run name/);
    expect(() => runKeys('r').weights(-2)).toThrow(/invalid round -2/);
    expect(() => runKeys('r').result(1, 'a/b')).toThrow(/invalid job id "a\/b"/);
    expect(() => runKeys('r').checkpoint(1, '../latest.json')).toThrow(/invalid checkpoint file name/);
  });
});

describe('key name helpers', () => {
  it('formats and parses padded numbers', () => {
    expect(formatKeyNumber('round', 42)).toBe('000042');
    expect(parseKeyNumber('000042')).toBe(42);
    expect(parseKeyNumber('42.bin')).toBeUndefined();
    expect(validateKeyName('x', 'A.b_c-9')).toBe('A.b_c-9');
    expect(() => validateKeyName('x', 'a'.repeat(201))).toThrow(/at most 200/);
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_RANGES, SHARD_MIN_VALUES, planRanges, planWorkerRanges } from './range-plan.js';

const covers = (ranges: { from: number; to: number }[], P: number): boolean =>
  ranges[0]!.from === 0 && ranges.at(-1)!.to === P && ranges.every((r, i) => r.from < r.to && (i === 0 || r.from === ranges[i - 1]!.to));

describe('planRanges', () => {
  it('one range while a round is small (the small preset at any N here)', () => {
    const p = planRanges(263_254, 16, { cores: 2, alignTo: 1 << 20 });
    expect(p.ranges).toEqual([{ from: 0, to: 263_254 }]);
    expect(p.reason).toMatch(/under/);
    expect(263_254 * 63).toBeLessThan(SHARD_MIN_VALUES);
  });

  it('as many ranges as cores for a large round, on chunk boundaries, covering every parameter once', () => {
    const P = 60_238_726;
    const chunk = 1 << 20;
    for (const [cores, n, want] of [
      [2, 64, 2],
      [2, 1, 2],
      [8, 8, 8],
      [64, 64, MAX_RANGES],
      [1, 64, 1],
    ] as const) {
      const p = planRanges(P, n, { cores, alignTo: chunk });
      expect(p.ranges).toHaveLength(want);
      expect(covers(p.ranges, P)).toBe(true);
      expect(p.ranges.slice(1).every((r) => r.from % chunk === 0)).toBe(true);
      const sizes = p.ranges.map((r) => r.to - r.from);
      // Whole chunks each, the last one partial: within two chunks of each other.
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(2 * chunk);
      expect(p.where).toBe('coordinator-threads');
    }
  });

  it('never more ranges than chunks, and refuses nonsense', () => {
    expect(planRanges(3 * 2 ** 20, 64, { cores: 8, alignTo: 2 ** 20 }).ranges).toHaveLength(3);
    expect(() => planRanges(0, 1, { alignTo: 1 })).toThrow(/params must be a positive integer, got 0/);
    expect(() => planRanges(10, 0, { alignTo: 1 })).toThrow(/results must be a positive integer/);
  });
});

describe('planWorkerRanges (train.reduce: workers)', () => {
  const chunk = 1 << 20;
  it('one reducer job per result, at most one per hash chunk, on chunk boundaries', () => {
    const P = 60_238_726;
    for (const [n, want] of [
      [1, 1],
      [8, 8],
      [64, 58],
    ] as const) {
      const p = planWorkerRanges(P, n, { alignTo: chunk });
      expect(p.where).toBe('workers');
      expect(p.ranges).toHaveLength(want);
      expect(covers(p.ranges, P)).toBe(true);
      expect(p.ranges.slice(1).every((r) => r.from % chunk === 0)).toBe(true);
    }
    // The small preset is one chunk: one reducer whatever N.
    expect(planWorkerRanges(263_254, 16, { alignTo: chunk }).ranges).toEqual([{ from: 0, to: 263_254 }]);
  });

  it('train.reduceRanges forces R, cutting inside a chunk when there are fewer chunks', () => {
    const p = planWorkerRanges(1000, 3, { alignTo: chunk, force: 4 });
    expect(p.ranges).toEqual([
      { from: 0, to: 250 },
      { from: 250, to: 500 },
      { from: 500, to: 750 },
      { from: 750, to: 1000 },
    ]);
    expect(p.reason).toMatch(/as configured .*cut inside chunks/);
    expect(planWorkerRanges(3 * chunk, 1, { alignTo: chunk, force: 2 }).ranges[1]!.from % chunk).toBe(0);
    expect(() => planWorkerRanges(10, 0, { alignTo: 1 })).toThrow(/results must be a positive integer/);
  });
});

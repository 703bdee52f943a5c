import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_SPLIT_FRACTIONS, DEFAULT_SPLIT_FRACTIONS, SPLIT_NAMES, checkSplitFractions, splitByHash } from './split.js';

describe('splits', () => {
  it('splits by name hash, deterministically and close to the fractions', () => {
    expect(splitByHash('S2A_MSIL2A_20170617T113321_36_85')).toBe(splitByHash('S2A_MSIL2A_20170617T113321_36_85'));
    const n = 20_000;
    const counts = { train: 0, val: 0, test: 0 };
    for (let i = 0; i < n; i++) counts[splitByHash(`patch_${i}`)]++;
    // Binomial std for p = 0.2 over 20,000 draws is about 0.3%: 1.5% is 5 sigma.
    expect(Math.abs(counts.train / n - DEFAULT_SPLIT_FRACTIONS.train)).toBeLessThan(0.015);
    expect(Math.abs(counts.val / n - DEFAULT_SPLIT_FRACTIONS.val)).toBeLessThan(0.015);
    expect(Math.abs(counts.test / n - DEFAULT_SPLIT_FRACTIONS.test)).toBeLessThan(0.015);
    expect(() => splitByHash('x', { train: 0.5, val: 0.5, test: 0.5 })).toThrow(/sum to 1/);
  });

  it('a fraction of 1 sends every name to that split', () => {
    for (let i = 0; i < 50; i++) expect(splitByHash(`p${i}`, { train: 0, val: 0, test: 1 })).toBe('test');
  });

  it('checkSplitFractions accepts the defaults and rejects negative fractions or sums other than 1', () => {
    expect(SPLIT_NAMES).toEqual(['train', 'val', 'test']);
    expect(() => checkSplitFractions(DEFAULT_SPLIT_FRACTIONS)).not.toThrow();
    expect(() => checkSplitFractions(DEFAULT_GROUP_SPLIT_FRACTIONS)).not.toThrow();
    expect(() => checkSplitFractions({ train: 1.2, val: -0.1, test: -0.1 })).toThrow(
      /non-negative and sum to 1, got train 1.2, val -0.1, test -0.1/,
    );
    expect(() => checkSplitFractions({ train: 0.5, val: 0.2, test: 0.2 })).toThrow(/sum to 1/);
    expect(() => checkSplitFractions({ train: Number.NaN, val: 0, test: 1 })).toThrow(/sum to 1/);
  });
});

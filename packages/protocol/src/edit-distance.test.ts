import { describe, expect, it } from 'vitest';
import { editDistance, nearestName } from './edit-distance.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps as one edit each', () => {
    expect(editDistance('rounds', 'rounds')).toBe(0);
    expect(editDistance('rouds', 'rounds')).toBe(1);
    expect(editDistance('roundss', 'rounds')).toBe(1);
    expect(editDistance('rounbs', 'rounds')).toBe(1);
    expect(editDistance('ruonds', 'rounds')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('nearestName', () => {
  const keys = ['mode', 'rounds', 'slices', 'lr', 'minLr', 'warmupRounds'];
  it('suggests the nearest plausible key, ignoring case, or a key the name begins', () => {
    expect(nearestName('rouds', keys)).toBe('rounds');
    expect(nearestName('minlr', keys)).toBe('minLr');
    expect(nearestName('slicse', keys)).toBe('slices');
    expect(nearestName('warmup', keys)).toBe('warmupRounds');
  });
  it('suggests nothing for a name far from every key', () => {
    expect(nearestName('epochs', keys)).toBeUndefined();
    expect(nearestName('x', keys)).toBeUndefined();
    expect(nearestName('rouds', [])).toBeUndefined();
  });
});

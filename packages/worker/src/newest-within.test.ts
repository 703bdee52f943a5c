import { describe, expect, it } from 'vitest';
import { keepNewestWithin } from './newest-within.js';

describe('keepNewestWithin', () => {
  it('keeps the newest entries that fit, evicting older ones and one too large alone, not what fits after it', () => {
    const m = new Map([
      ['a', 3],
      ['b', 3],
      ['c', 3],
    ]);
    keepNewestWithin(m, (v) => v, 7);
    expect([...m.keys()]).toEqual(['b', 'c']);
    m.set('huge', 100);
    keepNewestWithin(m, (v) => v, 7);
    expect([...m.keys()]).toEqual(['b', 'c']);
    const evicted: string[] = [];
    keepNewestWithin(
      m,
      (v) => v,
      0,
      (k) => (evicted.push(k), m.delete(k)),
    );
    expect(evicted).toEqual(['c', 'b']);
    expect(m.size).toBe(0);
  });
});

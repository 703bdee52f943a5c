import { describe, expect, it } from 'vitest';
import { defaultEncodingConfig } from './encoding-config.js';
import { gsdEncoding } from './gsd-encoding.js';

const gsd = defaultEncodingConfig().gsd;

describe('gsdEncoding', () => {
  it('10 m -> log2(10/10) = 0: sin parts 0, cos parts 1, u 0', () => {
    expect(Array.from(gsdEncoding(10, gsd))).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0]);
  });

  it('20 m -> u = 1 with s = linspace(1, 2, 4): first sine sin(0.75 pi), last sine sin(1.5 pi) = -1', () => {
    const v = gsdEncoding(20, gsd);
    expect(v[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(v[3]).toBeCloseTo(-1, 12);
    expect(v[7]).toBeCloseTo(0, 12); // cos(1.5 pi)
    expect(v[8]).toBe(1);
    expect(gsdEncoding(5, gsd)[8]).toBe(-1);
  });

  it('rejects a non-positive GSD, naming the band', () => {
    expect(() => gsdEncoding(0, gsd, undefined, 0, "band 'B02'")).toThrow(/band 'B02'.*gsdM/);
  });
});

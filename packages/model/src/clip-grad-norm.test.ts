import { describe, expect, it } from 'vitest';
import { clipByGlobalNorm, globalNorm } from './clip-grad-norm.js';

describe('clipByGlobalNorm', () => {
  it('scales all arrays by maxNorm / globalNorm when the norm is too large', () => {
    // [3, 4] and [12]: sqrt(9 + 16 + 144) = 13; maxNorm 6.5 -> scale 1/2.
    const a = Float32Array.of(3, 4);
    const b = Float32Array.of(12);
    const r = clipByGlobalNorm([a, b], 6.5);
    expect(r).toEqual({ norm: 13, scale: 0.5 });
    expect(Array.from(a)).toEqual([1.5, 2]);
    expect(Array.from(b)).toEqual([6]);
    expect(globalNorm([a, b])).toBeCloseTo(6.5, 12);
  });

  it('leaves gradients under the limit untouched', () => {
    const g = Float32Array.of(3, 4);
    expect(clipByGlobalNorm(g, 5)).toEqual({ norm: 5, scale: 1 });
    expect(Array.from(g)).toEqual([3, 4]);
  });

  it('fails on NaN or Infinity gradients and on a non-positive limit', () => {
    expect(() => clipByGlobalNorm(Float32Array.of(1, Number.NaN), 1)).toThrow(/norm is NaN/);
    expect(() => clipByGlobalNorm(Float32Array.of(Infinity), 1)).toThrow(/norm is Infinity/);
    expect(() => clipByGlobalNorm(Float32Array.of(1), 0)).toThrow(/maxNorm must be positive/);
  });
});

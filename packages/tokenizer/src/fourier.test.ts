import { describe, expect, it } from 'vitest';
import { fourierDim, fourierFeatures, fourierFeaturesFast, fourierPlan, fourierScales } from './fourier.js';
import { SeededRng } from './rng.js';

describe('fourierScales', () => {
  it('is linspace(1, fmax/2, F), and [1] for F = 1', () => {
    expect(Array.from(fourierScales(2, 4))).toEqual([1, 2]);
    expect(Array.from(fourierScales(8, 16))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const s = Array.from(fourierScales(4, 4)); // linspace(1, 2, 4)
    expect(s[1]).toBeCloseTo(4 / 3, 15);
    expect(s[3]).toBe(2);
    expect(Array.from(fourierScales(1, 16))).toEqual([1]);
    expect(fourierDim(8)).toBe(17);
  });

  it('rejects bad parameters, naming them', () => {
    expect(() => fourierScales(0, 4)).toThrow(/numBands/);
    expect(() => fourierScales(2, 0)).toThrow(/maxFreq/);
  });
});

describe('fourierFeatures (reference)', () => {
  it('F=2, fmax=4 at u=0: sin 0, cos 1, u 0', () => {
    const out = new Float64Array(5);
    fourierFeatures(0, 2, 4, out);
    expect(Array.from(out)).toEqual([0, 0, 1, 1, 0]);
  });

  it('F=2, fmax=4 at u=1: angles 0.75*pi and 1.5*pi', () => {
    const out = new Float64Array(7);
    fourierFeatures(1, 2, 4, out, 1);
    const h = Math.SQRT1_2;
    // sin(3pi/4) = sqrt(1/2), sin(3pi/2) = -1, cos(3pi/4) = -sqrt(1/2), cos(3pi/2) = 0.
    const expected = [h, -1, -h, 0, 1];
    for (let i = 0; i < 5; i++) expect(out[1 + i]).toBeCloseTo(expected[i]!, 14);
    expect(out[0]).toBe(0);
    expect(out[6]).toBe(0);
  });
});

describe('fourierFeaturesFast', () => {
  it('matches the reference within 1e-9 over many u and configurations (budget 1e-5)', () => {
    const rng = new SeededRng(9);
    const configs: Array<[number, number]> = [
      [8, 16],
      [4, 4],
      [1, 16],
      [2, 4],
      [16, 64],
      [6, 10],
    ];
    let worst = 0;
    for (const [F, fmax] of configs) {
      const plan = fourierPlan(F, fmax);
      const ref = new Float64Array(2 * F + 1);
      const fast = new Float64Array(2 * F + 1);
      for (let i = 0; i < 2000; i++) {
        // Mostly z-scores and position/scale ratios, plus some very large values.
        const u = i % 10 === 0 ? (rng.next() - 0.5) * 2000 : rng.normal() * 3;
        fourierFeatures(u, F, fmax, ref);
        fourierFeaturesFast(u, plan, fast);
        for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(ref[j]! - fast[j]!));
      }
    }
    // The residual comes from rounding u*omega at |u| ~ 1000 (arguments ~1e5), not from the recurrence.
    expect(worst).toBeLessThan(1e-9);
  });

  it('uses one sin/cos pair for the default harmonic frequencies, and still matches', () => {
    expect(fourierPlan(8, 16).harmonic).toBe(true);
    expect(fourierPlan(4, 4).harmonic).toBe(false);
    const out = new Float32Array(17);
    fourierFeaturesFast(0.3, fourierPlan(8, 16), out);
    // k-th sine is sin(0.75*pi*k*0.3).
    expect(out[7]).toBeCloseTo(Math.sin(0.75 * Math.PI * 8 * 0.3), 6);
    expect(out[16]).toBeCloseTo(0.3, 7);
  });
});

import { describe, expect, it } from 'vitest';
import { cosineSchedule } from './schedule.js';

describe('cosineSchedule', () => {
  // 100 steps, 10% warm-up -> W = 10; peak 1e-3, floor 1e-5.
  const s = cosineSchedule({ peakLr: 1e-3, totalSteps: 100, minLr: 1e-5 });

  it('warms up linearly from peak/W at step 0 to the peak at step W-1', () => {
    expect(s.warmupSteps).toBe(10);
    expect(s.lr(0)).toBeCloseTo(1e-4, 15); // 1e-3 * 1/10
    expect(s.lr(4)).toBeCloseTo(5e-4, 15); // 1e-3 * 5/10
    expect(s.lr(9)).toBeCloseTo(1e-3, 15); // end of the warm-up
  });

  it('follows a half cosine from the peak to the floor', () => {
    expect(s.lr(10)).toBeCloseTo(1e-3, 15); // cos(0) = 1
    // Middle of the cosine: (55 - 10)/90 = 1/2 -> cos(pi/2) = 0 -> floor + (peak - floor)/2 = 5.05e-4.
    expect(s.lr(55)).toBeCloseTo(5.05e-4, 15);
    // A third of the way: step 40 -> 30/90 = 1/3 -> cos(pi/3) = 1/2 -> floor + 3/4 (peak - floor).
    expect(s.lr(40)).toBeCloseTo(1e-5 + 0.75 * 0.99e-3, 15);
    expect(s.lr(99)).toBeGreaterThan(1e-5); // the last step still moves
    expect(s.lr(100)).toBeCloseTo(1e-5, 15); // the end
    expect(s.lr(1000)).toBe(1e-5);
  });

  it('is monotone after the warm-up', () => {
    for (let t = 10; t < 100; t++) expect(s.lr(t + 1)).toBeLessThanOrEqual(s.lr(t));
  });

  it('accepts explicit warm-up steps, none at all, and rejects bad options', () => {
    const noWarm = cosineSchedule({ peakLr: 2, totalSteps: 4, warmupSteps: 0 });
    // (1 + cos(pi t/4))/2 * 2 = 1 + cos(pi t / 4): 2, 1 + sqrt(2)/2, 1, 1 - sqrt(2)/2.
    expect([0, 1, 2, 3].map((t) => noWarm.lr(t))).toEqual([2, 1 + Math.SQRT1_2, 1, 1 - Math.SQRT1_2].map((v) => expect.closeTo(v, 12)));
    expect(() => cosineSchedule({ peakLr: 1, totalSteps: 10, warmupSteps: 10 })).toThrow(
      /warmupSteps must be an integer in \[0, totalSteps = 10\)/,
    );
    expect(() => cosineSchedule({ peakLr: 1, totalSteps: 10, minLr: 2 })).toThrow(/minLr must be in \[0, peakLr = 1\]/);
    expect(() => s.lr(-1)).toThrow(/step must be a non-negative integer/);
  });
});

import { describe, expect, it } from 'vitest';
import { stubLoss, stubUpdate } from './stub-compute.js';

describe('stub compute', () => {
  it('is a pure function of the seed, of the requested size, small and finite', () => {
    const a = stubUpdate({ seed: 42 }, 10_001);
    const b = stubUpdate({ seed: 42 }, 10_001);
    const c = stubUpdate({ seed: 43 }, 10_001);
    expect(a.length).toBe(10_001);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    expect(a.every((v) => Number.isFinite(v) && Math.abs(v) <= 1e-3)).toBe(true);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(5e-5);
    expect(stubUpdate({ seed: 0 }, 4).some((v) => v !== 0)).toBe(true);
  });

  it('gives a loss that falls with the round', () => {
    expect(stubLoss({ round: 1, job: 0 })).toBeGreaterThan(stubLoss({ round: 4, job: 0 }));
  });
});

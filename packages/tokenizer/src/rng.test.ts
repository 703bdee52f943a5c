import { describe, expect, it } from 'vitest';
import { SeededRng, deriveSeed } from './rng.js';

describe('SeededRng', () => {
  it('is xoshiro128**: from state [1, 2, 3, 4] the first outputs are 11520, 0, 5927040', () => {
    // Hand-stepped: out = rotl(s1 * 5, 7) * 9; s1 = 2 -> rotl(10, 7) = 1280 -> 11520.
    // After one step s1 = 2 ^ (3 ^ 1) = 0 -> 0; after two s1 = 1029 -> rotl(5145, 7) * 9 = 5927040.
    const rng = SeededRng.fromState({ s: [1, 2, 3, 4], spare: null });
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it('same seed, same stream; different seeds, different streams', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const c = new SeededRng(43);
    const da = Array.from({ length: 100 }, () => a.next());
    const db = Array.from({ length: 100 }, () => b.next());
    const dc = Array.from({ length: 100 }, () => c.next());
    expect(da).toEqual(db);
    expect(da).not.toEqual(dc);
  });

  it('next() lies in [0, 1) and is roughly uniform', () => {
    const rng = new SeededRng(7);
    const bins = new Array<number>(10).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const v = rng.next();
      expect(v >= 0 && v < 1).toBe(true);
      bins[Math.floor(v * 10)]! += 1;
    }
    // Each bin expects 2000 with std ~42; 10 std is far beyond chance.
    for (const b of bins) expect(Math.abs(b - 2000)).toBeLessThan(420);
  });

  it('int(n) covers exactly 0..n-1 and rejects bad n', () => {
    const rng = new SeededRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = rng.int(7);
      expect(Number.isInteger(v) && v >= 0 && v < 7).toBe(true);
      seen.add(v);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => rng.int(0)).toThrow(/integer 1 <= n/);
    expect(() => rng.int(2.5)).toThrow(/integer 1 <= n/);
  });

  it('normal() has mean 0 and variance 1', () => {
    const rng = new SeededRng(3);
    const n = 40000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = rng.normal();
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    // Standard errors: mean 0.005, variance ~0.007.
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('truncatedNormal stays within its bound', () => {
    const rng = new SeededRng(5);
    for (let i = 0; i < 5000; i++) expect(Math.abs(rng.truncatedNormal(2))).toBeLessThanOrEqual(2);
  });

  it('state() round-trips through JSON and continues the same stream, pending normal included', () => {
    const rng = new SeededRng(11);
    rng.next();
    rng.normal(); // leaves a spare pending
    const saved = JSON.parse(JSON.stringify(rng.state())) as ReturnType<SeededRng['state']>;
    const restored = SeededRng.fromState(saved);
    expect([restored.normal(), restored.next(), restored.normal()]).toEqual([rng.normal(), rng.next(), rng.normal()]);
    expect(() => SeededRng.fromState({ s: [0, 0, 0, 0], spare: null })).toThrow(/not all 0/);
  });

  it('rejects non-integer seeds with a clear error', () => {
    expect(() => new SeededRng(1.5)).toThrow(/finite integer seed/);
    expect(() => deriveSeed(1, Number.NaN)).toThrow(/part 0/);
  });
});

describe('deriveSeed', () => {
  it('is deterministic, order-sensitive and separates neighbouring indices', () => {
    expect(deriveSeed(42, 3, 1)).toBe(deriveSeed(42, 3, 1));
    expect(deriveSeed(42, 3, 1)).not.toBe(deriveSeed(42, 1, 3));
    expect(deriveSeed(42, 0)).not.toBe(deriveSeed(42));
    expect(deriveSeed(42, 2 ** 32 + 1)).not.toBe(deriveSeed(42, 1));
    const seeds = new Set<number>();
    for (let sample = 0; sample < 1000; sample++) for (let epoch = 0; epoch < 5; epoch++) seeds.add(deriveSeed(42, sample, epoch));
    expect(seeds.size).toBe(5000);
  });

  it('derived streams are uncorrelated: first draws of samples 0..999 are uniform', () => {
    let s = 0;
    for (let i = 0; i < 1000; i++) s += SeededRng.derive(42, i, 0).next();
    // Mean of 1000 uniforms: std 0.009.
    expect(Math.abs(s / 1000 - 0.5)).toBeLessThan(0.05);
  });
});

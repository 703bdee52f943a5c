import { describe, expect, it } from 'vitest';
import { SeededRng } from './rng.js';
import { subsampleAtoms } from './subsample.js';
import type { AtomSet } from './types.js';

/** Atom i carries value i, so a subset shows which atoms it kept. */
function numbered(n: number): AtomSet {
  const set: AtomSet = {
    length: n,
    value: new Float32Array(n),
    band: new Uint16Array(n),
    x: new Float32Array(n),
    y: new Float32Array(n),
    bands: [{ kind: 'channel', name: 'VV', gsdM: 10, channelKind: 'sar-vv' }],
    doy: 42,
  };
  for (let i = 0; i < n; i++) {
    set.value[i] = i;
    set.x[i] = i * 10;
    set.y[i] = -i;
  }
  return set;
}

describe('subsampleAtoms', () => {
  it('keeps maxAtoms distinct atoms, in original order, fields kept together', () => {
    const s = subsampleAtoms(numbered(1000), 100, 7);
    expect(s.length).toBe(100);
    const v = Array.from(s.value);
    expect(new Set(v).size).toBe(100);
    expect([...v].sort((a, b) => a - b)).toEqual(v);
    for (let i = 0; i < 100; i++) {
      expect(s.x[i]).toBe(v[i]! * 10);
      expect(s.y[i]).toBe(-v[i]!);
    }
    expect(s.doy).toBe(42);
  });

  it('same seed, same subset; another seed, another subset; a generator works like its seed', () => {
    const atoms = numbered(5000);
    const a = Array.from(subsampleAtoms(atoms, 300, 1).value);
    expect(Array.from(subsampleAtoms(atoms, 300, 1).value)).toEqual(a);
    expect(Array.from(subsampleAtoms(atoms, 300, new SeededRng(1)).value)).toEqual(a);
    expect(Array.from(subsampleAtoms(atoms, 300, 2).value)).not.toEqual(a);
  });

  it('is uniform: every atom is kept about k/n of the time', () => {
    const n = 50;
    const counts = new Array<number>(n).fill(0);
    const atoms = numbered(n);
    const rng = new SeededRng(3);
    const trials = 4000;
    for (let t = 0; t < trials; t++) for (const v of subsampleAtoms(atoms, 10, rng).value) counts[v]! += 1;
    // Expected 800 per atom, binomial std ~25; 6 std bound.
    for (const c of counts) expect(Math.abs(c - 800)).toBeLessThan(150);
  });

  it('keeps everything when the set is small enough, and rejects a bad maxAtoms', () => {
    expect(Array.from(subsampleAtoms(numbered(5), 10, 1).value)).toEqual([0, 1, 2, 3, 4]);
    expect(subsampleAtoms(numbered(5), 0, 1).length).toBe(0);
    expect(() => subsampleAtoms(numbered(5), -1, 1)).toThrow(/maxAtoms/);
  });
});

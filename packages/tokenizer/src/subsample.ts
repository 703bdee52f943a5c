// Training-time atom subsampling (docs/model.md section 3): keep a seeded
// random subset of at most maxAtoms atoms, drawn without replacement by
// Floyd's algorithm over a bitmap (k draws, one O(N) sweep). The kept atoms
// stay in their original order (band by band, row by row), which keeps the
// set readable and memory access sequential when encoding.

import { SeededRng } from './rng.js';
import type { AtomSet } from './types.js';

/**
 * A new AtomSet with min(maxAtoms, atoms.length) atoms chosen uniformly
 * without replacement; the same seed (or a generator in the same state)
 * chooses the same subset. The band table is shared, not copied.
 */
export function subsampleAtoms(atoms: AtomSet, maxAtoms: number, rngOrSeed: SeededRng | number): AtomSet {
  if (!Number.isInteger(maxAtoms) || maxAtoms < 0) {
    throw new Error(`subsampleAtoms: maxAtoms must be a non-negative integer, got ${maxAtoms}`);
  }
  const n = atoms.length;
  const k = Math.min(maxAtoms, n);
  const chosen = new Int32Array(k);
  if (k === n) {
    for (let i = 0; i < n; i++) chosen[i] = i;
  } else {
    // Floyd's algorithm: k draws, each j in n-k..n-1 adds one new index
    // (t, or j itself when t was already taken), uniform over k-subsets.
    const rng = typeof rngOrSeed === 'number' ? new SeededRng(rngOrSeed) : rngOrSeed;
    const taken = new Uint8Array(n);
    for (let j = n - k; j < n; j++) {
      const t = rng.int(j + 1);
      if (taken[t] === 0) taken[t] = 1;
      else taken[j] = 1;
    }
    // Sweeping the bitmap yields the subset in original order, without a sort
    // (sorting 20k indices costs ~10x more than this sweep).
    let c = 0;
    for (let i = 0; i < n; i++) if (taken[i] === 1) chosen[c++] = i;
  }
  const value = new Float32Array(k);
  const band = new Uint16Array(k);
  const x = new Float32Array(k);
  const y = new Float32Array(k);
  for (let i = 0; i < k; i++) {
    const j = chosen[i] as number;
    value[i] = atoms.value[j] as number;
    band[i] = atoms.band[j] as number;
    x[i] = atoms.x[j] as number;
    y[i] = atoms.y[j] as number;
  }
  return { length: k, value, band, x, y, bands: atoms.bands, doy: atoms.doy };
}

// Training-time spatial augmentation (the authors' recipe): one of the 8
// symmetries of the square, 4 rotations by 90 degrees times an optional mirror,
// applied to the atoms' positions about the image centre. A ground scene has no
// preferred orientation, so a class must not depend on it; the pixel values and
// the band table are untouched, so this costs one pass over x and y.

import type { SeededRng } from './rng.js';
import type { AtomSet } from './types.js';

/**
 * The atom set under symmetry k of the square (0..7): rotate by (k mod 4) x 90
 * degrees counter-clockwise, mirrored in x first when k >= 4. k = 0 returns `atoms`.
 */
export function dihedralAtoms(atoms: AtomSet, k: number): AtomSet {
  if (!Number.isInteger(k) || k < 0 || k > 7) throw new Error(`dihedralAtoms: k must be an integer in 0..7, got ${k}`);
  if (k === 0) return atoms;
  const n = atoms.length;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const mirror = k >= 4 ? -1 : 1;
  const turns = k % 4;
  for (let i = 0; i < n; i++) {
    const x0 = mirror * (atoms.x[i] as number);
    const y0 = atoms.y[i] as number;
    // (x, y) -> (-y, x) per quarter turn.
    switch (turns) {
      case 0:
        x[i] = x0;
        y[i] = y0;
        break;
      case 1:
        x[i] = -y0;
        y[i] = x0;
        break;
      case 2:
        x[i] = -x0;
        y[i] = -y0;
        break;
      default:
        x[i] = y0;
        y[i] = -x0;
    }
  }
  return { ...atoms, x, y };
}

/** A uniformly drawn symmetry of the square (one draw). */
export function randomDihedral(atoms: AtomSet, rng: SeededRng): AtomSet {
  return dihedralAtoms(atoms, rng.int(8));
}

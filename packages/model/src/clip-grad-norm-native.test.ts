import { SeededRng } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { clipByGlobalNorm, globalNorm } from './clip-grad-norm.js';
import { nativeSumSquares, setNativeSumSquares } from './native-host.js';

// The addon's sum of squares (native-host.ts) must give the global norm of the
// JavaScript loop to the bit, over one array or several, and the same clipping.
// Skipped where the addon is not built.

const backend = await selectBackend('wasm');
const loop = nativeSumSquares();

function values(n: number, seed: number): Float32Array {
  const rng = new SeededRng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * 10 ** (rng.int(10) - 6));
}

/** f run with the JavaScript loop. */
function inJs<T>(f: () => T): T {
  setNativeSumSquares(undefined);
  try {
    return f();
  } finally {
    setNativeSumSquares(loop);
  }
}

describe.skipIf(!backend.native || loop === undefined)('native global norm', () => {
  it('the bits of the JavaScript loop: one array, several, empty ones, and the clipped gradients', () => {
    const one = values(100_003, 1);
    const many = [values(17, 2), new Float32Array(0), values(65_536, 3), values(5, 4)];
    expect(globalNorm(one)).toBe(inJs(() => globalNorm(one)));
    expect(globalNorm(many)).toBe(inJs(() => globalNorm(many)));
    const a = values(4097, 5);
    const b = Float32Array.from(a);
    const ra = clipByGlobalNorm(a, 1e-3);
    const rb = inJs(() => clipByGlobalNorm(b, 1e-3));
    expect(ra).toEqual(rb);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('refuses what is not a Float32Array or a range outside it', () => {
    expect(() => loop!(new Float64Array(4) as unknown as Float32Array, 0, 4, 0)).toThrow(/x must be a Float32Array/);
    expect(() => loop!(new Float32Array(4), 2, 5, 0)).toThrow(/within the array/);
  });
});

import { SeededRng } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { clipByGlobalNorm, globalNorm } from './clip-grad-norm.js';
import { modelConfig } from './config.js';
import { initParams } from './init.js';
import { nativeReadSquares, nativeSumSquares, setNativeReadSquares, setNativeSumSquares } from './native-host.js';
import { bigEarthNetBatch } from './testing/bigearthnet-batch.js';
import { gradients } from './training.js';

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

  it('the norm taken during the read-back of a gradient is globalNorm of it, and clips the same bits', async () => {
    const fused = nativeReadSquares();
    expect(fused).toBeDefined();
    const cfg = modelConfig('small');
    const w = initParams(cfg, 42);
    const { batch, labels } = await bigEarthNetBatch(3, 128, 42);
    const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const clipNorm of [undefined, 0.05]) {
      const got = gradients(w, batch, labels, cfg, { clipNorm });
      setNativeReadSquares(undefined);
      try {
        const want = gradients(w, batch, labels, cfg, { clipNorm });
        expect(got.gradNorm, `clipNorm ${clipNorm}`).toBe(want.gradNorm);
        expect(bits(got.grads).equals(bits(want.grads)), `clipNorm ${clipNorm}`).toBe(true);
        if (clipNorm === undefined) expect(got.gradNorm).toBe(inJs(() => globalNorm(want.grads)));
      } finally {
        setNativeReadSquares(fused);
      }
    }
  });

  it('refuses what is not a Float32Array or a range outside it', () => {
    expect(() => loop!(new Float64Array(4) as unknown as Float32Array, 0, 4, 0)).toThrow(/x must be a Float32Array/);
    expect(() => loop!(new Float32Array(4), 2, 5, 0)).toThrow(/within the array/);
    const read = nativeReadSquares()!;
    expect(() => read(new Uint8Array(16), 8, new Float32Array(4), 0, 4, 0)).toThrow(/inside the heap/);
    expect(() => read(new Uint8Array(16), 0, new Float32Array(4), 1, 4, 0)).toThrow(/inside dst/);
  });
});

import { SeededRng } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { nativeAdam, setNativeAdam } from './native-host.js';
import { Adam, type AdamOptions } from './optimizer.js';

// The addon's Adam loop (native-host.ts) must give the bits of the JavaScript one
// (applyAdamRange) for every option: Adam and AdamW, decay ranges, shared moments, and
// gradients from tiny to large, zeros and signed zeros included. Skipped where the addon
// is not built.

const backend = await selectBackend('wasm');
const loop = nativeAdam();

function values(n: number, seed: number): Float32Array {
  const rng = new SeededRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    out[i] = r < 0.05 ? 0 : r < 0.07 ? -0 : (rng.next() * 2 - 1) * 10 ** (rng.int(12) - 8);
  }
  return out;
}

/** Params after `steps` updates with the given loop (undefined: JavaScript), and the moments. */
function run(fn: typeof loop, opts: AdamOptions, steps: number): Float32Array[] {
  const n = 10_007;
  const params = values(n, 1);
  const adam = new Adam(n, opts);
  setNativeAdam(fn);
  try {
    for (let s = 0; s < steps; s++) adam.update(params, values(n, 10 + s), s % 2 === 0 ? 1e-3 : 3e-4);
  } finally {
    setNativeAdam(loop);
  }
  const { m, v } = adam.moments();
  return [params, m, v];
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.skipIf(!backend.native || loop === undefined)('native Adam loop', () => {
  const cases: Array<[string, AdamOptions]> = [
    ['Adam', { kind: 'adam', weightDecay: 0 }],
    ['Adam with L2 decay on ranges', { kind: 'adam', weightDecay: 0.1, decayRanges: [{ offset: 100, length: 5000 }] }],
    ['AdamW', { kind: 'adamw' }],
    [
      'AdamW on ranges, other betas, shared moments',
      {
        kind: 'adamw',
        weightDecay: 0.05,
        beta1: 0.8,
        beta2: 0.95,
        eps: 1e-6,
        shared: true,
        decayRanges: [
          { offset: 0, length: 3 },
          { offset: 9000, length: 1007 },
        ],
      },
    ],
  ];
  for (const [name, opts] of cases) {
    it(`${name}: the bits of the JavaScript loop over 5 steps`, () => {
      const js = run(undefined, opts, 5);
      const native = run(loop, opts, 5);
      ['params', 'm', 'v'].forEach((what, i) => expect(bits(native[i]!).equals(bits(js[i]!)), what).toBe(true));
    });
  }

  it('refuses arrays that are not Float32Arrays and ranges outside them', () => {
    const a = new Float32Array(4);
    expect(() => loop!(new Float64Array(4) as unknown as Float32Array, a, a, a, 0, 4, 0.9, 0.999, 1e-8, 1, 1, 0, 1)).toThrow(
      /params must be a Float32Array/,
    );
    expect(() => loop!(a, a, a, new Float32Array(3), 0, 4, 0.9, 0.999, 1e-8, 1, 1, 0, 1)).toThrow(/within the arrays/);
  });
});

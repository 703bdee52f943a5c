import { SeededRng } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { loadAddon, type NativeAddon } from './addon.js';

// The distributed engine needs the same job to give the same bits in any worker
// process, whatever that process computed before. What differs between two
// processes is where the tensors sit on the wasm heap (tfjs's allocator places
// them on 8-byte boundaries, so their addresses differ mod 16, 32, 64), so every
// addon call here is made with its operands copied to each 4-byte alignment mod
// 64 of a heap of its own, and the output bits must not move. The whole model
// gradient at shifted heap layouts is model-determinism.test.ts.

// (ATOMIZER_NATIVE_ADDON is honoured, so a candidate build can be checked before it replaces the installed one)
const load = loadAddon({ ATOMIZER_NATIVE_ADDON: process.env.ATOMIZER_NATIVE_ADDON });

/** Fresh float32 values in [-scale, scale) from a fixed seed. */
function values(n: number, seed: number, scale = 1): Float32Array {
  const rng = new SeededRng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(-scale, scale);
  return v;
}

/** Float offsets (mod 16 floats = 64 bytes) the operands are placed at, one run each. */
const SHIFTS = Array.from({ length: 16 }, (_, i) => i);

/**
 * Runs `call` once per shift: the inputs are copied into a fresh heap at 64-byte
 * boundaries plus the shift (each operand its own shift, so inputs and outputs are
 * misaligned against each other too), the outputs are read back. Returns the first
 * difference from the unshifted run, or null when every run gave the same bits.
 */
function mismatchOverShifts(
  inputs: Float32Array[],
  outputs: number[],
  call: (heap: Uint8Array, inOff: number[], outOff: number[]) => void,
): string | null {
  let ref: Uint32Array[] | undefined;
  for (const shift of SHIFTS) {
    const sizes = [...inputs.map((x) => x.length), ...outputs];
    const offs: number[] = [];
    let at = 0;
    sizes.forEach((n, i) => {
      at = Math.ceil(at / 64) * 64 + 4 * ((shift + 5 * i) % 16);
      offs.push(at);
      at += 4 * n + 64;
    });
    const heap = new Uint8Array(at + 64);
    // other garbage in every run (NaN, zeros, small numbers): an output element left unwritten, or read before written, shows
    heap.fill([0xff, 0, 0x3c, 0x80][shift % 4] as number);
    inputs.forEach((x, i) => new Float32Array(heap.buffer, offs[i], x.length).set(x));
    call(heap, offs.slice(0, inputs.length), offs.slice(inputs.length));
    const got = outputs.map(
      (n, o) => new Uint32Array(heap.buffer.slice(offs[inputs.length + o] as number, (offs[inputs.length + o] as number) + 4 * n)),
    );
    if (ref === undefined) {
      ref = got;
      continue;
    }
    for (let o = 0; o < got.length; o++) {
      const a = ref[o] as Uint32Array;
      const b = got[o] as Uint32Array;
      for (let i = 0; i < a.length; i++) {
        if (a[i] !== b[i]) {
          return `shift ${shift}: output ${o} element ${i} is ${new Float32Array(b.buffer)[i]}, unshifted ${new Float32Array(a.buffer)[i]}`;
        }
      }
    }
  }
  return null;
}

// The addon's suites run only where it loads; elsewhere they show as skipped, with the reason.
const addon = (load.ok ? load.addon : undefined) as NativeAddon;
const skipReason = load.ok ? '' : ` (skipped: ${load.reason})`;
describe.runIf(load.ok)(`native kernels give the same bits wherever their operands sit on the heap${skipReason}`, () => {
  it('gemm: thin, square, batched, transposed and broadcast products of the model', () => {
    // [batch, m, n, k, transA, transB, aStride0 (broadcast a)]
    const cases: Array<[number, number, number, number, boolean, boolean, boolean]> = [
      [1, 37, 23, 29, false, false, false],
      [1, 2048, 128, 64, false, false, false],
      [1, 1, 300, 64, false, false, false],
      [1, 300, 64, 1, false, false, false],
      [1, 300, 1, 64, false, false, false],
      [1, 64, 84, 2048, false, false, false],
      [1, 64, 84, 2048, true, false, false],
      [1, 84, 2048, 64, false, true, false],
      [1, 64, 84, 2048, true, true, false],
      [8, 32, 256, 64, false, true, false],
      [8, 32, 64, 256, false, false, false],
      [8, 256, 64, 32, true, false, false],
      [8, 1, 5, 64, false, false, true],
      [4, 7, 1, 3, false, false, true],
    ];
    // and small random ones (the tiny preset's products: heads of 4, latents of 8, 24 x 36 atoms)
    const rng = new SeededRng(11);
    for (let i = 0; i < 24; i++)
      cases.push([1 + rng.int(3), 1 + rng.int(40), 1 + rng.int(40), 1 + rng.int(40), rng.next() < 0.5, rng.next() < 0.5, rng.next() < 0.3]);
    for (const [batch, m, n, k, ta, tb, bcast] of cases) {
      const a = values((bcast ? 1 : batch) * m * k, 1);
      const b = values((bcast ? 1 : batch) * k * n, 2);
      const label = `gemm batch ${batch} m ${m} n ${n} k ${k}${ta ? ' transA' : ''}${tb ? ' transB' : ''}${bcast ? ' broadcast' : ''}`;
      expect(
        mismatchOverShifts([a, b], [batch * m * n], (heap, [ao, bo], [co]) =>
          addon.gemm(heap, ao as number, bo as number, co as number, batch, bcast ? 0 : m * k, bcast ? 0 : k * n, m, n, k, ta, tb),
        ),
        label,
      ).toBeNull();
    }
  });

  it('reduce: sum, mean, max, min over rows, columns and everything', () => {
    for (let op = 0; op < 4; op++) {
      for (const [outer, red, inner] of [
        [1, 8192, 84],
        [8192, 84, 1],
        [3, 1001, 1],
        [1, 1001, 3],
        [1, 65_792, 1],
        [7, 5, 1],
      ] as Array<[number, number, number]>) {
        const x = values(outer * red * inner, 3);
        expect(
          mismatchOverShifts([x], [outer * inner], (heap, [xo], [yo]) =>
            addon.reduce(heap, xo as number, yo as number, outer, red, inner, op),
          ),
          `reduce op ${op} [${outer},${red},${inner}]`,
        ).toBeNull();
      }
    }
  });

  it('binary: the seven ops on same-shape, row, column and scalar operands', () => {
    // dims [d0..d3], a strides, b strides (as kernels.ts's broadcastPlan gives them)
    const plans: Array<[number[], number[], number[], number, number]> = [
      [[1, 1, 1, 8 * 257 * 84], [0, 0, 0, 1], [0, 0, 0, 1], 8 * 257 * 84, 8 * 257 * 84],
      [[1, 1, 8 * 257, 84], [0, 0, 84, 1], [0, 0, 0, 1], 8 * 257 * 84, 84],
      [[1, 1, 8 * 257, 83], [0, 0, 83, 1], [0, 0, 1, 0], 8 * 257 * 83, 8 * 257],
      [[1, 1, 1, 1001], [0, 0, 0, 0], [0, 0, 0, 1], 1, 1001],
    ];
    for (let op = 0; op < 7; op++) {
      for (const [dims, as, bs, na, nb] of plans) {
        const a = values(na, 4);
        const b = values(nb, 5);
        const size = dims.reduce((p, d) => p * d, 1);
        expect(
          mismatchOverShifts([a, b], [size], (heap, [ao, bo], [yo]) =>
            addon.binary(heap, op, ao as number, bo as number, yo as number, ...dims, ...as, ...bs),
          ),
          `binary op ${op} dims [${dims}]`,
        ).toBeNull();
      }
    }
  });

  it('unary exp and erf, transpose and row permutation', () => {
    for (const op of [0, 1]) {
      for (const n of [8 * 32 * 257, 7, 33]) {
        const x = values(n, 6, 4);
        expect(
          mismatchOverShifts([x], [n], (heap, [xo], [yo]) => addon.unary(heap, op, xo as number, yo as number, n)),
          `unary op ${op} n ${n}`,
        ).toBeNull();
      }
    }
    const x = values(8 * 129 * 37, 8);
    expect(
      mismatchOverShifts([x], [x.length], (heap, [xo], [yo]) => addon.transpose(heap, xo as number, yo as number, 8, 129, 37)),
      'transpose',
    ).toBeNull();
    expect(
      mismatchOverShifts([x], [x.length], (heap, [xo], [yo]) =>
        addon.permuteRows(heap, xo as number, yo as number, 37, 2, 129, 8, 37, 129 * 37),
      ),
      'permuteRows',
    ).toBeNull();
  });

  it('fused LayerNorm forward and backward', () => {
    for (const [rows, cols] of [
      [8 * 129, 64],
      [8 * 129, 84],
      [33, 257],
      [5, 3],
    ] as Array<[number, number]>) {
      const x = values(rows * cols, 9, 3);
      const g = values(cols, 10);
      const b = values(cols, 11);
      const dy = values(rows * cols, 12);
      const eps = new Uint32Array(new Float32Array([1e-5]).buffer)[0] as number;
      expect(
        mismatchOverShifts([x, g, b], [rows * cols, rows * cols, rows], (heap, [xo, go, bo], [yo, ho, ro]) =>
          addon.layerNorm(heap, xo as number, go as number, bo as number, yo as number, ho as number, ro as number, rows, cols, eps),
        ),
        `layerNorm [${rows},${cols}]`,
      ).toBeNull();
      const xhat = values(rows * cols, 13);
      const r = values(rows, 14, 2);
      expect(
        mismatchOverShifts([dy, xhat, r, g], [rows * cols, cols, cols], (heap, [dyo, ho, ro, go], [dxo, dgo, dbo]) =>
          addon.layerNormGrad(
            heap,
            dyo as number,
            ho as number,
            ro as number,
            go as number,
            dxo as number,
            dgo as number,
            dbo as number,
            rows,
            cols,
          ),
        ),
        `layerNormGrad [${rows},${cols}]`,
      ).toBeNull();
    }
  });

  it('fused GEGLU gate forward and backward', () => {
    for (const [rows, half] of [
      [512, 256],
      [33, 257],
      [5, 3],
    ] as Array<[number, number]>) {
      const x = values(rows * 2 * half, 15, 4);
      const b = values(2 * half, 16);
      const cdf = values(rows * half, 17);
      const dy = values(rows * half, 18);
      expect(
        mismatchOverShifts([x, b], [rows * half, rows * half], (heap, [xo, bo], [yo, co]) =>
          addon.gegluGate(heap, xo as number, bo as number, yo as number, co as number, rows, half),
        ),
        `gegluGate [${rows},${2 * half}]`,
      ).toBeNull();
      expect(
        mismatchOverShifts([dy, x, b, cdf], [rows * 2 * half, 2 * half], (heap, [dyo, xo, bo, co], [dxo, dbo]) =>
          addon.gegluGateGrad(heap, dyo as number, xo as number, bo as number, co as number, dxo as number, dbo as number, rows, half),
        ),
        `gegluGateGrad [${rows},${2 * half}]`,
      ).toBeNull();
    }
  });

  it('Adam and the sum of squares over arrays at each alignment', () => {
    const n = 4099;
    const p0 = values(n, 19);
    const g = values(n, 20, 0.1);
    const m0 = values(n, 21, 0.01);
    const v0 = values(n, 22, 0.01).map(Math.abs);
    let ref: Uint32Array | undefined;
    for (const shift of SHIFTS) {
      const at = (a: Float32Array) => {
        const buf = new Float32Array(n + 16);
        buf.set(a, shift);
        return buf.subarray(shift, shift + n);
      };
      const [p, gg, m, v] = [at(p0), at(g), at(m0), at(v0)] as [Float32Array, Float32Array, Float32Array, Float32Array];
      addon.adam(p, gg, m, v, 0, n, 0.9, 0.999, 1e-8, 1e-3, 0.3, 0.01, 0.999);
      const norm = new Float32Array(new Float64Array([addon.sumSquares(gg, 0, n, 0.5)]).buffer);
      const got = new Uint32Array(Float32Array.from([...p, ...m, ...v, ...norm]).buffer);
      if (ref === undefined) ref = got;
      else expect(Buffer.from(got.buffer).equals(Buffer.from(ref.buffer)), `shift ${shift}`).toBe(true);
    }
  });
});
describe.skipIf(load.ok)('without the addon', () => {
  it('is allowed to be absent unless CI requires it, and says why', () => {
    const reason = load.ok ? '' : load.reason;
    expect(reason.length).toBeGreaterThan(0);
    expect(process.env.ATOMIZER_NATIVE_REQUIRED, `native addon required but unusable: ${reason}`).not.toBe('1');
  });
});

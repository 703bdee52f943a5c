import { describe, expect, it } from 'vitest';
import { chunkSpans, chunkValues, float16Table, foldValues, meanOfSum, type ResultLayout } from './range-fold.js';

// The range reducer's arithmetic, shared by the coordinator's threads and the workers' reduce jobs.

describe('range fold', () => {
  it("chunkSpans: only the chunks that hold a range's values, with their bytes and first element", () => {
    // 10 f32 values in chunks of 16 bytes (4 values), payload from byte 100.
    const layout: ResultLayout = {
      fmt: 'f32',
      length: 10,
      payloadOffset: 100,
      payloadEnd: 140,
      chunks: { bytes: 16, sha256: ['a', 'b', 'c'] },
    };
    expect(chunkSpans(layout, 0, 10).map((s) => s.chunk)).toEqual([0, 1, 2]);
    expect(chunkSpans(layout, 5, 7)).toEqual([{ chunk: 1, start: 116, end: 132, first: 4 }]);
    expect(chunkSpans(layout, 8, 10)).toEqual([{ chunk: 2, start: 132, end: 140, first: 8 }]);
    expect(chunkSpans({ ...layout, fmt: 'bf16' }, 5, 7)).toEqual([{ chunk: 0, start: 100, end: 116, first: 0 }]);
    expect(() => chunkSpans({ ...layout, chunks: undefined }, 0, 1)).toThrow(/version 1/);
  });

  it('foldValues adds w x value into its range in float64, and refuses a non-finite value naming it', () => {
    const sum = new Float64Array(3); // elements [2, 5)
    const g = Float32Array.from([1, 2, 3, 4, 5, 6]); // elements [1, 7)
    expect(foldValues(sum, 2, 5, g, 1, 6, 0.5, 'k')).toBeUndefined();
    expect([...sum]).toEqual([1, 1.5, 2]);
    // `end` (the result's length) stops before the chunk's padding.
    expect(foldValues(sum, 2, 5, g, 1, 4, 2, 'k')).toBeUndefined();
    expect([...sum]).toEqual([5, 7.5, 2]);
    g[2] = Number.NaN;
    expect(foldValues(sum, 2, 5, g, 1, 7, 1, 'res.bin')).toBe('res.bin: value 3 is NaN (NaN/Inf gradient refused)');
    const mean = new Float32Array(3);
    meanOfSum(Float64Array.from([1, 2, 1 / 3]), 3, mean);
    expect([...mean]).toEqual([Math.fround(1 / 3), Math.fround(2 / 3), Math.fround(1 / 9)]);
  });

  it('chunkValues decodes bf16 and f16 bit patterns, and views f32 in place', () => {
    const f32 = Float32Array.from([1.5, -2]);
    expect(chunkValues(f32.buffer, 8, 'f32', new Float32Array(0), null)).toEqual(f32);
    const bf16 = Uint16Array.from([0x3fc0, 0xc000]); // 1.5, -2
    expect([...chunkValues(bf16.buffer, 4, 'bf16', new Float32Array(2), null)]).toEqual([1.5, -2]);
    const f16 = Uint16Array.from([0x3e00, 0xc000, 0x0001, 0x7c00]); // 1.5, -2, the smallest subnormal, Inf
    expect([...chunkValues(f16.buffer, 8, 'f16', new Float32Array(4), float16Table())]).toEqual([1.5, -2, 2 ** -24, Infinity]);
    expect(() => chunkValues(f16.buffer, 8, 'f16', new Float32Array(4), null)).toThrow(/float16Table/);
  });
});

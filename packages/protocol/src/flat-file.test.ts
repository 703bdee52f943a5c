import { describe, expect, it } from 'vitest';
import { decodeFlat, encodeFlat, encodeFlatChunks, flatPayloadSha256 } from './flat-file.js';

describe('flat file', () => {
  it('round-trips meta and arrays of each dtype, aligned', () => {
    const f = Float32Array.from([1.5, -2, Math.PI, 0]);
    const i = Int32Array.from([3, -7]);
    const u = Uint8Array.from([1, 2, 3]);
    const bytes = encodeFlat({ kind: 'x', round: 3 }, { f, i, u, f2: new Float32Array([9]) });
    expect(bytes.byteLength % 4).toBe(0);
    const back = decodeFlat(bytes, 'k');
    expect(back.meta).toEqual({ kind: 'x', round: 3 });
    expect(Array.from(back.arrays.f as Float32Array)).toEqual(Array.from(f));
    expect(Array.from(back.arrays.i as Int32Array)).toEqual([3, -7]);
    expect(Array.from(back.arrays.u as Uint8Array)).toEqual([1, 2, 3]);
    expect(Array.from(back.arrays.f2 as Float32Array)).toEqual([9]);
    expect(flatPayloadSha256(bytes, 'k')).toBe(back.payloadSha256);
  });

  it('encodeFlatChunks is encodeFlat in pieces that view the arrays', () => {
    const w = Float32Array.from([1, 2, 3]);
    const u = Uint8Array.from([7, 8, 9, 10, 11]);
    const c = encodeFlatChunks({ kind: 'w' }, { u, w });
    const joined = Buffer.concat(c.chunks);
    expect(joined.byteLength).toBe(c.byteLength);
    expect(joined.equals(Buffer.from(encodeFlat({ kind: 'w' }, { u, w })))).toBe(true);
    expect(c.chunks.some((x) => x.buffer === w.buffer)).toBe(true);
    expect(c.payloadSha256).toBe(flatPayloadSha256(joined, 'k'));
  });

  it('copy: false gives views into the bytes where aligned, copies where not', () => {
    const bytes = encodeFlat({ k: 1 }, { f: Float32Array.from([1, 2, 3]) });
    const view = decodeFlat(bytes, 'k', { copy: false }).arrays.f as Float32Array;
    expect(view.buffer).toBe(bytes.buffer);
    expect(Array.from(view)).toEqual([1, 2, 3]);
    // The same object at an odd offset cannot be viewed as float32: copied, same values.
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const copied = decodeFlat(shifted.subarray(1), 'k', { copy: false }).arrays.f as Float32Array;
    expect(copied.buffer).not.toBe(shifted.buffer);
    expect(Array.from(copied)).toEqual([1, 2, 3]);
    expect((decodeFlat(bytes, 'k').arrays.f as Float32Array).buffer).not.toBe(bytes.buffer);
  });

  it('refuses a corrupted payload, a truncated object and a foreign file by name', () => {
    const bytes = encodeFlat({ a: 1 }, { w: new Float32Array(100).fill(1) });
    const bad = bytes.slice();
    bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 0xff;
    expect(() => decodeFlat(bad, 'runs/x/weights/000001.bin')).toThrow(/runs\/x\/weights\/000001.bin.*corrupted/);
    expect(() => decodeFlat(bytes.subarray(0, bytes.length - 8), 'k')).toThrow(/truncated/);
    expect(() => decodeFlat(new TextEncoder().encode('hello world, not flat'), 'k')).toThrow(/magic/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  FLAT_CHUNK_BYTES,
  FLAT_VERSION,
  decodeFlat,
  encodeFlat,
  encodeFlatChunks,
  flatChunkSha256,
  flatHeaderBytes,
  flatPayloadSha256,
  readFlatHeader,
} from './flat-file.js';
import { sha256Hex } from './sha256.js';

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

describe('flat file version 2: the payload hashed in chunks', () => {
  /** A version 1 object as builds before issue 13 wrote it (payloadSha256 over the arrays' bytes). */
  function version1(meta: Record<string, unknown>, w: Float32Array): Uint8Array {
    const body = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    const header = new TextEncoder().encode(
      JSON.stringify({ meta, arrays: [{ name: 'w', dtype: 'f32', length: w.length }], payloadSha256: sha256Hex(body) }),
    );
    const head = (12 + header.length + 3) & ~3;
    const out = new Uint8Array(head + body.byteLength);
    out.set(new TextEncoder().encode('ATZF'), 0);
    new DataView(out.buffer).setUint32(4, 1, true);
    new DataView(out.buffer).setUint32(8, header.length, true);
    out.set(header, 12);
    out.set(body, head);
    return out;
  }

  it('records one sha256 per chunk of the payload region; the header alone gives the layout', () => {
    const n = FLAT_CHUNK_BYTES / 4 + 10; // two chunks, the second 40 bytes + padding
    const w = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    const u = Uint8Array.from([1, 2, 3]);
    const bytes = encodeFlat({ k: 1 }, { w, u });
    const prefix = bytes.subarray(0, 12);
    const headerEnd = flatHeaderBytes(prefix, 'k');
    const h = readFlatHeader(bytes.subarray(0, headerEnd), 'k');
    expect(h.version).toBe(FLAT_VERSION);
    expect(h.arrays.map((a) => [a.name, a.dtype, a.length, a.byteLength])).toEqual([
      ['w', 'f32', n, 4 * n],
      ['u', 'u8', 3, 3],
    ]);
    expect(h.arrays[0]!.offset).toBe(h.payloadOffset);
    expect(h.payloadEnd).toBe(bytes.byteLength);
    expect(h.chunks?.sha256).toHaveLength(2);
    const second = bytes.subarray(h.payloadOffset + FLAT_CHUNK_BYTES, h.payloadEnd);
    expect(flatChunkSha256(second)).toBe(h.chunks!.sha256[1]);
    expect(flatPayloadSha256(bytes, 'k')).toBe(h.payloadSha256);
    // A flipped byte in the second chunk is named by its chunk.
    const bad = bytes.slice();
    bad[h.payloadOffset + FLAT_CHUNK_BYTES + 5] = (bad[h.payloadOffset + FLAT_CHUNK_BYTES + 5] as number) ^ 1;
    expect(() => decodeFlat(bad, 'k')).toThrow(/payload chunk 1 .*corrupted/);
  });

  it('still reads version 1 objects, and refuses an unknown version or a forged chunk list', () => {
    const w = Float32Array.from([1, 2, 3]);
    const v1 = version1({ a: 1 }, w);
    const back = decodeFlat(v1, 'old');
    expect(Array.from(back.arrays.w as Float32Array)).toEqual([1, 2, 3]);
    expect(readFlatHeader(v1, 'old').chunks).toBeUndefined();
    const v3 = v1.slice();
    new DataView(v3.buffer).setUint32(4, 3, true);
    expect(() => decodeFlat(v3, 'k')).toThrow(/format version 3, this build reads 1 and 2/);
    const v2 = encodeFlat({ a: 1 }, { w });
    // One hex digit of the first chunk digest changed in the header (the payload untouched).
    const forged = v2.slice();
    const at = Buffer.from(forged).indexOf('"chunkSha256":["') + '"chunkSha256":["'.length;
    forged[at] = forged[at] === 0x30 ? 0x31 : 0x30;
    expect(() => decodeFlat(forged, 'k')).toThrow(/payloadSha256 is not the hash of the chunk digests/);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { TensorTable } from './tensor-table.js';

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A file built by hand from a header object and a data section, to feed the reader bad input. */
function handMade(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function sampleTable(): TensorTable {
  // float32 specials: NaN with a payload, -0, the smallest subnormal, the largest finite.
  const specials = new Float32Array(new Uint32Array([0x7fc00123, 0x80000000, 0x00000001, 0x7f7fffff]).buffer);
  return {
    'enc.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.of(0.1, -0.2, 1e-30, 3e38, Math.PI, -1) },
    specials: { dtype: 'F32', shape: [4], data: specials },
    step: { dtype: 'I64', shape: [], data: BigInt64Array.of(-(2n ** 62n) + 7n) },
    counts: { dtype: 'I32', shape: [3], data: Int32Array.of(-1, 0, 2 ** 31 - 1) },
    mask: { dtype: 'U8', shape: [5], data: Uint8Array.of(0, 1, 255, 3, 4) },
    exact: { dtype: 'F64', shape: [1, 2], data: Float64Array.of(0.1, 1 / 3) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
}

describe('safetensors', () => {
  it('round-trips every dtype bit-exactly, metadata included', () => {
    const table = sampleTable();
    const back = decodeSafetensors(encodeSafetensors(table, { run: 'r1', round: '12' }));
    expect(back.metadata).toEqual({ run: 'r1', round: '12' });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(table).sort());
    for (const [name, t] of Object.entries(table)) {
      const b = back.tensors[name];
      expect(b?.dtype, name).toBe(t.dtype);
      expect(b?.shape, name).toEqual(t.shape);
      expect(bytesOf(b?.data as ArrayBufferView), name).toEqual(bytesOf(t.data));
    }
  });

  it('decodes a Node Buffer at an offset in a larger buffer (readFile, pooled Buffers) to the right values', () => {
    const bytes = encodeSafetensors(sampleTable());
    const backing = Buffer.alloc(bytes.byteLength + 13, 0xab);
    backing.set(bytes, 13);
    const { tensors } = decodeSafetensors(backing.subarray(13), 'buffer.safetensors');
    expect(Array.from(tensors['enc.weight']!.data as Float32Array)).toEqual(
      Array.from(Float32Array.of(0.1, -0.2, 1e-30, 3e38, Math.PI, -1)),
    );
    expect(Array.from(tensors.counts!.data as Int32Array)).toEqual([-1, 0, 2 ** 31 - 1]);
  });

  it('writes the layout of the spec: u64 LE header length, space-padded JSON, data at the offsets', () => {
    const table = sampleTable();
    const file = encodeSafetensors(table, { note: 'hi' });
    // Parse per the spec, independently of decodeSafetensors.
    const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0); // data section starts 8-byte aligned
    const text = new TextDecoder().decode(file.subarray(8, 8 + n));
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true); // padding is spaces only
    const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    expect(header.__metadata__).toEqual({ note: 'hi' });
    const data = file.subarray(8 + n);
    let covered = 0;
    const sizes: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, U8: 1 };
    for (const [name, t] of Object.entries(table)) {
      const h = header[name];
      if (h === undefined) throw new Error(`missing ${name}`);
      expect(h.dtype).toBe(t.dtype);
      expect(h.shape).toEqual(t.shape);
      const [b, e] = h.data_offsets;
      expect(b % (sizes[t.dtype] as number), `${name} aligned`).toBe(0);
      expect(data.subarray(b, e), name).toEqual(bytesOf(t.data));
      covered += e - b;
    }
    expect(covered).toBe(data.byteLength);
  });

  it('stores F32 tensors as F16 or BF16 on request, half the bytes, values rounded', () => {
    const t: TensorTable = { w: { dtype: 'F32', shape: [3], data: Float32Array.of(1, 0.1, 65504) } };
    const f32 = encodeSafetensors(t);
    const half = encodeSafetensors(t, {}, { floatDType: 'F16' });
    const bf = encodeSafetensors(t, {}, { floatDType: 'BF16' });
    const dataBytes = (f: Uint8Array): number => f.byteLength - 8 - Number(new DataView(f.buffer).getBigUint64(0, true));
    expect(dataBytes(f32)).toBe(12);
    expect(dataBytes(half)).toBe(6);
    const h = decodeSafetensors(half).tensors.w;
    expect(h?.dtype).toBe('F16');
    // 0.1 -> float16 0x2e66 = 0.0999755859375; 65504 is float16's largest finite.
    expect(Array.from(h?.data as Float32Array)).toEqual([1, 0.0999755859375, 65504]);
    // bfloat16: 0.1 -> 0x3dcd = 0.10009765625; 65504 -> 65536.
    expect(Array.from(decodeSafetensors(bf).tensors.w?.data as Float32Array)).toEqual([1, 0.10009765625, 65536]);
  });

  it('rejects a header length beyond the file, and a truncated file', () => {
    const file = encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } });
    const bad = file.slice();
    new DataView(bad.buffer).setBigUint64(0, BigInt(file.byteLength), true);
    expect(() => decodeSafetensors(bad, 'w.safetensors')).toThrow(/w.safetensors: header length \d+ goes beyond the file/);
    expect(() => decodeSafetensors(file.subarray(0, 5))).toThrow(/5 bytes; a safetensors file starts with an 8-byte header length/);
    expect(() => decodeSafetensors(file.subarray(0, file.byteLength - 4))).toThrow(
      /'a': data_offsets \[0, 8\] are out of range \(data is 4 bytes\)/,
    );
  });

  it('rejects overlapping, holed, mis-sized and unknown-dtype tensors, naming them', () => {
    const data = new Uint8Array(16);
    expect(() =>
      decodeSafetensors(
        handMade(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
            c: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
          },
          data,
        ),
      ),
    ).toThrow(/tensor 'b' \[4, 12\) overlaps tensor 'a'/);
    expect(() => decodeSafetensors(handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data))).toThrow(
      /tensor 'a' starts at 8, leaving a hole after byte 0/,
    );
    expect(() => decodeSafetensors(handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, data))).toThrow(
      /tensor 'a': 16 bytes, but F32 shape \[3\] needs 12/,
    );
    expect(() => decodeSafetensors(handMade({ q: { dtype: 'F8_E4M3', shape: [16], data_offsets: [0, 16] } }, data))).toThrow(
      /tensor 'q': unknown dtype "F8_E4M3"/,
    );
    expect(() =>
      decodeSafetensors(handMade({ a: { dtype: 'U8', shape: [16], data_offsets: [0, 16] }, __metadata__: { n: 3 } }, data)),
    ).toThrow(/__metadata__ 'n' must be a string/);
  });

  it('refuses to write inconsistent tensors', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /Tensor 'w': shape \[2, 2\] has 4 elements but data has 3/,
    );
    expect(() => encodeSafetensors({ w: { dtype: 'I32', shape: [1], data: new Float32Array(1) } as never })).toThrow(
      /Tensor 'w': dtype I32 needs its data in a Int32Array/,
    );
  });
});

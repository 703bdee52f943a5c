import { describe, expect, it } from 'vitest';
import { decodeTransport, encodeTransport, transportMeta } from './transport.js';

describe('transport formats', () => {
  const values = Float32Array.from([0, 1, -2.5, 3.14159, 1e-3, -7e-6, 65000]);

  it('f32 travels as itself; bf16 and f16 as u16 bit patterns that decode near the values', () => {
    expect(encodeTransport(values, 'f32')).toBe(values);
    expect(decodeTransport(values, undefined, 7, 'x')).toBe(values);
    for (const [format, rel] of [
      ['bf16', 2 ** -8],
      ['f16', 2 ** -11],
    ] as const) {
      const stored = encodeTransport(values, format);
      expect(stored).toBeInstanceOf(Uint16Array);
      const back = decodeTransport(stored, format, 7, 'x');
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        // f16's subnormals near 7e-6 have an absolute step of 2^-24.
        expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * rel + 2 ** -24);
      }
    }
    expect(transportMeta('f32')).toEqual({});
    expect(transportMeta('bf16')).toEqual({ transport: 'bf16' });
  });

  it('refuses an array of another format or length, naming it', () => {
    expect(() => decodeTransport(new Uint16Array(7), undefined, 7, 'runs/r/results/1/0.bin')).toThrow(
      /runs\/r\/results\/1\/0.bin: expected 7 float32 values, got 7 u16/,
    );
    expect(() => decodeTransport(values, 'bf16', 7, 'k')).toThrow(/expected 7 bf16 values \(u16 bit patterns\), got 7 float32/);
    expect(() => decodeTransport(new Uint16Array(6), 'f16', 7, 'k')).toThrow(/got 6 u16/);
    expect(() => decodeTransport(undefined, undefined, 7, 'k')).toThrow(/got no array/);
  });
});

import { describe, expect, it } from 'vitest';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32Bits, float32ToBFloat16Bits, float32ToFloat16Bits } from './half-float.js';

const f16 = (v: number): number => float32ToFloat16Bits(Float32Array.of(v))[0] as number;
const bf16 = (v: number): number => float32ToBFloat16Bits(Float32Array.of(v))[0] as number;
const fromF16 = (b: number): number => float16BitsToFloat32(Uint16Array.of(b))[0] as number;
const fromBf16 = (b: number): number => bfloat16BitsToFloat32(Uint16Array.of(b))[0] as number;

// Expected bit patterns are derived by hand in the comments (sign | exponent | mantissa);
// a one-off check with numpy astype(float16) and torch .bfloat16() gave the same patterns.
describe('float16', () => {
  it('encodes normal numbers, rounding the mantissa to nearest even', () => {
    expect(f16(1)).toBe(0x3c00); // exponent 15 (bias), mantissa 0
    expect(f16(-2)).toBe(0xc000); // sign, exponent 16
    expect(f16(65504)).toBe(0x7bff); // largest finite: 1.9990234375 * 2^15
    expect(f16(65519)).toBe(0x7bff); // below the midpoint 65520: rounds down
    // 0.1 = 1.6 * 2^-4: exponent 11 -> 0x2c00; mantissa 0.6*1024 = 614.4 -> 614 = 0x266.
    expect(f16(0.1)).toBe(0x2e66);
    expect(fromF16(0x2e66)).toBe(0.0999755859375); // (1 + 614/1024) / 16
    // Spacing is 2 in [2048, 4096): 2049 is a tie between 2048 (even) and 2050 -> 2048;
    // 2051 is a tie between 2050 (odd mantissa) and 2052 (even) -> 2052.
    expect(fromF16(f16(2049))).toBe(2048);
    expect(fromF16(f16(2051))).toBe(2052);
  });

  it('overflows to Infinity and keeps NaN', () => {
    expect(f16(65520)).toBe(0x7c00); // the tie above 65504 rounds to even = Infinity
    expect(f16(Infinity)).toBe(0x7c00);
    expect(f16(-Infinity)).toBe(0xfc00);
    const nan = f16(Number.NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(fromF16(nan)).toBeNaN();
    expect(fromF16(0x7c00)).toBe(Infinity);
  });

  it('handles subnormals and underflow', () => {
    // Subnormal float16 = m * 2^-24.
    expect(f16(2 ** -24)).toBe(0x0001);
    expect(fromF16(0x0001)).toBe(2 ** -24);
    expect(f16(1e-7)).toBe(0x0002); // 1e-7 / 2^-24 = 1.68 -> 2
    expect(f16(6e-5)).toBe(0x03ef); // 6e-5 / 2^-24 = 1006.63 -> 1007
    expect(f16(1e-8)).toBe(0x0000); // below 2^-25 (half the smallest subnormal): zero
    expect(f16(2 ** -25)).toBe(0x0000); // exact tie between 0 and 2^-24 -> even (0)
    expect(f16(1.5 * 2 ** -25)).toBe(0x0001); // above the tie
    // 2^-14 - 2^-26 = 1023.75 * 2^-24 rounds up to 1024 * 2^-24 = 2^-14, the smallest normal.
    expect(f16(2 ** -14 - 2 ** -26)).toBe(0x0400);
    expect(fromF16(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16(-0)).toBe(0x8000);
    expect(Object.is(fromF16(0x8000), -0)).toBe(true);
  });

  it('round-trips every float16 value exactly', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const back = float32ToFloat16Bits(float16BitsToFloat32(all));
    for (let i = 0; i < 65536; i++) {
      const isNan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (!isNan && back[i] !== i) throw new Error(`float16 0x${i.toString(16)} came back as 0x${(back[i] as number).toString(16)}`);
    }
  });
});

describe('bfloat16', () => {
  it('keeps the top 16 bits, rounding half to even', () => {
    expect(bf16(1)).toBe(0x3f80);
    expect(bf16(-2)).toBe(0xc000);
    // 65504 = 0x477fe000: low half 0xe000 > 0x8000 rounds up -> 0x4780 = 65536.
    expect(float32Bits(65504)).toBe(0x477fe000);
    expect(bf16(65504)).toBe(0x4780);
    expect(fromBf16(0x4780)).toBe(65536);
    // 0.1 = 0x3dcccccd: low half 0xcccd > 0x8000 -> 0x3dcd = (1 + 77/128) / 16 = 0.10009765625.
    expect(bf16(0.1)).toBe(0x3dcd);
    expect(fromBf16(0x3dcd)).toBe(0.10009765625);
    // 1e-8 is normal in bfloat16 (float32's exponent range): float32 bits 0x322bcc77 -> 0x322c.
    expect(float32Bits(1e-8)).toBe(0x322bcc77);
    expect(bf16(1e-8)).toBe(0x322c);
    // Ties: 0x3f808000 -> even 0x3f80; 0x3f818000 -> even 0x3f82.
    const ties = new Float32Array(new Uint32Array([0x3f808000, 0x3f818000]).buffer);
    expect(Array.from(float32ToBFloat16Bits(ties))).toEqual([0x3f80, 0x3f82]);
  });

  it('keeps Infinity and NaN, and rounds float32 max up to Infinity', () => {
    expect(bf16(Infinity)).toBe(0x7f80);
    expect(bf16(-Infinity)).toBe(0xff80);
    // A NaN whose payload sits only in the low 16 bits must not truncate to Infinity.
    const lowNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer);
    expect(fromBf16(float32ToBFloat16Bits(lowNaN)[0] as number)).toBeNaN();
    expect(bf16(3.4028234663852886e38)).toBe(0x7f80);
  });
});

// float32 <-> float16 (IEEE 754 binary16) and bfloat16 conversions for
// transporting weights and gradients at half the bytes. Both directions work
// on the bit patterns (Uint32 view of the float32 values), rounding to nearest,
// ties to even, as numpy's astype(float16) and torch's .bfloat16() do.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Bit pattern of one float32 value. */
export function float32Bits(value: number): number {
  f32[0] = value;
  return u32[0] as number;
}

/**
 * float32 -> float16 bits. Overflow (|x| >= 65520 after rounding) gives
 * +-Infinity, values below half the smallest subnormal (2^-25) give +-0,
 * NaN stays a (quiet) NaN with the sign kept.
 */
export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const src = bitsOf(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i] as number;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      // Infinity keeps a zero mantissa; NaN keeps its top payload bits and the quiet bit.
      out[i] = sign | 0x7c00 | (mant === 0 ? 0 : 0x200 | (mant >>> 13));
      continue;
    }
    const e = exp - 127 + 15; // float16 biased exponent
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      // Subnormal float16 (or zero): the value (mant | 2^23) * 2^(exp - 150) equals m * 2^-24 with
      // m = (mant | 2^23) * 2^(e - 14), i.e. a right shift by 14 - e, rounded half to even.
      if (e < -10) {
        out[i] = sign; // below 2^-25: rounds to zero (2^-25 itself is a tie -> even = 0)
        continue;
      }
      const full = mant | 0x800000;
      const shift = 14 - e; // 14..24
      let q = full >>> shift;
      const rem = full & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (q & 1) === 1)) q++;
      out[i] = sign | q; // q may reach 0x400: the carry lands in the exponent, the smallest normal
      continue;
    }
    let q = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1)) q++; // a carry into 0x7c00 is a correct overflow to Infinity
    out[i] = sign | q;
  }
  return out;
}

/** float16 bits -> float32 values (exact: every float16 is a float32). */
export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const dst = bitsOf(out);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i] as number;
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // Zero or subnormal: mant * 2^-24, exact in float32.
      out[i] = (sign !== 0 ? -1 : 1) * mant * 2 ** -24;
    } else if (exp === 0x1f) {
      dst[i] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      dst[i] = (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
    }
  }
  return out;
}

/** float32 -> bfloat16 bits (the top 16 bits, rounded half to even; NaN stays NaN). */
export function float32ToBFloat16Bits(values: Float32Array): Uint16Array {
  const src = bitsOf(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i] as number;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
      out[i] = (x >>> 16) | 0x40; // quiet NaN: truncation alone could leave an all-zero mantissa (Infinity)
      continue;
    }
    // Adding 0x7fff + lsb rounds half to even; a carry into the exponent is the correct rounding up
    // (to Infinity at the top of the range).
    out[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** bfloat16 bits -> float32 values (exact). */
export function bfloat16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const dst = bitsOf(out);
  for (let i = 0; i < bits.length; i++) dst[i] = ((bits[i] as number) << 16) >>> 0;
  return out;
}

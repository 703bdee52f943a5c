import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBFloat16Bits, float32ToFloat16Bits } from '@atomizer/model';
import type { FlatArray, TransportFormat } from '@atomizer/protocol';

// The number format a run's slice results and published weights travel in
// (`train.transport`, docs/design.md "Transport"). f32 is the values themselves; bf16 and
// f16 store their bit patterns as a u16 array and name the format in the object's header,
// so a reader never guesses. The coordinator keeps float32 master weights and sums in
// float64 whatever travels.

/** The array to store for `values` in `format`. */
export function encodeTransport(values: Float32Array, format: TransportFormat): FlatArray {
  if (format === 'bf16') return float32ToBFloat16Bits(values);
  if (format === 'f16') return float32ToFloat16Bits(values);
  return values;
}

/** The header field that names the format (absent for f32, as before transports existed). */
export function transportMeta(format: TransportFormat): { transport?: TransportFormat } {
  return format === 'f32' ? {} : { transport: format };
}

/**
 * float32 values of a stored array whose header names `format` (undefined: f32). Refused,
 * naming `what`, when the array is not of that format or not `length` long.
 */
export function decodeTransport(
  array: FlatArray | undefined,
  format: TransportFormat | undefined,
  length: number,
  what: string,
): Float32Array {
  const f = format ?? 'f32';
  if (f === 'f32') {
    if (!(array instanceof Float32Array) || array.length !== length)
      throw new Error(`${what}: expected ${length} float32 values, got ${describe(array)}`);
    return array;
  }
  if (!(array instanceof Uint16Array) || array.length !== length)
    throw new Error(`${what}: expected ${length} ${f} values (u16 bit patterns), got ${describe(array)}`);
  return f === 'bf16' ? bfloat16BitsToFloat32(array) : float16BitsToFloat32(array);
}

function describe(a: FlatArray | undefined): string {
  if (a === undefined) return 'no array';
  const kind = a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : a instanceof Uint16Array ? 'u16' : 'u8';
  return `${a.length} ${kind}`;
}

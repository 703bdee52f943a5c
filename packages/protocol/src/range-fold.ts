// The arithmetic of a range reducer (docs/design.md "Aggregation"), one copy for both
// places a range is reduced: the coordinator's reducer threads (their script embeds these
// functions' source text, so each is self-contained: no imports, no module state) and the
// reducer jobs workers run (train.reduce: workers). A range [from, to) of the round's
// float64 sum is built from each result's hash chunks that overlap it, one result after
// the other in job-id order, with GradientAccumulator.add's arithmetic per element
// (sum + w * value), so whoever folds, the sum has the same bits; the mean is the sum over
// the round's samples rounded to float32 once.

/** The number formats a result's values travel in (train.transport). */
export type ValueFormat = 'f32' | 'bf16' | 'f16';

/** Where an accepted result's values lie in its object, from its header. */
export interface ResultLayout {
  /** The values' format: f32, or bf16/f16 bit patterns. */
  fmt: ValueFormat;
  /** Values (the model's parameter count). */
  length: number;
  payloadOffset: number;
  payloadEnd: number;
  /** Version 2 objects: the hash chunk and each chunk's sha256 (undefined: a version 1 object, read whole). */
  chunks?: { bytes: number; sha256: string[] };
}

/** One hash chunk of a result: its index, its bytes in the object [start, end), and the element its first value is. */
export interface ChunkSpan {
  chunk: number;
  start: number;
  end: number;
  first: number;
}

/** The hash chunks of a version 2 result that hold values of [from, to): nothing else of the object need be read. */
export function chunkSpans(layout: ResultLayout, from: number, to: number): ChunkSpan[] {
  if (layout.chunks === undefined) throw new Error('chunkSpans: a version 1 object has no hash chunks');
  const cb = layout.chunks.bytes;
  const width = layout.fmt === 'f32' ? 4 : 2;
  const payloadBytes = layout.payloadEnd - layout.payloadOffset;
  const count = layout.chunks.sha256.length;
  const c0 = Math.floor((from * width) / cb);
  const c1 = Math.min(count, Math.ceil((to * width) / cb));
  const out: ChunkSpan[] = [];
  for (let c = c0; c < c1; c++) {
    out.push({
      chunk: c,
      start: layout.payloadOffset + c * cb,
      end: layout.payloadOffset + Math.min(payloadBytes, (c + 1) * cb),
      first: (c * cb) / width,
    });
  }
  return out;
}

/** float16 bit pattern -> float32, for every pattern (model/src/half-float.ts float16BitsToFloat32's values). */
export function float16Table(): Float32Array {
  const out = new Float32Array(65536);
  const dst = new Uint32Array(out.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[h] = (sign !== 0 ? -1 : 1) * mant * 2 ** -24;
    else if (exp === 0x1f) dst[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    else dst[h] = (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  }
  return out;
}

/**
 * The values of one chunk (the first `byteLength` bytes of `data`, 4-byte aligned) as
 * float32: f32 viewed in place; bf16 and f16 decoded into `scratch`, which must hold
 * byteLength / 2 values (`f16`: float16Table(), needed for f16 only).
 */
export function chunkValues(
  data: ArrayBuffer,
  byteLength: number,
  fmt: string,
  scratch: Float32Array,
  f16: Float32Array | null,
): Float32Array {
  if (fmt === 'f32') return new Float32Array(data, 0, byteLength >> 2);
  const bits = new Uint16Array(data, 0, byteLength >> 1);
  const out = scratch.subarray(0, bits.length);
  if (fmt === 'bf16') {
    const u = new Uint32Array(out.buffer, out.byteOffset, bits.length);
    for (let i = 0; i < bits.length; i++) u[i] = ((bits[i] as number) << 16) >>> 0;
  } else {
    if (f16 === null) throw new Error('chunkValues: f16 values need float16Table()');
    for (let i = 0; i < bits.length; i++) out[i] = f16[bits[i] as number] as number;
  }
  return out;
}

/**
 * Add `w` x each value of a chunk whose first value is element `first` into `sum`, the
 * elements [from, to) of the round's sum (sum[0] is element `from`), for the elements the
 * chunk holds below `end` (the result's length: a chunk may end in padding). Returns why
 * not on the first non-finite value (what came before it was added: the caller forgets
 * the sum), else undefined.
 */
export function foldValues(
  sum: Float64Array,
  from: number,
  to: number,
  g: Float32Array,
  first: number,
  end: number,
  w: number,
  key: string,
): string | undefined {
  const lo = Math.max(from, first);
  const hi = Math.min(to, first + g.length, end);
  for (let i = lo; i < hi; i++) {
    const x = g[i - first] as number;
    // NaN - NaN and Inf - Inf are NaN: refused before it is added.
    if (x - x !== 0) return key + ': value ' + i + ' is ' + x + ' (NaN/Inf gradient refused)';
    sum[i - from] = (sum[i - from] as number) + w * x;
  }
  return undefined;
}

/** mean[i] = sum[i] / total, rounded to float32 once (GradientAccumulator's mean). */
export function meanOfSum(sum: Float64Array, total: number, mean: Float32Array): void {
  for (let i = 0; i < sum.length; i++) mean[i] = (sum[i] as number) / total;
}

import { sha256Hex } from './sha256.js';

// The binary form of everything large a run moves through the store: round
// weights, a worker's gradient or delta, an evaluation's scores (docs/design.md
// "Object store layout": flat float32 arrays behind a small JSON header).
//
//   bytes 0-3   'ATZF'
//   bytes 4-7   format version (u32 LE)
//   bytes 8-11  header length H (u32 LE)
//   H bytes     header JSON (utf-8): { meta, arrays: [{ name, dtype, length }], payloadSha256 }
//   pad to a multiple of 4
//   the arrays, in header order, little-endian, each starting 4-byte aligned
//
// `meta` is what the writer says about the contents (run, round, job, weights
// hash...); each reader validates it with its own schema. The payload hash is
// checked on every decode: a truncated or corrupted object is refused by name.

export const FLAT_MAGIC = 'ATZF';
export const FLAT_VERSION = 1;

export type FlatArray = Float32Array | Int32Array | Uint16Array | Uint8Array;
type FlatDType = 'f32' | 'i32' | 'u16' | 'u8';

export interface FlatFile {
  meta: Record<string, unknown>;
  arrays: Record<string, FlatArray>;
  /** sha256 of the payload (the arrays' bytes), as stored in the header. */
  payloadSha256: string;
}

function dtypeOf(a: FlatArray): FlatDType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint16Array) return 'u16';
  return 'u8';
}

const align4 = (n: number): number => (n + 3) & ~3;

function bytesOf(a: FlatArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** An encoded flat object as the pieces it is made of: no copy of the arrays. */
export interface FlatChunks {
  /** Header, then each array's bytes (views of the caller's arrays) with the padding between them. */
  chunks: Uint8Array[];
  byteLength: number;
  payloadSha256: string;
}

/**
 * Encode `arrays` (in insertion order) and `meta` as chunks that view the arrays (write them
 * with `Readable.from(chunks)`): a 241 MB weights object is published without a second copy.
 * The arrays must not change until the chunks are written.
 */
export function encodeFlatChunks(meta: Record<string, unknown>, arrays: Record<string, FlatArray>): FlatChunks {
  const entries = Object.entries(arrays);
  const payloadParts = entries.map(([, a]) => bytesOf(a));
  const payloadSha256 = sha256Hex(payloadParts);
  const header = new TextEncoder().encode(
    JSON.stringify({ meta, arrays: entries.map(([name, a]) => ({ name, dtype: dtypeOf(a), length: a.length })), payloadSha256 }),
  );
  const head = new Uint8Array(align4(12 + header.length));
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode(FLAT_MAGIC), 0);
  view.setUint32(4, FLAT_VERSION, true);
  view.setUint32(8, header.length, true);
  head.set(header, 12);
  const chunks: Uint8Array[] = [head];
  let size = head.byteLength;
  for (const p of payloadParts) {
    chunks.push(p);
    size += p.byteLength;
    const pad = align4(size) - size;
    if (pad > 0) chunks.push(new Uint8Array(pad));
    size += pad;
  }
  return { chunks, byteLength: size, payloadSha256 };
}

/** Encode `arrays` (in insertion order) and `meta` into one object body. */
export function encodeFlat(meta: Record<string, unknown>, arrays: Record<string, FlatArray>): Uint8Array {
  const { chunks, byteLength } = encodeFlatChunks(meta, arrays);
  const out = new Uint8Array(byteLength);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export interface DecodeOptions {
  /**
   * false: arrays are views into `bytes` where they lie 4-byte aligned (no second copy of a
   * large object; the caller must not reuse `bytes`). Default true: copies, independent of `bytes`.
   */
  copy?: boolean;
}

/**
 * Decode an object written by encodeFlat. `source` (the key) names the object
 * in errors. Arrays are copies (aligned, independent of `bytes`) unless `copy: false`.
 */
export function decodeFlat(bytes: Uint8Array, source: string, options: DecodeOptions = {}): FlatFile {
  const copy = options.copy ?? true;
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid atomizer flat file: ${why}`);
  };
  if (bytes.byteLength < 12) fail(`only ${bytes.byteLength} bytes`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== FLAT_MAGIC) fail(`magic is ${JSON.stringify(magic)}, expected ${FLAT_MAGIC}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== FLAT_VERSION) fail(`format version ${version}, this build reads ${FLAT_VERSION}`);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.byteLength) fail(`header of ${headerLength} bytes runs past the end (${bytes.byteLength} bytes)`);
  let header: { meta?: unknown; arrays?: unknown; payloadSha256?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as typeof header;
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  if (typeof header.meta !== 'object' || header.meta === null || !Array.isArray(header.arrays) || typeof header.payloadSha256 !== 'string') {
    fail('header lacks meta, arrays or payloadSha256');
  }
  const arrays: Record<string, FlatArray> = {};
  const parts: Uint8Array[] = [];
  let at = align4(12 + headerLength);
  for (const spec of header.arrays as Array<{ name?: unknown; dtype?: unknown; length?: unknown }>) {
    const { name, dtype, length } = spec;
    if (typeof name !== 'string' || !Number.isSafeInteger(length) || (length as number) < 0) fail(`bad array entry ${JSON.stringify(spec)}`);
    const n = length as number;
    const width = dtype === 'f32' || dtype === 'i32' ? 4 : dtype === 'u16' ? 2 : dtype === 'u8' ? 1 : fail(`array ${String(name)}: unknown dtype ${String(dtype)}`);
    const end = at + n * width;
    if (end > bytes.byteLength) fail(`array ${String(name)} (${n} x ${String(dtype)}) runs past the end: truncated object (${bytes.byteLength} bytes)`);
    const raw = copy || (bytes.byteOffset + at) % 4 !== 0 ? bytes.slice(at, end) : bytes.subarray(at, end);
    parts.push(raw);
    arrays[name as string] =
      dtype === 'f32'
        ? new Float32Array(raw.buffer, raw.byteOffset, n)
        : dtype === 'i32'
          ? new Int32Array(raw.buffer, raw.byteOffset, n)
          : dtype === 'u16'
            ? new Uint16Array(raw.buffer, raw.byteOffset, n)
            : raw;
    at = align4(end);
  }
  const actual = sha256Hex(parts);
  if (actual !== header.payloadSha256) fail(`payload sha256 is ${actual}, the header says ${String(header.payloadSha256)}: corrupted object`);
  return { meta: header.meta as Record<string, unknown>, arrays, payloadSha256: header.payloadSha256 as string };
}

/** The payload sha256 a flat object's header records (what decodeFlat checks and jobs carry), without decoding the arrays. */
export function flatPayloadSha256(bytes: Uint8Array, source: string): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== FLAT_MAGIC) {
    throw new Error(`${source}: not a valid atomizer flat file: no ${FLAT_MAGIC} header`);
  }
  const h = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + h))) as { payloadSha256?: unknown };
  if (typeof header.payloadSha256 !== 'string') throw new Error(`${source}: not a valid atomizer flat file: header lacks payloadSha256`);
  return header.payloadSha256;
}

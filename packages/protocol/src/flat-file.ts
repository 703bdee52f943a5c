import { createHash } from 'node:crypto';
import { sha256Hex } from './sha256.js';

// The binary form of everything large a run moves through the store: round
// weights, a worker's gradient or delta, an evaluation's scores (docs/design.md
// "Object store layout": flat float32 arrays behind a small JSON header).
//
//   bytes 0-3   'ATZF'
//   bytes 4-7   format version (u32 LE)
//   bytes 8-11  header length H (u32 LE)
//   H bytes     header JSON (utf-8): { meta, arrays: [{ name, dtype, length }], payloadSha256,
//               and from version 2 chunkBytes, chunkSha256 }
//   pad to a multiple of 4
//   the arrays, in header order, little-endian, each starting 4-byte aligned
//
// `meta` is what the writer says about the contents (run, round, job, weights
// hash...); each reader validates it with its own schema. The payload hash is
// checked on every decode: a truncated or corrupted object is refused by name.
//
// Version 2 (written since issue 13) hashes the payload region (from the first array to
// the end, padding included) in chunks of `chunkBytes`: `chunkSha256[c]` is the sha256 of
// chunk c and `payloadSha256` the sha256 of the chunks' digests, concatenated. A reader of
// one byte range of a 241 MB result (a range reducer) checks the chunks it reads, without
// the rest. Version 1 (payloadSha256 = sha256 of the arrays' bytes) is still read.

export const FLAT_MAGIC = 'ATZF';
export const FLAT_VERSION = 2;
/** The chunk a version 2 payload is hashed in: 4 MiB, about a million float32 values. */
export const FLAT_CHUNK_BYTES = 4 * 2 ** 20;

export type FlatArray = Float32Array | Int32Array | Uint16Array | Uint8Array;
type FlatDType = 'f32' | 'i32' | 'u16' | 'u8';

export interface FlatFile {
  meta: Record<string, unknown>;
  arrays: Record<string, FlatArray>;
  /** The payload's hash as stored in the header (version 2: over the chunk digests). */
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
  // The payload region as written: each array, then the padding to the next 4-byte boundary.
  const payload: Uint8Array[] = [];
  let payloadBytes = 0;
  for (const [, a] of entries) {
    const p = bytesOf(a);
    payload.push(p);
    payloadBytes += p.byteLength;
    const pad = align4(payloadBytes) - payloadBytes;
    if (pad > 0) payload.push(new Uint8Array(pad));
    payloadBytes += pad;
  }
  const chunkSha256 = chunkDigests(payload, FLAT_CHUNK_BYTES);
  const payloadSha256 = rootOf(chunkSha256);
  const header = new TextEncoder().encode(
    JSON.stringify({
      meta,
      arrays: entries.map(([name, a]) => ({ name, dtype: dtypeOf(a), length: a.length })),
      payloadSha256,
      chunkBytes: FLAT_CHUNK_BYTES,
      chunkSha256,
    }),
  );
  const head = new Uint8Array(align4(12 + header.length));
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode(FLAT_MAGIC), 0);
  view.setUint32(4, FLAT_VERSION, true);
  view.setUint32(8, header.length, true);
  head.set(header, 12);
  return { chunks: [head, ...payload], byteLength: head.byteLength + payloadBytes, payloadSha256 };
}

/** sha256 of each `chunkBytes` piece of the concatenated `parts` (the last one may be shorter; none for no bytes). */
function chunkDigests(parts: readonly Uint8Array[], chunkBytes: number): string[] {
  const out: string[] = [];
  let hash = createHash('sha256');
  let filled = 0;
  for (const p of parts) {
    let at = 0;
    while (at < p.byteLength) {
      const take = Math.min(chunkBytes - filled, p.byteLength - at);
      hash.update(p.subarray(at, at + take));
      filled += take;
      at += take;
      if (filled === chunkBytes) {
        out.push(hash.digest('hex'));
        hash = createHash('sha256');
        filled = 0;
      }
    }
  }
  if (filled > 0) out.push(hash.digest('hex'));
  return out;
}

/** A version 2 payload hash: sha256 of the chunks' digests, concatenated. */
function rootOf(chunkSha256: readonly string[]): string {
  return sha256Hex(chunkSha256.map((h) => Buffer.from(h, 'hex')));
}

/** The sha256 of one chunk of a payload, as a version 2 header records it. */
export function flatChunkSha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
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

type Fail = (why: string) => never;

function failFor(source: string): Fail {
  return (why: string): never => {
    throw new Error(`${source}: not a valid atomizer flat file: ${why}`);
  };
}

/** Where one array of a flat object lies (byte offsets from the object's start). */
export interface FlatArraySpec {
  name: string;
  dtype: FlatDType;
  length: number;
  offset: number;
  byteLength: number;
}

/** A flat object's header, read without its payload (the layout and the hashes a reader checks against). */
export interface FlatHeader {
  version: number;
  meta: Record<string, unknown>;
  arrays: FlatArraySpec[];
  payloadSha256: string;
  /** Byte offset of the first array. */
  payloadOffset: number;
  /** Byte offset of the end of the payload region (the last array, padded to 4 bytes): the object's size. */
  payloadEnd: number;
  /** Version 2: the chunk the payload region is hashed in, and each chunk's sha256. */
  chunks?: { bytes: number; sha256: string[] };
}

/** Bytes from the object's start that hold its header (read the first 12 to know). */
export function flatHeaderBytes(prefix: Uint8Array, source: string): number {
  const fail = failFor(source);
  if (prefix.byteLength < 12) fail(`only ${prefix.byteLength} bytes`);
  const magic = new TextDecoder().decode(prefix.subarray(0, 4));
  if (magic !== FLAT_MAGIC) fail(`magic is ${JSON.stringify(magic)}, expected ${FLAT_MAGIC}`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== FLAT_VERSION) fail(`format version ${version}, this build reads 1 and ${FLAT_VERSION}`);
  return 12 + view.getUint32(8, true);
}

const WIDTH: Record<FlatDType, number> = { f32: 4, i32: 4, u16: 2, u8: 1 };

/**
 * The header of a flat object from its first bytes (at least `flatHeaderBytes`): meta,
 * where each array lies, the payload hash and (version 2) the chunk hashes. Nothing of the
 * payload is read or checked here.
 */
export function readFlatHeader(bytes: Uint8Array, source: string): FlatHeader {
  const fail = failFor(source);
  const headerEnd = flatHeaderBytes(bytes, source);
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (headerEnd > bytes.byteLength) fail(`header of ${headerEnd - 12} bytes runs past the end (${bytes.byteLength} bytes)`);
  let header: { meta?: unknown; arrays?: unknown; payloadSha256?: unknown; chunkBytes?: unknown; chunkSha256?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, headerEnd))) as typeof header;
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  if (
    typeof header.meta !== 'object' ||
    header.meta === null ||
    !Array.isArray(header.arrays) ||
    typeof header.payloadSha256 !== 'string'
  ) {
    fail('header lacks meta, arrays or payloadSha256');
  }
  const payloadOffset = align4(headerEnd);
  const arrays: FlatArraySpec[] = [];
  let at = payloadOffset;
  for (const spec of header.arrays as Array<{ name?: unknown; dtype?: unknown; length?: unknown }>) {
    const { name, dtype, length } = spec;
    if (typeof name !== 'string' || !Number.isSafeInteger(length) || (length as number) < 0)
      fail(`bad array entry ${JSON.stringify(spec)}`);
    if (dtype !== 'f32' && dtype !== 'i32' && dtype !== 'u16' && dtype !== 'u8')
      return fail(`array ${String(name)}: unknown dtype ${String(dtype)}`);
    const byteLength = (length as number) * WIDTH[dtype];
    arrays.push({ name: name as string, dtype, length: length as number, offset: at, byteLength });
    at = align4(at + byteLength);
  }
  const out: FlatHeader = {
    version,
    meta: header.meta as Record<string, unknown>,
    arrays,
    payloadSha256: header.payloadSha256 as string,
    payloadOffset,
    payloadEnd: at,
  };
  if (version >= 2) {
    const { chunkBytes, chunkSha256 } = header;
    if (!Number.isSafeInteger(chunkBytes) || (chunkBytes as number) <= 0 || (chunkBytes as number) % 4 !== 0)
      fail(`chunkBytes is ${String(chunkBytes)}`);
    const want = Math.ceil((at - payloadOffset) / (chunkBytes as number));
    if (
      !Array.isArray(chunkSha256) ||
      chunkSha256.length !== want ||
      chunkSha256.some((h) => typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h))
    ) {
      fail(`chunkSha256 is not ${want} sha256 digests`);
    }
    if (rootOf(chunkSha256 as string[]) !== header.payloadSha256) fail('payloadSha256 is not the hash of the chunk digests');
    out.chunks = { bytes: chunkBytes as number, sha256: chunkSha256 as string[] };
  }
  return out;
}

/**
 * Decode an object written by encodeFlat (version 1 or 2). `source` (the key) names the
 * object in errors. Arrays are copies (aligned, independent of `bytes`) unless `copy: false`.
 */
export function decodeFlat(bytes: Uint8Array, source: string, options: DecodeOptions = {}): FlatFile {
  const copy = options.copy ?? true;
  const fail = failFor(source);
  const h = readFlatHeader(bytes, source);
  const arrays: Record<string, FlatArray> = {};
  const parts: Uint8Array[] = [];
  for (const { name, dtype, length: n, offset: at, byteLength } of h.arrays) {
    const end = at + byteLength;
    if (end > bytes.byteLength) fail(`array ${name} (${n} x ${dtype}) runs past the end: truncated object (${bytes.byteLength} bytes)`);
    const raw = copy || (bytes.byteOffset + at) % 4 !== 0 ? bytes.slice(at, end) : bytes.subarray(at, end);
    parts.push(raw);
    arrays[name] =
      dtype === 'f32'
        ? new Float32Array(raw.buffer, raw.byteOffset, n)
        : dtype === 'i32'
          ? new Int32Array(raw.buffer, raw.byteOffset, n)
          : dtype === 'u16'
            ? new Uint16Array(raw.buffer, raw.byteOffset, n)
            : raw;
  }
  if (h.chunks === undefined) {
    const actual = sha256Hex(parts);
    if (actual !== h.payloadSha256) fail(`payload sha256 is ${actual}, the header says ${h.payloadSha256}: corrupted object`);
  } else {
    if (h.payloadEnd > bytes.byteLength) fail(`the payload runs past the end: truncated object (${bytes.byteLength} bytes)`);
    const { bytes: size, sha256 } = h.chunks;
    sha256.forEach((want, c) => {
      const from = h.payloadOffset + c * size;
      const actual = flatChunkSha256(bytes.subarray(from, Math.min(from + size, h.payloadEnd)));
      if (actual !== want)
        fail(
          `payload chunk ${c} (bytes ${from}-${Math.min(from + size, h.payloadEnd)}) has sha256 ${actual}, the header says ${want}: corrupted object`,
        );
    });
  }
  return { meta: h.meta, arrays, payloadSha256: h.payloadSha256 };
}

/** The payload sha256 a flat object's header records (what decodeFlat checks and jobs carry), without decoding the arrays. */
export function flatPayloadSha256(bytes: Uint8Array, source: string): string {
  return readFlatHeader(bytes, source).payloadSha256;
}

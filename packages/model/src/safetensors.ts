import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBFloat16Bits, float32ToFloat16Bits } from './half-float.js';
import { DTYPE_BYTES, TENSOR_DTYPES, checkTensor, numel, type HostTensor, type TensorDType, type TensorTable } from './tensor-table.js';

// The safetensors layout (huggingface/safetensors, readable by its Python,
// Rust and JS libraries):
//   [8 bytes: header length N, unsigned little-endian]
//   [N bytes: JSON {"<name>": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
//              "__metadata__": {string: string}}, padded with spaces]
//   [data: every tensor's raw little-endian bytes, offsets relative to the data start]
// We pad the header so the data starts at a multiple of 8 and write tensors
// by decreasing element size, so each tensor is aligned to its element size.
// On read we enforce what the reference implementation enforces: offsets in
// range, matching the shape, covering the data with no overlap and no hole.

/** Largest header accepted, as in the reference implementation (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function assertLittleEndian(): void {
  if (!littleEndian) throw new Error('safetensors: this implementation needs a little-endian host');
}

export interface SafetensorsContents {
  /** Tensors in file (data offset) order. */
  tensors: TensorTable;
  metadata: Record<string, string>;
}

export interface EncodeOptions {
  /** Store every F32 tensor as this dtype (transport precision). Default: as given. */
  floatDType?: 'F32' | 'F16' | 'BF16';
}

function tensorBytes(name: string, t: HostTensor): Uint8Array {
  switch (t.dtype) {
    case 'F16': {
      const b = float32ToFloat16Bits(t.data);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
    case 'BF16': {
      const b = float32ToBFloat16Bits(t.data);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    }
    case 'F64':
    case 'F32':
    case 'I64':
    case 'I32':
    case 'U8':
      return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    default:
      throw new Error(`Tensor '${name}': unknown dtype`);
  }
}

/** Serialises named tensors (and string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: TensorTable, metadata: Record<string, string> = {}, opts: EncodeOptions = {}): Uint8Array {
  assertLittleEndian();
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors metadata '${k}': values must be strings, got ${typeof v}`);
  }
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (name === '__metadata__') throw new Error(`Tensor name '__metadata__' is reserved by the safetensors format`);
    checkTensor(name, t);
    const cast = opts.floatDType !== undefined && t.dtype === 'F32' ? ({ ...t, dtype: opts.floatDType } as HostTensor) : t;
    return { name, t: cast };
  });
  // Decreasing element size keeps every tensor aligned to its element size (stable sort keeps name order within a size).
  entries.sort((a, b) => DTYPE_BYTES[b.t.dtype] - DTYPE_BYTES[a.t.dtype]);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name, t } of entries) {
    const bytes = tensorBytes(name, t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function isIntArray(v: unknown, len?: number): v is number[] {
  return Array.isArray(v) && (len === undefined || v.length === len) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function decodeData(dtype: TensorDType, raw: Uint8Array): HostTensor['data'] {
  // A copy into a fresh ArrayBuffer, so the views below are aligned and independent of the file.
  // Uint8Array's slice, not raw.slice(): on a Node Buffer (readFile's result) slice() is a view
  // and .buffer the whole underlying (possibly pooled) memory.
  const buf = Uint8Array.prototype.slice.call(raw).buffer;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf);
    case 'F32':
      return new Float32Array(buf);
    case 'F16':
      return float16BitsToFloat32(new Uint16Array(buf));
    case 'BF16':
      return bfloat16BitsToFloat32(new Uint16Array(buf));
    case 'I64':
      return new BigInt64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'U8':
      return new Uint8Array(buf);
  }
}

/**
 * Parses safetensors bytes. `source` (a file name or key) prefixes every error.
 * F16/BF16 tensors come back as Float32Array values with their dtype kept.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContents {
  assertLittleEndian();
  if (bytes.byteLength < 8) {
    throw new Error(`${source}: ${bytes.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  }
  const headerLen64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLen64 > BigInt(bytes.byteLength - 8)) {
    throw new Error(`${source}: header length ${headerLen64} goes beyond the file (${bytes.byteLength - 8} bytes after the length field)`);
  }
  const headerLen = Number(headerLen64);
  if (headerLen > MAX_HEADER_BYTES) throw new Error(`${source}: header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    throw new Error(`${source}: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${source}: header must be a JSON object of tensors`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const specs: { name: string; dtype: TensorDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new Error(`${source}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${source}: __metadata__ '${k}' must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof e !== 'object' || e === null) throw new Error(`${source}: tensor '${name}': entry must be an object`);
    if (typeof e.dtype !== 'string' || !(TENSOR_DTYPES as readonly string[]).includes(e.dtype)) {
      throw new Error(`${source}: tensor '${name}': unknown dtype ${JSON.stringify(e.dtype)}; supported: ${TENSOR_DTYPES.join(', ')}`);
    }
    const dtype = e.dtype as TensorDType;
    if (!isIntArray(e.shape)) throw new Error(`${source}: tensor '${name}': shape must be an array of non-negative integers`);
    if (!isIntArray(e.data_offsets, 2)) throw new Error(`${source}: tensor '${name}': data_offsets must be [begin, end] integers`);
    const [begin, end] = e.data_offsets as [number, number];
    if (begin > end || end > dataLen) {
      throw new Error(`${source}: tensor '${name}': data_offsets [${begin}, ${end}] are out of range (data is ${dataLen} bytes)`);
    }
    const expected = numel(e.shape) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new Error(`${source}: tensor '${name}': ${end - begin} bytes, but ${dtype} shape [${e.shape.join(', ')}] needs ${expected}`);
    }
    specs.push({ name, dtype, shape: e.shape, begin, end });
  }
  specs.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev = '';
  for (const s of specs) {
    if (s.begin < at) throw new Error(`${source}: tensor '${s.name}' [${s.begin}, ${s.end}) overlaps tensor '${prev}' (ends at ${at})`);
    if (s.begin > at) throw new Error(`${source}: tensor '${s.name}' starts at ${s.begin}, leaving a hole after byte ${at}`);
    at = s.end;
    prev = s.name;
  }
  if (at !== dataLen) throw new Error(`${source}: tensors cover ${at} bytes of the ${dataLen}-byte data section`);
  const tensors: TensorTable = {};
  for (const s of specs) {
    const data = decodeData(s.dtype, bytes.subarray(dataStart + s.begin, dataStart + s.end));
    tensors[s.name] = { dtype: s.dtype, shape: s.shape, data } as HostTensor;
  }
  return { tensors, metadata };
}

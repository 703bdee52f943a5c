// The Atomizer shard format, version 1: a self-describing binary file of Samples
// (docs/design.md "Shards": rasters as stored, not atoms). Layout, little-endian:
//
//   0        magic 'ATOMSHRD' (8 bytes), format version u32, reserved u32 (0)
//   16       sample records, each starting at an 8-byte-aligned file offset; a record is
//            its bands' rasters back to back in the order of the sample's band list, each
//            raster padded to 8 bytes, so every raster can be viewed as a typed array
//            in place (Float64Array needs 8-byte alignment)
//   F        footer: UTF-8 JSON (ShardFooter): the band table (band metadata, dtype and
//            size, deduplicated across samples) and per sample its id, labels, time,
//            record offset/length, CRC32 and band-table indices
//   end-32   trailer: footer length u32, footer CRC32 u32, total file length u64,
//            sample count u32, format version u32, magic 'ATOMSHRD'
//
// The index sits at the end (as in zip or Parquet) so a writer can stream samples out
// with bounded memory; a reader fetches the tail, then any one record by byte range.
// Truncation is caught by the trailer (magic and total length), corruption of the index
// by its CRC32, corruption of a record by its CRC32, and of anything by the manifest's
// sha256 (manifest.ts verifyShard).

import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { DTYPES, DTYPE_ARRAYS, isDType } from './raster-dtype.js';
import type { DType } from './types.js';

export const SHARD_MAGIC = 'ATOMSHRD';
export const SHARD_FORMAT_VERSION = 1;
export const SHARD_PREFIX_BYTES = 16;
export const SHARD_TRAILER_BYTES = 32;
/** Alignment of records and rasters, bytes: the largest element size (float64). */
export const SHARD_ALIGN = 8;

export const MAGIC_BYTES: Uint8Array = new TextEncoder().encode(SHARD_MAGIC);

// Typed arrays are views in host byte order and the format is little-endian: refuse to
// misread rather than silently byte-swap values on a big-endian host.
if (endianness() !== 'LE') {
  throw new Error('the Atomizer shard format needs a little-endian host (typed-array views are read in place)');
}

export function alignUp(n: number, to: number = SHARD_ALIGN): number {
  return Math.ceil(n / to) * to;
}

export function crc32Of(bytes: Uint8Array): number {
  return crc32(bytes) >>> 0;
}

/**
 * JSON has no NaN or infinities; nodata values often are NaN (float rasters). They are
 * written as strings and read back as numbers.
 */
const NumberOrSpecial = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform((s) => Number(s))]);

export function encodeSpecialNumber(n: number): number | 'NaN' | 'Infinity' | '-Infinity' {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return n;
}

const nonNegInt = z.number().int().nonnegative();

/** One entry of the band table: everything of a BandRaster except its values. */
export const ShardBandSchema = z
  .object({
    sensor: z.string(),
    name: z.string(),
    kind: z.enum(['spectral', 'channel']),
    wavelengthNm: z.number().optional(),
    bandwidthNm: z.number().optional(),
    channelKind: z.string().optional(),
    gsdM: z.number(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    // Checked by hand in the reader so the error can list the supported dtypes.
    dtype: z.string(),
    scale: z.number(),
    offset: z.number(),
    nodata: NumberOrSpecial.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.kind === 'spectral' && (b.wavelengthNm === undefined || b.bandwidthNm === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a spectral band needs wavelengthNm and bandwidthNm' });
    }
    if (b.kind === 'channel' && b.channelKind === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a channel band needs channelKind' });
    }
  });
/** A band-table entry as read (its dtype checked against DTYPES). */
export type ShardBand = Omit<z.output<typeof ShardBandSchema>, 'dtype'> & { dtype: DType };

export const ShardSampleEntrySchema = z.object({
  id: z.string(),
  labels: z.array(z.number().int().nonnegative()),
  time: z.object({ iso: z.string(), year: z.number().int(), doy: z.number().int().min(1).max(366) }).optional(),
  source: z.string().optional(),
  /** File offset of the record, bytes (8-aligned). */
  offset: nonNegInt,
  /** Record length, bytes (sum of the padded rasters). */
  length: nonNegInt,
  /** CRC32 of the record's bytes. */
  crc32: nonNegInt,
  /** Band-table indices of the sample's bands, in the sample's band order. */
  bands: z.array(nonNegInt),
});
export type ShardSampleEntry = z.output<typeof ShardSampleEntrySchema>;

export const ShardFooterSchema = z.object({
  format: z.literal('atomizer-shard'),
  version: z.literal(SHARD_FORMAT_VERSION),
  bands: z.array(ShardBandSchema),
  samples: z.array(ShardSampleEntrySchema),
});
/** The shard's index ("header" in the reader's API): band table and per-sample entries. */
export type ShardFooter = Omit<z.output<typeof ShardFooterSchema>, 'bands'> & { bands: ShardBand[] };

/** Bytes a raster of this band-table entry occupies in a record, padding included. */
export function paddedRasterBytes(band: { dtype: DType; width: number; height: number }): number {
  return alignUp(band.width * band.height * DTYPE_ARRAYS[band.dtype].BYTES_PER_ELEMENT);
}

export interface ShardTrailer {
  footerLength: number;
  footerCrc32: number;
  totalLength: number;
  sampleCount: number;
  version: number;
}

export function encodePrefix(): Uint8Array {
  const out = new Uint8Array(SHARD_PREFIX_BYTES);
  out.set(MAGIC_BYTES, 0);
  new DataView(out.buffer).setUint32(8, SHARD_FORMAT_VERSION, true);
  return out;
}

export function encodeTrailer(t: ShardTrailer): Uint8Array {
  const out = new Uint8Array(SHARD_TRAILER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, t.footerLength, true);
  dv.setUint32(4, t.footerCrc32, true);
  dv.setBigUint64(8, BigInt(t.totalLength), true);
  dv.setUint32(16, t.sampleCount, true);
  dv.setUint32(20, t.version, true);
  out.set(MAGIC_BYTES, 24);
  return out;
}

function hasMagicAt(bytes: Uint8Array, at: number): boolean {
  if (at < 0 || at + MAGIC_BYTES.length > bytes.byteLength) return false;
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (bytes[at + i] !== MAGIC_BYTES[i]) return false;
  return true;
}

/**
 * Check the 16-byte prefix. `name` is the shard's key or file for the error message.
 */
export function checkPrefix(prefix: Uint8Array, name: string): void {
  if (prefix.byteLength < SHARD_PREFIX_BYTES || !hasMagicAt(prefix, 0)) {
    const got = new TextDecoder('latin1').decode(prefix.subarray(0, Math.min(8, prefix.byteLength)));
    throw new Error(`${name}: not an Atomizer shard: bad magic ${JSON.stringify(got)} (expected "${SHARD_MAGIC}")`);
  }
  const version = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).getUint32(8, true);
  if (version !== SHARD_FORMAT_VERSION) {
    throw new Error(`${name}: unsupported shard format version ${version} (this reader reads version ${SHARD_FORMAT_VERSION})`);
  }
}

function truncatedError(name: string, actual: number, expected: number | undefined, why: string): Error {
  const exp = expected === undefined ? '' : `expected ${expected} bytes, `;
  return new Error(`${name}: truncated or corrupt shard: ${exp}got ${actual} bytes (${why})`);
}

/**
 * Decode and check the trailer, given the last SHARD_TRAILER_BYTES of a file of
 * `fileSize` bytes. `expectedBytes` (from the manifest) makes truncation messages exact.
 */
export function decodeTrailer(tail: Uint8Array, fileSize: number, name: string, expectedBytes?: number): ShardTrailer {
  if (expectedBytes !== undefined && fileSize !== expectedBytes) {
    throw truncatedError(
      name,
      fileSize,
      expectedBytes,
      fileSize < expectedBytes ? 'shorter than the manifest says' : 'longer than the manifest says',
    );
  }
  if (fileSize < SHARD_PREFIX_BYTES + SHARD_TRAILER_BYTES || tail.byteLength < SHARD_TRAILER_BYTES) {
    throw truncatedError(name, fileSize, expectedBytes, `a shard is at least ${SHARD_PREFIX_BYTES + SHARD_TRAILER_BYTES} bytes`);
  }
  const at = tail.byteLength - SHARD_TRAILER_BYTES;
  if (!hasMagicAt(tail, at + 24)) {
    throw truncatedError(name, fileSize, expectedBytes, `it does not end with the "${SHARD_MAGIC}" trailer`);
  }
  const dv = new DataView(tail.buffer, tail.byteOffset + at, SHARD_TRAILER_BYTES);
  const t: ShardTrailer = {
    footerLength: dv.getUint32(0, true),
    footerCrc32: dv.getUint32(4, true),
    totalLength: Number(dv.getBigUint64(8, true)),
    sampleCount: dv.getUint32(16, true),
    version: dv.getUint32(20, true),
  };
  if (t.version !== SHARD_FORMAT_VERSION) {
    throw new Error(`${name}: unsupported shard format version ${t.version} (this reader reads version ${SHARD_FORMAT_VERSION})`);
  }
  if (t.totalLength !== fileSize) {
    throw truncatedError(name, fileSize, t.totalLength, 'length recorded in the trailer differs');
  }
  if (t.footerLength > fileSize - SHARD_PREFIX_BYTES - SHARD_TRAILER_BYTES) {
    throw new Error(`${name}: corrupt shard trailer: footer length ${t.footerLength} does not fit in ${fileSize} bytes`);
  }
  return t;
}

/** Parse and check the footer bytes against the trailer. */
export function decodeFooter(bytes: Uint8Array, trailer: ShardTrailer, name: string): ShardFooter {
  const crc = crc32Of(bytes);
  if (crc !== trailer.footerCrc32) {
    throw new Error(
      `${name}: shard index is corrupt: CRC32 ${crc.toString(16)} != ${trailer.footerCrc32.toString(16)} recorded in the trailer`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new Error(`${name}: shard index is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  const parsed = ShardFooterSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    throw new Error(`${name}: shard index field ${path === '' ? '(root)' : path}: ${issue?.message ?? 'invalid'}`);
  }
  parsed.data.bands.forEach((b, i) => {
    if (!isDType(b.dtype)) {
      throw new Error(
        `${name}: unsupported dtype "${b.dtype}" in band table entry ${i} (${b.sensor}:${b.name}); supported: ${DTYPES.join(', ')}`,
      );
    }
  });
  const footer = parsed.data as ShardFooter;
  if (footer.samples.length !== trailer.sampleCount) {
    throw new Error(`${name}: shard index lists ${footer.samples.length} samples, the trailer ${trailer.sampleCount}`);
  }
  const footerStart = trailer.totalLength - SHARD_TRAILER_BYTES - trailer.footerLength;
  footer.samples.forEach((s, i) => {
    let expected = 0;
    for (const b of s.bands) {
      const band = footer.bands[b];
      if (band === undefined) throw new Error(`${name}: sample ${i} (${s.id}) refers to band table entry ${b}, which does not exist`);
      expected += paddedRasterBytes(band);
    }
    if (s.length !== expected || s.offset % SHARD_ALIGN !== 0 || s.offset < SHARD_PREFIX_BYTES || s.offset + s.length > footerStart) {
      throw new Error(
        `${name}: sample ${i} (${s.id}): record [${s.offset}, +${s.length}) is inconsistent with its bands or the file layout`,
      );
    }
  });
  return footer;
}

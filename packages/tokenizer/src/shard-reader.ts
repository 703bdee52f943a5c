import type { ObjectStore } from '@atomizer/protocol';
import { NotFoundError } from '@atomizer/protocol';
import type { ShardBand, ShardFooter, ShardSampleEntry, ShardTrailer } from './shard-format.js';
import { DTYPE_ARRAYS } from './raster-dtype.js';
import {
  SHARD_PREFIX_BYTES,
  SHARD_TRAILER_BYTES,
  checkPrefix,
  crc32Of,
  decodeFooter,
  decodeTrailer,
  paddedRasterBytes,
} from './shard-format.js';
import type { BandRaster, Sample } from './types.js';

export interface ShardReaderOptions {
  /** The shard's key or file, for error messages (open() uses the key and store). */
  name?: string;
  /** Size the manifest records: a different actual size is reported as truncation with both numbers. */
  expectedBytes?: number;
  /** Check each record's CRC32 when it is read (default true; costs about a memory pass). */
  verify?: boolean;
}

/** Bytes fetched from the end of a stored shard at open, hoping to get the whole index in one request. */
const TAIL_GUESS = 64 * 1024;

type RangeSource = (start: number, endExclusive: number) => Promise<Uint8Array>;

/**
 * Reads a shard (format: shard-format.ts) from bytes in memory or from an object store
 * by byte ranges: `open` fetches the tail (index) once, `get(i)` then fetches only
 * sample i's record. Rasters are typed-array views on the record bytes, not copies.
 */
export class ShardReader {
  readonly name: string;
  /** The shard's index: band table and per-sample entries. */
  readonly header: ShardFooter;
  /** Total shard size, bytes. */
  readonly byteLength: number;
  private readonly read: RangeSource;
  private readonly verify: boolean;

  private constructor(name: string, header: ShardFooter, byteLength: number, read: RangeSource, verify: boolean) {
    this.name = name;
    this.header = header;
    this.byteLength = byteLength;
    this.read = read;
    this.verify = verify;
  }

  /** A reader over a whole shard in memory (rasters will be views on `bytes`). */
  static fromBytes(bytes: Uint8Array, opts: ShardReaderOptions = {}): ShardReader {
    const name = opts.name ?? 'shard';
    const trailer = decodeTrailer(bytes, bytes.byteLength, name, opts.expectedBytes);
    checkPrefix(bytes.subarray(0, SHARD_PREFIX_BYTES), name);
    const footerStart = bytes.byteLength - SHARD_TRAILER_BYTES - trailer.footerLength;
    const header = decodeFooter(bytes.subarray(footerStart, footerStart + trailer.footerLength), trailer, name);
    const read: RangeSource = async (start, end) => bytes.subarray(start, end);
    return new ShardReader(name, header, bytes.byteLength, read, opts.verify ?? true);
  }

  /** Open a stored shard: one HEAD and usually one ranged GET for the index. */
  static async open(store: ObjectStore, key: string, opts: ShardReaderOptions = {}): Promise<ShardReader> {
    const name = opts.name ?? `${key} in ${store.describe()}`;
    const info = await store.head(key);
    if (info === undefined) throw new NotFoundError(key, store.describe());
    const size = info.size;
    const tailStart = Math.max(0, size - TAIL_GUESS);
    const tail = size === 0 ? new Uint8Array(0) : await store.getRange(key, tailStart, size);
    const trailer: ShardTrailer = decodeTrailer(tail, size, name, opts.expectedBytes);
    if (tailStart === 0) checkPrefix(tail.subarray(0, SHARD_PREFIX_BYTES), name);
    const footerStart = size - SHARD_TRAILER_BYTES - trailer.footerLength;
    const footerBytes =
      footerStart >= tailStart
        ? tail.subarray(footerStart - tailStart, footerStart - tailStart + trailer.footerLength)
        : await store.getRange(key, footerStart, footerStart + trailer.footerLength);
    const header = decodeFooter(footerBytes, trailer, name);
    const read: RangeSource = (start, end) => store.getRange(key, start, end);
    return new ShardReader(name, header, size, read, opts.verify ?? true);
  }

  /** Number of samples. */
  get length(): number {
    return this.header.samples.length;
  }

  /** Index entry of sample i (id, labels, byte range ...) without reading its rasters. */
  entry(i: number): ShardSampleEntry {
    const e = Number.isInteger(i) ? this.header.samples[i] : undefined;
    if (e === undefined) throw new RangeError(`${this.name}: sample index ${i} out of range (shard has ${this.length} samples)`);
    return e;
  }

  /** Sample ids in shard order. */
  ids(): string[] {
    return this.header.samples.map((s) => s.id);
  }

  /** Read sample i. */
  async get(i: number): Promise<Sample> {
    const e = this.entry(i);
    let record = await this.read(e.offset, e.offset + e.length);
    if (record.byteLength !== e.length) {
      throw new Error(`${this.name}: sample ${i} (${e.id}): read ${record.byteLength} bytes of a ${e.length}-byte record`);
    }
    if (this.verify) {
      const crc = crc32Of(record);
      if (crc !== e.crc32) {
        throw new Error(
          `${this.name}: sample ${i} (${e.id}) is corrupt: record CRC32 ${crc.toString(16)}, index says ${e.crc32.toString(16)}`,
        );
      }
    }
    // Views need the element alignment the file guarantees relative to its start; a
    // buffer handed to us at an odd offset gets one aligned copy of the record.
    if (record.byteOffset % 8 !== 0) record = record.slice();
    const bands: BandRaster[] = [];
    let at = 0;
    for (const b of e.bands) {
      const band = this.header.bands[b] as ShardBand;
      const Ctor = DTYPE_ARRAYS[band.dtype];
      const values = new Ctor(record.buffer, record.byteOffset + at, band.width * band.height);
      at += paddedRasterBytes(band);
      bands.push(toBandRaster(band, values));
    }
    const sample: Sample = { id: e.id, bands, labels: [...e.labels] };
    if (e.time !== undefined) sample.time = { ...e.time };
    if (e.source !== undefined) sample.source = e.source;
    return sample;
  }

  /** Samples in shard order, one record read at a time. */
  async *[Symbol.asyncIterator](): AsyncIterator<Sample> {
    for (let i = 0; i < this.length; i++) yield await this.get(i);
  }

  async readAll(): Promise<Sample[]> {
    const out: Sample[] = [];
    for (let i = 0; i < this.length; i++) out.push(await this.get(i));
    return out;
  }
}

function toBandRaster(b: ShardBand, values: BandRaster['values']): BandRaster {
  const common = {
    name: b.name,
    sensor: b.sensor,
    gsdM: b.gsdM,
    width: b.width,
    height: b.height,
    values,
    scale: b.scale,
    offset: b.offset,
    ...(b.nodata !== undefined ? { nodata: b.nodata } : {}),
  };
  // The schema guarantees the fields of each kind are present.
  return b.kind === 'spectral'
    ? { kind: 'spectral', wavelengthNm: b.wavelengthNm as number, bandwidthNm: b.bandwidthNm as number, ...common }
    : { kind: 'channel', channelKind: b.channelKind as string, ...common };
}

import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { ObjectStore } from '@atomizer/protocol';
import { Sha256 } from '@atomizer/protocol';
import type { ShardBand, ShardFooter, ShardSampleEntry } from './shard-format.js';
import { DTYPES, dtypeOf } from './raster-dtype.js';
import { SHARD_ALIGN, SHARD_FORMAT_VERSION, alignUp, crc32Of, encodePrefix, encodeSpecialNumber, encodeTrailer } from './shard-format.js';
import type { BandRaster, Sample } from './types.js';

/** Where a streaming ShardWriter sends its bytes, in order. */
export interface ShardSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

export interface ShardWriterOptions {
  /**
   * Where bytes go as samples are added: a Node Writable (ended by `finish`, with
   * backpressure respected) or any ShardSink. Without a sink the writer keeps the bytes
   * and `finish` returns them as one Uint8Array.
   */
  sink?: ShardSink | Writable;
  /** The shard's key or file, for error messages. */
  name?: string;
}

export interface ShardWriteResult {
  samples: number;
  /** Total shard size in bytes. */
  bytes: number;
  /** Hex SHA-256 of the whole shard, for the manifest. */
  sha256: string;
  /** Raster values stored (sum of width*height over all bands of all samples): the atom count before missing values are dropped. */
  values: number;
  /** The shard, when the writer had no sink. */
  data?: Uint8Array;
}

const ZEROS = new Uint8Array(SHARD_ALIGN);

function bandEntry(b: BandRaster, where: string): ShardBand {
  const dtype = dtypeOf(b.values);
  if (dtype === undefined) {
    const type = (b.values as unknown as { constructor?: { name?: string } })?.constructor?.name ?? typeof b.values;
    throw new Error(`${where}: unsupported dtype: values are a ${type}; supported: ${DTYPES.join(', ')} typed arrays`);
  }
  for (const [field, v] of [
    ['width', b.width],
    ['height', b.height],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${where}: ${field} must be a positive integer, got ${v}`);
  }
  if (b.values.length !== b.width * b.height) {
    throw new Error(
      `${where}: values has ${b.values.length} elements, expected width*height = ${b.width}*${b.height} = ${b.width * b.height}`,
    );
  }
  for (const [field, v] of [
    ['gsdM', b.gsdM],
    ['scale', b.scale],
    ['offset', b.offset],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: ${field} must be a finite number, got ${v}`);
  }
  if (typeof b.name !== 'string' || b.name === '' || typeof b.sensor !== 'string') {
    throw new Error(`${where}: name and sensor must be strings (name non-empty)`);
  }
  // A fixed key order: the band table deduplicates entries by their JSON text.
  const entry: Record<string, unknown> = { sensor: b.sensor, name: b.name, kind: b.kind };
  if (b.kind === 'spectral') {
    if (!Number.isFinite(b.wavelengthNm) || !Number.isFinite(b.bandwidthNm)) {
      throw new Error(`${where}: a spectral band needs finite wavelengthNm and bandwidthNm, got ${b.wavelengthNm} and ${b.bandwidthNm}`);
    }
    entry.wavelengthNm = b.wavelengthNm;
    entry.bandwidthNm = b.bandwidthNm;
  } else if (b.kind === 'channel') {
    if (typeof b.channelKind !== 'string' || b.channelKind === '') throw new Error(`${where}: a channel band needs a channelKind`);
    entry.channelKind = b.channelKind;
  } else {
    throw new Error(`${where}: kind must be 'spectral' or 'channel', got ${JSON.stringify((b as { kind: unknown }).kind)}`);
  }
  Object.assign(entry, { gsdM: b.gsdM, width: b.width, height: b.height, dtype, scale: b.scale, offset: b.offset });
  if (b.nodata !== undefined) {
    if (typeof b.nodata !== 'number') throw new Error(`${where}: nodata must be a number, got ${typeof b.nodata}`);
    entry.nodata = encodeSpecialNumber(b.nodata);
  }
  return entry as ShardBand;
}

/**
 * Writes a shard (format: shard-format.ts) one sample at a time. Memory stays bounded
 * by one sample plus the index when a sink is given: rasters go straight out, only their
 * metadata is kept for the footer.
 */
export class ShardWriter {
  readonly name: string;
  private readonly sink: ShardSink | Writable | undefined;
  private readonly chunks: Uint8Array[] = [];
  private readonly sha = new Sha256();
  private readonly bands: ShardBand[] = [];
  private readonly bandIndex = new Map<string, number>();
  private readonly entries: ShardSampleEntry[] = [];
  private readonly ids = new Set<string>();
  private offset = 0;
  private values = 0;
  private state: 'open' | 'busy' | 'finished' | 'failed' = 'open';

  constructor(opts: ShardWriterOptions = {}) {
    this.sink = opts.sink;
    this.name = opts.name ?? 'shard';
  }

  /** Samples added so far. */
  get sampleCount(): number {
    return this.entries.length;
  }

  /** Bytes emitted so far. */
  get byteLength(): number {
    return this.offset;
  }

  private async emit(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return;
    this.sha.update(chunk);
    this.offset += chunk.byteLength;
    // Copy: the caller may reuse its raster buffers once add() resolves.
    const copy = chunk.slice();
    if (this.sink === undefined) {
      this.chunks.push(copy);
    } else if (this.sink instanceof Writable) {
      if (!this.sink.write(copy)) await once(this.sink, 'drain');
    } else {
      await this.sink.write(copy);
    }
  }

  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    if (this.state === 'finished') throw new Error(`${this.name}: ShardWriter already finished`);
    if (this.state === 'failed') throw new Error(`${this.name}: ShardWriter failed earlier; start a new shard`);
    if (this.state === 'busy') throw new Error(`${this.name}: ShardWriter calls must be awaited one at a time`);
    this.state = 'busy';
    try {
      const out = await fn();
      if (this.state === 'busy') this.state = 'open';
      return out;
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  /** Append one sample. Invalid samples are rejected before any of their bytes are written. */
  async add(sample: Sample): Promise<void> {
    // Validation happens outside `guarded` so a bad sample does not poison the writer.
    const where = `${this.name}: sample ${this.entries.length} (${JSON.stringify(sample?.id)})`;
    if (typeof sample?.id !== 'string' || sample.id === '') throw new Error(`${where}: id must be a non-empty string`);
    if (this.ids.has(sample.id)) throw new Error(`${where}: duplicate sample id in this shard`);
    if (!Array.isArray(sample.bands) || sample.bands.length === 0) throw new Error(`${where}: has no bands`);
    if (!Array.isArray(sample.labels) || !sample.labels.every((l) => Number.isInteger(l) && l >= 0)) {
      throw new Error(`${where}: labels must be non-negative integer class indices, got ${JSON.stringify(sample.labels)}`);
    }
    const bandEntries = sample.bands.map((b, i) => bandEntry(b, `${where} band ${i} (${b?.name})`));
    if (sample.time !== undefined) {
      const t = sample.time;
      if (typeof t.iso !== 'string' || !Number.isInteger(t.year) || !Number.isInteger(t.doy) || t.doy < 1 || t.doy > 366) {
        throw new Error(`${where}: time must be {iso, year, doy 1..366}, got ${JSON.stringify(t)}`);
      }
    }
    await this.guarded(async () => {
      if (this.offset === 0) await this.emit(encodePrefix());
      const recordStart = this.offset;
      let crc = 0;
      const indices: number[] = [];
      for (let i = 0; i < sample.bands.length; i++) {
        const band = sample.bands[i] as BandRaster;
        const entry = bandEntries[i] as ShardBand;
        const key = JSON.stringify(entry);
        let idx = this.bandIndex.get(key);
        if (idx === undefined) {
          idx = this.bands.length;
          this.bands.push(entry);
          this.bandIndex.set(key, idx);
        }
        indices.push(idx);
        const v = band.values;
        const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        const pad = ZEROS.subarray(0, alignUp(bytes.byteLength) - bytes.byteLength);
        crc = crc32(pad, crc32(bytes, crc));
        await this.emit(bytes);
        await this.emit(pad);
        this.values += v.length;
      }
      const entry: ShardSampleEntry = {
        id: sample.id,
        labels: [...sample.labels],
        ...(sample.time !== undefined ? { time: { iso: sample.time.iso, year: sample.time.year, doy: sample.time.doy } } : {}),
        ...(sample.source !== undefined ? { source: sample.source } : {}),
        offset: recordStart,
        length: this.offset - recordStart,
        crc32: crc >>> 0,
        bands: indices,
      };
      this.entries.push(entry);
      this.ids.add(sample.id);
    });
  }

  /** Write the index and trailer; end a Writable sink. */
  async finish(): Promise<ShardWriteResult> {
    return this.guarded(async () => {
      if (this.offset === 0) await this.emit(encodePrefix());
      const footer: ShardFooter = { format: 'atomizer-shard', version: SHARD_FORMAT_VERSION, bands: this.bands, samples: this.entries };
      const footerBytes = new TextEncoder().encode(JSON.stringify(footer));
      const total = this.offset + footerBytes.byteLength + 32;
      await this.emit(footerBytes);
      await this.emit(
        encodeTrailer({
          footerLength: footerBytes.byteLength,
          footerCrc32: crc32Of(footerBytes),
          totalLength: total,
          sampleCount: this.entries.length,
          version: SHARD_FORMAT_VERSION,
        }),
      );
      if (this.sink instanceof Writable) {
        const finished = once(this.sink, 'finish');
        this.sink.end();
        await finished;
      }
      this.state = 'finished';
      const result: ShardWriteResult = { samples: this.entries.length, bytes: this.offset, sha256: this.sha.digest(), values: this.values };
      if (this.sink === undefined) result.data = concat(this.chunks, this.offset);
      return result;
    });
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** One-shot: the shard of these samples as bytes. */
export async function writeShard(
  samples: Iterable<Sample> | AsyncIterable<Sample>,
  name?: string,
): Promise<ShardWriteResult & { data: Uint8Array }> {
  const writer = new ShardWriter(name !== undefined ? { name } : {});
  for await (const s of samples) await writer.add(s);
  const res = await writer.finish();
  return res as ShardWriteResult & { data: Uint8Array };
}

/**
 * Stream samples into a shard object: bytes are uploaded as they are produced (an S3
 * multipart upload, or a temp file renamed into place), so the shard never has to fit in
 * memory, and a failure leaves no partial object.
 */
export async function putShard(
  store: ObjectStore,
  key: string,
  samples: Iterable<Sample> | AsyncIterable<Sample>,
): Promise<ShardWriteResult> {
  const pipe = new PassThrough();
  const upload = store.put(key, pipe, { contentType: 'application/octet-stream' });
  // If the upload fails first, stop the writer (it may be waiting for 'drain').
  upload.catch((err: unknown) => pipe.destroy(err instanceof Error ? err : new Error(String(err))));
  const writer = new ShardWriter({ sink: pipe, name: `${key} in ${store.describe()}` });
  try {
    for await (const s of samples) await writer.add(s);
    const res = await writer.finish();
    await upload;
    return res;
  } catch (err) {
    pipe.destroy(err instanceof Error ? err : new Error(String(err)));
    await upload.catch(() => undefined);
    throw err;
  }
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '@atomizer/protocol';
import type { EmbeddedS3 } from '@atomizer/protocol/embedded';
import { LocalStore, NotFoundError } from '@atomizer/protocol';
import { startEmbeddedS3 } from '@atomizer/protocol/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchFolders, readS1Patch, readS2Patch, S1_DIR, S2_DIR } from '../test/bigearthnet-fixture.js';
import { expectSameSample } from '../test/shard-assert.js';
import { SHARD_TRAILER_BYTES, crc32Of, encodeTrailer } from './shard-format.js';
import { ShardReader } from './shard-reader.js';
import { putShard, writeShard } from './shard-writer.js';
import type { BandRaster, RasterArray, Sample } from './types.js';

let tmp: string;
let s3: EmbeddedS3;
let s2: Sample[];
let s1: Sample[];
const classes: string[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-shard-'));
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3') });
  s2 = await Promise.all((await patchFolders(S2_DIR())).map((f) => readS2Patch(f, classes)));
  s1 = await Promise.all((await patchFolders(S1_DIR())).map((f) => readS1Patch(f, classes)));
});

afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** A real store that counts the bytes it serves by range (delegates everything). */
function counting(store: ObjectStore): ObjectStore & { ranged: number; ranges: [number, number][] } {
  const wrapper = {
    ranged: 0,
    ranges: [] as [number, number][],
    put: store.put.bind(store),
    get: store.get.bind(store),
    head: store.head.bind(store),
    exists: store.exists.bind(store),
    list: store.list.bind(store),
    delete: store.delete.bind(store),
    persist: store.persist.bind(store),
    describe: store.describe.bind(store),
    async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
      wrapper.ranged += end - start;
      wrapper.ranges.push([start, end]);
      return store.getRange(key, start, end);
    },
  };
  return wrapper;
}

function band(values: RasterArray, width: number, height: number, name: string): BandRaster {
  return {
    kind: 'spectral',
    wavelengthNm: 500 + width,
    bandwidthNm: 10,
    name,
    sensor: 'test-sensor',
    gsdM: 30,
    width,
    height,
    values,
    scale: 0.5,
    offset: -3,
    nodata: -1,
  };
}

describe('ShardReader round trips', () => {
  it('gives back real BigEarthNet S2 patches bit-exactly, at about 2 bytes per atom', async () => {
    expect(s2.length).toBe(11);
    const res = await writeShard(s2, 's2.bin');
    // 12 bands: 4 at 120x120, 6 at 60x60, 2 at 20x20 = 80,000 values per patch (docs/datasets.md).
    expect(res.values).toBe(11 * 80_000);
    const reader = ShardReader.fromBytes(res.data, { name: 's2.bin', expectedBytes: res.bytes });
    expect(reader.length).toBe(11);
    expect(reader.ids()).toEqual(s2.map((s) => s.id));
    // Every patch has the same 12 band descriptions: the band table holds them once.
    expect(reader.header.bands.length).toBe(12);
    const back = await reader.readAll();
    back.forEach((b, i) => expectSameSample(b, s2[i] as Sample));
    const bytesPerAtom = res.bytes / res.values;
    // uint16 is 2 bytes per value; the index and trailer are the overhead.
    expect(bytesPerAtom).toBeGreaterThan(2);
    expect(bytesPerAtom).toBeLessThan(2.5);
    console.log(
      `BigEarthNet S2 shard: ${res.samples} patches, ${res.bytes} bytes, ${res.values} atoms, ${bytesPerAtom.toFixed(4)} bytes/atom; one patch alone: ${((await writeShard(s2.slice(0, 1))).bytes / 80_000).toFixed(4)} bytes/atom`,
    );
  });

  it('gives back Sentinel-1 float32 channel bands with NaN nodata', async () => {
    expect(s1.length).toBe(3);
    const { data } = await writeShard(s1);
    const reader = ShardReader.fromBytes(data);
    for (let i = 0; i < s1.length; i++) expectSameSample(await reader.get(i), s1[i] as Sample);
    const vv = (await reader.get(0)).bands[0];
    expect(vv?.kind === 'channel' && vv.channelKind).toBe('sar-vv');
    expect(vv?.values).toBeInstanceOf(Float32Array);
    expect(Number.isNaN(vv?.nodata)).toBe(true);
  });

  it('keeps every dtype, odd sizes included, as aligned zero-copy views', async () => {
    const n = 3 * 5; // 15 values: every dtype but float64 needs padding after it
    const fill = <T extends RasterArray>(a: T, f: (i: number) => number): T => {
      for (let i = 0; i < a.length; i++) a[i] = f(i);
      return a;
    };
    const sample: Sample = {
      id: 'all-dtypes',
      labels: [0, 3],
      bands: [
        band(
          fill(new Uint8Array(n), (i) => 255 - i),
          3,
          5,
          'u8',
        ),
        band(
          fill(new Int8Array(n), (i) => -128 + i),
          3,
          5,
          'i8',
        ),
        band(
          fill(new Uint16Array(n), (i) => 65535 - i),
          3,
          5,
          'u16',
        ),
        band(
          fill(new Int16Array(n), (i) => -32768 + i * 1000),
          3,
          5,
          'i16',
        ),
        band(
          fill(new Uint32Array(n), (i) => 4294967295 - i),
          3,
          5,
          'u32',
        ),
        band(
          fill(new Int32Array(n), (i) => -2147483648 + i),
          3,
          5,
          'i32',
        ),
        band(
          fill(new Float32Array(n), (i) => (i === 4 ? Number.NaN : i / 3)),
          3,
          5,
          'f32',
        ),
        band(
          fill(new Float64Array(n), (i) => (i === 2 ? -Infinity : Math.PI * i)),
          3,
          5,
          'f64',
        ),
        band(
          fill(new Uint8Array(1), () => 7),
          1,
          1,
          'u8-1x1',
        ),
      ],
    };
    const { data } = await writeShard([sample]);
    const reader = ShardReader.fromBytes(data);
    const back = await reader.get(0);
    expectSameSample(back, sample);
    for (const b of back.bands) {
      expect(b.values.buffer).toBe(data.buffer);
      expect(b.values.byteOffset % 8).toBe(0);
    }
  });

  it('copies a record once when the shard bytes sit at an unaligned offset', async () => {
    const sample: Sample = { id: 'f64', labels: [], bands: [band(new Float64Array([1.5, -2.25, 3]), 3, 1, 'f')] };
    const { data } = await writeShard([sample]);
    const shifted = new Uint8Array(data.byteLength + 3);
    shifted.set(data, 3);
    expectSameSample(await ShardReader.fromBytes(shifted.subarray(3)).get(0), sample);
  });

  it('reads an empty shard', async () => {
    const { data, bytes } = await writeShard([]);
    expect(bytes).toBe(data.byteLength);
    expect(ShardReader.fromBytes(data).length).toBe(0);
  });
});

describe.each([
  { store: 'LocalStore', make: (): ObjectStore => new LocalStore(join(tmp, 'local')) },
  { store: 'S3Store on s3rver', make: (): ObjectStore => s3.store('shards') },
])('ShardReader.open on $store', ({ make }) => {
  it('reads sample k by byte range without fetching the others', async () => {
    const base = make();
    const key = 'datasets/ben/shards/train/000000.bin';
    const res = await putShard(base, key, s2);
    const store = counting(base);
    const reader = await ShardReader.open(store, key, { expectedBytes: res.bytes });
    expect(reader.length).toBe(11);
    const indexBytes = store.ranged;
    // The index of 11 samples is a few kB, far below one patch's 160 kB of rasters.
    expect(indexBytes).toBeLessThan(64 * 1024 + 1);
    const k = 7;
    const sample = await reader.get(k);
    expectSameSample(sample, s2[k] as Sample);
    const entry = reader.entry(k);
    expect(store.ranges[store.ranges.length - 1]).toEqual([entry.offset, entry.offset + entry.length]);
    expect(store.ranged - indexBytes).toBe(entry.length);
    let i = 0;
    for await (const s of reader) expectSameSample(s, s2[i++] as Sample);
    expect(i).toBe(11);
  });

  it('names the key and both lengths for a truncated stored shard', async () => {
    const store = make();
    const { data, bytes } = await writeShard(s2.slice(0, 2));
    const key = 'datasets/ben/shards/val/000001.bin';
    await store.put(key, data.subarray(0, bytes - 1000));
    const withManifest = await ShardReader.open(store, key, { expectedBytes: bytes }).then(
      () => new Error('opened'),
      (e: unknown) => e as Error,
    );
    expect(withManifest.message).toContain(key);
    expect(withManifest.message).toContain(`expected ${bytes} bytes, got ${bytes - 1000} bytes`);
    const without = await ShardReader.open(store, key).then(
      () => new Error('opened'),
      (e: unknown) => e as Error,
    );
    expect(without.message).toMatch(/truncated or corrupt shard: got \d+ bytes \(it does not end with the "ATOMSHRD" trailer\)/);
    await expect(ShardReader.open(store, 'datasets/ben/shards/val/missing.bin')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('ShardReader errors', () => {
  let good: Uint8Array;
  beforeAll(async () => {
    good = (await writeShard(s2.slice(0, 2))).data;
  });

  it('detects truncation anywhere, with expected and actual length when known', () => {
    for (const cut of [1, 31, 32, 1000, good.byteLength - 40, good.byteLength - 1]) {
      const bytes = good.subarray(0, good.byteLength - cut);
      expect(() => ShardReader.fromBytes(bytes, { name: 'x.bin' })).toThrow(/x\.bin: truncated or corrupt shard/);
      expect(() => ShardReader.fromBytes(bytes, { name: 'x.bin', expectedBytes: good.byteLength })).toThrow(
        `x.bin: truncated or corrupt shard: expected ${good.byteLength} bytes, got ${good.byteLength - cut} bytes`,
      );
    }
    expect(() => ShardReader.fromBytes(new Uint8Array(0), { name: 'e.bin' })).toThrow(/e\.bin: truncated/);
  });

  it('rejects bad magic and unsupported versions', () => {
    const bad = good.slice();
    bad[0] = 'X'.charCodeAt(0);
    expect(() => ShardReader.fromBytes(bad, { name: 'm.bin' })).toThrow(/m\.bin: not an Atomizer shard: bad magic "XTOMSHRD"/);
    const v2 = good.slice();
    v2[8] = 2;
    expect(() => ShardReader.fromBytes(v2, { name: 'v.bin' })).toThrow(/v\.bin: unsupported shard format version 2/);
    const t2 = good.slice();
    t2[t2.byteLength - SHARD_TRAILER_BYTES + 20] = 9;
    expect(() => ShardReader.fromBytes(t2, { name: 't.bin' })).toThrow(/t\.bin: unsupported shard format version 9/);
  });

  it('detects a flipped raster byte by the record CRC32, and a flipped index byte by the index CRC32', async () => {
    const reader = ShardReader.fromBytes(good);
    const e = reader.entry(1);
    const flipped = good.slice();
    flipped[e.offset + 12345] = (flipped[e.offset + 12345] as number) ^ 0x01;
    const r2 = ShardReader.fromBytes(flipped, { name: 'f.bin' });
    await expect(r2.get(0)).resolves.toBeDefined();
    await expect(r2.get(1)).rejects.toThrow(/f\.bin: sample 1 \(.*\) is corrupt: record CRC32/);
    const footerByte = good.byteLength - SHARD_TRAILER_BYTES - 10;
    const badIndex = good.slice();
    badIndex[footerByte] = (badIndex[footerByte] as number) ^ 0x20;
    expect(() => ShardReader.fromBytes(badIndex, { name: 'i.bin' })).toThrow(/i\.bin: shard index is corrupt: CRC32/);
    expect(() => reader.entry(2)).toThrow(/sample index 2 out of range \(shard has 2 samples\)/);
  });

  it('names an unsupported dtype found in the band table', () => {
    // Rebuild the shard with the index edited, as a newer writer might produce it.
    const trailer = new DataView(good.buffer, good.byteOffset + good.byteLength - SHARD_TRAILER_BYTES, SHARD_TRAILER_BYTES);
    const footerLength = trailer.getUint32(0, true);
    const footerStart = good.byteLength - SHARD_TRAILER_BYTES - footerLength;
    const footer = JSON.parse(new TextDecoder().decode(good.subarray(footerStart, footerStart + footerLength))) as {
      bands: { dtype: string }[];
    };
    (footer.bands[3] as { dtype: string }).dtype = 'complex64';
    const fb = new TextEncoder().encode(JSON.stringify(footer));
    const total = footerStart + fb.byteLength + SHARD_TRAILER_BYTES;
    const out = new Uint8Array(total);
    out.set(good.subarray(0, footerStart));
    out.set(fb, footerStart);
    out.set(
      encodeTrailer({ footerLength: fb.byteLength, footerCrc32: crc32Of(fb), totalLength: total, sampleCount: 2, version: 1 }),
      footerStart + fb.byteLength,
    );
    expect(() => ShardReader.fromBytes(out, { name: 'd.bin' })).toThrow(
      /d\.bin: unsupported dtype "complex64" in band table entry 3 \(sentinel-2a:B04\); supported: uint8, int8/,
    );
  });
});

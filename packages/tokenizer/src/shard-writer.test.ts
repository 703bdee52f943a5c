import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedS3 } from '@atomizer/protocol/embedded';
import { LocalStore } from '@atomizer/protocol';
import { startEmbeddedS3 } from '@atomizer/protocol/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchFolders, readS2Patch, S2_DIR } from '../test/bigearthnet-fixture.js';
import { expectSameSample } from '../test/shard-assert.js';
import { SHARD_FORMAT_VERSION, SHARD_MAGIC, SHARD_PREFIX_BYTES, SHARD_TRAILER_BYTES } from './shard-format.js';
import { ShardReader } from './shard-reader.js';
import { ShardWriter, putShard, writeShard } from './shard-writer.js';
import type { BandRaster, Sample } from './types.js';

let tmp: string;
let s3: EmbeddedS3;
let s2: Sample[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-shardw-'));
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3') });
  s2 = await Promise.all((await patchFolders(S2_DIR())).slice(0, 4).map((f) => readS2Patch(f, [])));
});

afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function tiny(id: string, values: BandRaster['values'] = new Uint16Array([1, 2, 3, 4])): Sample {
  return {
    id,
    labels: [1],
    bands: [
      {
        kind: 'spectral',
        wavelengthNm: 665,
        bandwidthNm: 30,
        name: 'red',
        sensor: 's',
        gsdM: 10,
        width: 2,
        height: 2,
        values,
        scale: 1,
        offset: 0,
      },
    ],
  };
}

describe('ShardWriter', () => {
  it('writes the documented layout: magic and version first, trailer with total length last', async () => {
    const { data, bytes, samples } = await writeShard(s2.slice(0, 1));
    expect(samples).toBe(1);
    expect(bytes).toBe(data.byteLength);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    expect(new TextDecoder().decode(data.subarray(0, 8))).toBe(SHARD_MAGIC);
    expect(dv.getUint32(8, true)).toBe(SHARD_FORMAT_VERSION);
    expect(new TextDecoder().decode(data.subarray(data.byteLength - 8))).toBe(SHARD_MAGIC);
    expect(Number(dv.getBigUint64(data.byteLength - SHARD_TRAILER_BYTES + 8, true))).toBe(data.byteLength);
    expect(dv.getUint32(data.byteLength - SHARD_TRAILER_BYTES + 16, true)).toBe(1);
    // The first record starts right after the prefix; its first raster is B01 (20x20 uint16).
    const b01 = s2[0]?.bands[0]?.values as Uint16Array;
    expect(new Uint16Array(data.buffer, data.byteOffset + SHARD_PREFIX_BYTES, 400)).toEqual(b01);
  });

  it('streams to a Node Writable the same bytes and sha256 as a one-shot write', async () => {
    const oneShot = await writeShard(s2);
    const file = join(tmp, 'streamed.bin');
    const writer = new ShardWriter({ sink: createWriteStream(file), name: file });
    for (const s of s2) {
      await writer.add(s);
      expect(writer.sampleCount).toBeGreaterThan(0);
    }
    const res = await writer.finish();
    expect(res.data).toBeUndefined();
    const onDisk = new Uint8Array(await readFile(file));
    expect(Buffer.compare(Buffer.from(onDisk), Buffer.from(oneShot.data))).toBe(0);
    expect(res.sha256).toBe(oneShot.sha256);
    expect(res.sha256).toBe(sha256(onDisk));
    expect(res.bytes).toBe(onDisk.byteLength);
    expect(res.values).toBe(4 * 80_000);
  });

  it('streams to any ShardSink, chunk by chunk', async () => {
    const chunks: Uint8Array[] = [];
    const writer = new ShardWriter({ sink: { write: async (c: Uint8Array) => void chunks.push(c) } });
    for (const s of s2.slice(0, 2)) await writer.add(s);
    const res = await writer.finish();
    const joined = Buffer.concat(chunks);
    expect(joined.byteLength).toBe(res.bytes);
    expect(sha256(joined)).toBe(res.sha256);
    expect(Buffer.compare(joined, Buffer.from((await writeShard(s2.slice(0, 2))).data))).toBe(0);
  });

  it.each([
    { store: 'LocalStore', make: () => new LocalStore(join(tmp, 'local')) },
    { store: 'S3Store on s3rver', make: () => s3.store('w') },
  ])('putShard uploads a stream into $store that reads back equal', async ({ make }) => {
    const store = make();
    const key = 'datasets/d/shards/train/000003.bin';
    const res = await putShard(store, key, s2);
    const stored = await store.get(key);
    expect(stored.byteLength).toBe(res.bytes);
    expect(sha256(stored)).toBe(res.sha256);
    expect(sha256(stored)).toBe((await writeShard(s2)).sha256);
    const reader = await ShardReader.open(store, key);
    for (let i = 0; i < s2.length; i++) expectSameSample(await reader.get(i), s2[i] as Sample);
  });

  it('leaves no object behind when the samples fail midway through putShard', async () => {
    const store = new LocalStore(join(tmp, 'failing'));
    async function* broken(): AsyncGenerator<Sample> {
      yield s2[0] as Sample;
      throw new Error('reader failed on patch 2');
    }
    await expect(putShard(store, 'datasets/d/shards/train/000000.bin', broken())).rejects.toThrow(/reader failed on patch 2/);
    expect(await store.list('')).toEqual([]);
  });

  it('rejects invalid samples with the sample and band named, and stays usable', async () => {
    const writer = new ShardWriter({ name: 'shard-7' });
    await writer.add(tiny('a'));
    await expect(writer.add(tiny('a'))).rejects.toThrow(/shard-7: sample 1 \("a"\): duplicate sample id/);
    await expect(writer.add(tiny('b', new Uint16Array(3)))).rejects.toThrow(
      /shard-7: sample 1 \("b"\) band 0 \(red\): values has 3 elements, expected width\*height = 2\*2 = 4/,
    );
    await expect(writer.add(tiny('c', new BigInt64Array(4) as unknown as Uint16Array))).rejects.toThrow(
      /band 0 \(red\): unsupported dtype: values are a BigInt64Array; supported: uint8, int8, uint16/,
    );
    await expect(writer.add(tiny('c2', new Uint8ClampedArray(4) as unknown as Uint8Array))).rejects.toThrow(/unsupported dtype/);
    await expect(writer.add({ ...tiny('d'), labels: [-1] })).rejects.toThrow(/sample 1 \("d"\): labels must be non-negative integer/);
    await expect(writer.add({ ...tiny('e'), bands: [] })).rejects.toThrow(/sample 1 \("e"\): has no bands/);
    await expect(writer.add({ ...tiny('f'), time: { iso: 'x', year: 2020, doy: 400 } })).rejects.toThrow(/time must be/);
    await writer.add(tiny('g'));
    const res = await writer.finish();
    expect(res.samples).toBe(2);
    const reader = ShardReader.fromBytes(res.data as Uint8Array);
    expect(reader.ids()).toEqual(['a', 'g']);
    await expect(writer.add(tiny('h'))).rejects.toThrow(/already finished/);
  });
});

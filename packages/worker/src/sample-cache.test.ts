import { ShardReader, dataPath, readStatlog, writeShard, type Sample } from '@atomizer/tokenizer';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DecodedSamples, decodedSampleBytes } from './sample-cache.js';

// Shards of real Statlog samples (Landsat MSS, 4 bands of 3 x 3 pixels).
let statlog: Sample[] = [];
beforeAll(async () => {
  statlog = (await readStatlog(dataPath('statlog', 'statlog_landsat_satellite.csv'))).slice(0, 90).map((i) => i.sample);
});

async function shard(from: number, to: number): Promise<{ reader: ShardReader; sha256: string }> {
  const { data, sha256 } = await writeShard(statlog.slice(from, to), `statlog-${from}`);
  return { reader: ShardReader.fromBytes(data, { name: `statlog-${from}` }), sha256 };
}

describe('DecodedSamples', () => {
  it('decodes each sample once and hands later reads the same, equal samples', async () => {
    const { reader, sha256 } = await shard(0, 30);
    const get = vi.spyOn(reader, 'get');
    const cache = new DecodedSamples();
    const first = await cache.range(reader, sha256, 5, 20, true);
    expect(get).toHaveBeenCalledTimes(15);
    const again = await cache.range(reader, sha256, 0, 30, true);
    // Only the 15 not read before are decoded now.
    expect(get).toHaveBeenCalledTimes(30);
    expect(again.slice(5, 20)).toEqual(first);
    for (let i = 0; i < 15; i++) expect(again[5 + i]).toBe(first[i]);
    const plain = new DecodedSamples();
    const fresh = ShardReader.fromBytes((await writeShard(statlog.slice(0, 30))).data);
    expect(again).toEqual(await plain.range(fresh, 'other', 0, 30, false));
    expect(again.map((s) => s.id)).toEqual(statlog.slice(0, 30).map((s) => s.id));
    expect(cache.size).toEqual({ shards: 1, samples: 30, bytes: 30 * decodedSampleBytes(4) });
  });

  it('freezes the shared samples: a caller that writes one throws instead of changing later jobs', async () => {
    const { reader, sha256 } = await shard(0, 10);
    const [s] = await new DecodedSamples().range(reader, sha256, 0, 1, true);
    expect(() => s!.labels.push(3)).toThrow(TypeError);
    expect(() => {
      (s as { id: string }).id = 'x';
    }).toThrow(TypeError);
    expect(() => {
      s!.bands[0] = s!.bands[1]!;
    }).toThrow(TypeError);
    expect(() => {
      (s!.bands[0] as { name: string }).name = 'x';
    }).toThrow(TypeError);
  });

  it('keeps at most its heap estimate over all shards, dropping the least recently read shard', async () => {
    const [a, b, c] = [await shard(0, 30), await shard(30, 60), await shard(60, 90)];
    const cache = new DecodedSamples(60 * decodedSampleBytes(4)); // two shards of 30 Statlog samples (4 bands)
    await cache.range(a.reader, a.sha256, 0, 2, true);
    await cache.range(b.reader, b.sha256, 0, 2, true);
    await cache.range(a.reader, a.sha256, 2, 3, true); // a is now the most recent
    await cache.range(c.reader, c.sha256, 0, 1, true); // 90 > 60: b goes
    expect(cache.size).toEqual({ shards: 2, samples: 4, bytes: 60 * decodedSampleBytes(4) });
    const getB = vi.spyOn(b.reader, 'get');
    const getA = vi.spyOn(a.reader, 'get');
    await cache.range(a.reader, a.sha256, 0, 3, true);
    expect(getA).not.toHaveBeenCalled();
    await cache.range(b.reader, b.sha256, 0, 2, true);
    expect(getB).toHaveBeenCalledTimes(2);
  });

  it('keeps nothing of a shard larger than the bound, of a reader it is told not to keep, or of a dropped shard', async () => {
    const { reader, sha256 } = await shard(0, 30);
    const small = new DecodedSamples(29 * decodedSampleBytes(4));
    const get = vi.spyOn(reader, 'get');
    await small.range(reader, sha256, 0, 5, true);
    await small.range(reader, sha256, 0, 5, true);
    expect(get).toHaveBeenCalledTimes(10);
    expect(small.size).toEqual({ shards: 0, samples: 0, bytes: 0 });

    const cache = new DecodedSamples();
    const loose = await cache.range(reader, sha256, 0, 5, false);
    expect(cache.size).toEqual({ shards: 0, samples: 0, bytes: 0 });
    // Not kept, yet frozen like a kept one: a write fails the same way whatever the cache did.
    expect(Object.isFrozen(loose[0])).toBe(true);
    expect(Object.isFrozen(loose[0]!.labels)).toBe(true);
    const kept = await cache.range(reader, sha256, 0, 5, true);
    expect(Object.isFrozen(kept[0])).toBe(true);
    cache.drop(sha256);
    expect(cache.size).toEqual({ shards: 0, samples: 0, bytes: 0 });
    const after = await cache.range(reader, sha256, 0, 5, true);
    expect(after[0]).not.toBe(kept[0]);
  });
});

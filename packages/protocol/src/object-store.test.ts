// One contract suite, run against every ObjectStore implementation: the local folder
// store and the S3 store talking to a real s3rver started here on a temp folder.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedS3 } from './embedded-s3.js';
import { startEmbeddedS3 } from './embedded-s3.js';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { NotFoundError } from './object-store.js';
import { S3Store } from './s3-store.js';
import { sha256Hex } from './sha256.js';

let tmp: string;
let s3: EmbeddedS3;
let n = 0;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-store-'));
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3rver') });
});

afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

interface Impl {
  name: string;
  /** A fresh, empty store; `listPageSize` only matters where listing is paged. */
  make(listPageSize?: number): ObjectStore;
}

const impls: Impl[] = [
  { name: 'LocalStore', make: () => new LocalStore(join(tmp, `local-${n++}`)) },
  {
    name: 'S3Store on s3rver',
    make: (listPageSize) =>
      new S3Store({
        bucket: s3.bucket,
        prefix: `suite-${n++}`,
        endpoint: s3.endpoint,
        credentials: s3.credentials,
        ...(listPageSize !== undefined ? { listPageSize } : {}),
      }),
  },
];

/** A stream that yields `total` bytes of `source` in uneven chunks, as a network or file stream would. */
function chunked(source: Uint8Array, failAfter?: number): Readable {
  return Readable.from(
    (function* () {
      let at = 0;
      let i = 0;
      while (at < source.byteLength) {
        if (failAfter !== undefined && at >= failAfter) throw new Error('source stream broke');
        const size = 65_536 + ((i++ * 7919) % 50_000);
        yield source.subarray(at, Math.min(source.byteLength, at + size));
        at += size;
      }
    })(),
  );
}

describe.each(impls)('ObjectStore contract: $name', (impl) => {
  it('round-trips a 5 MB random buffer bit-exactly', async () => {
    const store = impl.make();
    const data = new Uint8Array(randomBytes(5_000_000));
    await store.put('blobs/random.bin', data);
    const back = await store.get('blobs/random.bin');
    expect(back.byteLength).toBe(data.byteLength);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(data))).toBe(0);
    expect(await store.head('blobs/random.bin')).toEqual({ size: 5_000_000 });
  });

  it('stores a streamed upload larger than one multipart part bit-exactly', async () => {
    const store = impl.make();
    // 12 MiB + 123 bytes: three 5 MiB parts on S3, the last one short.
    const data = new Uint8Array(randomBytes(12 * 1024 * 1024 + 123));
    await store.put('big/streamed.bin', chunked(data));
    const back = await store.get('big/streamed.bin');
    expect(back.byteLength).toBe(data.byteLength);
    expect(sha256Hex(back)).toBe(sha256Hex(data));
  });

  it('serves byte ranges exactly, and refuses ranges past the end', async () => {
    const store = impl.make();
    const data = new Uint8Array(randomBytes(100_000));
    await store.put('r.bin', data);
    expect(Buffer.from(await store.getRange('r.bin', 12_345, 54_321))).toEqual(Buffer.from(data.subarray(12_345, 54_321)));
    expect(Buffer.from(await store.getRange('r.bin', 0, 1))).toEqual(Buffer.from(data.subarray(0, 1)));
    expect(Buffer.from(await store.getRange('r.bin', 99_999, 100_000))).toEqual(Buffer.from(data.subarray(99_999)));
    expect((await store.getRange('r.bin', 500, 500)).byteLength).toBe(0);
    // Into a caller's buffer: the same bytes (a view of it where the store reads in place).
    const into = new Uint8Array(50_000).fill(7);
    const ranged = await store.getRange('r.bin', 10_000, 30_000, into);
    expect(Buffer.from(ranged)).toEqual(Buffer.from(data.subarray(10_000, 30_000)));
    if (impl.name === 'LocalStore') expect(ranged.buffer).toBe(into.buffer);
    await expect(store.getRange('r.bin', 99_000, 100_001)).rejects.toThrow(/past the end of the object \(100000 bytes\)/);
    await expect(store.getRange('r.bin', 200_000, 200_010)).rejects.toThrow(/past the end/);
    await expect(store.getRange('r.bin', 10, 5)).rejects.toThrow(/invalid byte range/);
    await expect(store.getRange('nope.bin', 0, 10)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reads a scratch put (durable: false) back like any other; persist keeps it and refuses a missing key', async () => {
    const store = impl.make();
    const data = new Uint8Array(randomBytes(200_000));
    await store.put('scratch/s.bin', data, { durable: false });
    await store.persist('scratch/s.bin');
    expect(sha256Hex(await store.get('scratch/s.bin'))).toBe(sha256Hex(data));
    await expect(store.persist('scratch/nope.bin')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('throws NotFoundError naming the key and the store for a missing object', async () => {
    const store = impl.make();
    const err = await store.get('datasets/x/manifest.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).key).toBe('datasets/x/manifest.json');
    expect((err as NotFoundError).message).toContain('datasets/x/manifest.json');
    expect((err as NotFoundError).message).toContain(store.describe());
    expect(await store.head('datasets/x/manifest.json')).toBeUndefined();
    expect(await store.exists('datasets/x/manifest.json')).toBe(false);
  });

  it('overwrites, deletes, and treats deleting a missing key as done', async () => {
    const store = impl.make();
    await store.put('a/b.txt', new TextEncoder().encode('first version'));
    await store.put('a/b.txt', new TextEncoder().encode('second'));
    expect(new TextDecoder().decode(await store.get('a/b.txt'))).toBe('second');
    expect(await store.exists('a/b.txt')).toBe(true);
    await store.delete('a/b.txt');
    expect(await store.exists('a/b.txt')).toBe(false);
    await expect(store.get('a/b.txt')).rejects.toBeInstanceOf(NotFoundError);
    await store.delete('a/b.txt');
    await store.put('empty', new Uint8Array(0));
    expect(await store.head('empty')).toEqual({ size: 0 });
    expect((await store.get('empty')).byteLength).toBe(0);
  });

  it('lists by string prefix, sorted, across many pages', async () => {
    const store = impl.make(7);
    let listCalls = 0;
    if (store instanceof S3Store) {
      store.client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'ListObjectsCommand') listCalls++;
          return next(args);
        },
        { step: 'initialize' },
      );
    }
    const keys: string[] = [];
    for (let i = 0; i < 40; i++) keys.push(`datasets/ds/shards/train/${String(i).padStart(6, '0')}.bin`);
    const others = ['datasets/ds/manifest.json', 'datasets/ds2/manifest.json', 'runs/r/config.json'];
    // Write in reverse so a store that returned insertion order would fail.
    await Promise.all([...keys, ...others].reverse().map((k) => store.put(k, new Uint8Array([1]))));
    expect(await store.list('datasets/ds/shards/train/')).toEqual(keys);
    // 40 keys at 7 per page is 6 pages: the listing really was paged and every page collected.
    if (store instanceof S3Store) expect(listCalls).toBe(6);
    expect(await store.list('datasets/ds/shards/train/00003')).toEqual(keys.slice(30, 40));
    // A string prefix, not a folder: 'datasets/ds' also matches 'datasets/ds2/...'.
    expect(await store.list('datasets/ds')).toEqual([...others.slice(0, 1), ...keys, others[1]].sort());
    expect(await store.list('')).toEqual([...keys, ...others].sort());
    expect(await store.list('nothing/here/')).toEqual([]);
  });

  it('leaves no object behind when a streamed upload fails midway', async () => {
    const store = impl.make();
    const old = new TextEncoder().encode('the previous, complete object');
    await store.put('atomic/x.bin', old);
    const data = new Uint8Array(randomBytes(300_000));
    await expect(store.put('atomic/x.bin', chunked(data, 150_000))).rejects.toThrow(/source stream broke/);
    await expect(store.put('atomic/y.bin', chunked(data, 150_000))).rejects.toThrow(/source stream broke/);
    expect(Buffer.from(await store.get('atomic/x.bin'))).toEqual(Buffer.from(old));
    expect(await store.exists('atomic/y.bin')).toBe(false);
    expect(await store.list('atomic/')).toEqual(['atomic/x.bin']);
  });

  it('replaces an object atomically: readers during rewrites see one whole version, never a torn one', async () => {
    // The coordinator rewrites status.json and metrics.jsonl every round while the
    // dashboard reads them; real S3 swaps objects atomically and every store must too.
    const store = impl.make();
    const versions = [0x61, 0x62, 0x63].map((c, i) => new Uint8Array(200_000 + i * 150_000).fill(c));
    await store.put('atomic/status.json', versions[0]!);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 24; i++) await store.put('atomic/status.json', i % 2 ? versions[i % 3]! : chunked(versions[i % 3]!));
      writing = false;
    })();
    let reads = 0;
    while (writing || reads < 10) {
      const [got, info] = await Promise.all([store.get('atomic/status.json'), store.head('atomic/status.json')]);
      reads++;
      const whole = versions.find(
        (v) => v.byteLength === got.byteLength && v[0] === got[0] && v[v.byteLength - 1] === got[got.byteLength - 1],
      );
      expect(whole, `read ${reads}: ${got.byteLength} bytes is no version that was written`).toBeDefined();
      expect(
        got.every((b) => b === got[0]),
        `read ${reads}: mixed bytes`,
      ).toBe(true);
      expect(
        versions.some((v) => v.byteLength === info!.size),
        `head ${reads}: size ${info!.size}`,
      ).toBe(true);
    }
    await writer;
    expect(reads).toBeGreaterThan(10);
  });

  it('rejects keys that could escape the store or name a folder', async () => {
    const store = impl.make();
    for (const bad of ['', '/abs', 'a/../b', '..', 'a//b', 'dir/', 'a\\b', './a']) {
      await expect(store.put(bad, new Uint8Array(1)), bad).rejects.toThrow(/invalid object key/);
      await expect(store.get(bad), bad).rejects.toThrow(/invalid object key/);
    }
  });
});

describe('LocalStore', () => {
  it('describes itself as a file URL and leaves no temp files after writes', async () => {
    const root = join(tmp, 'local-describe');
    const store = new LocalStore(root);
    expect(store.describe()).toBe(`file://${root}`);
    await store.put('a/b.bin', new Uint8Array(randomBytes(1000)));
    await store.put('a/b.bin', chunked(new Uint8Array(randomBytes(200_000))));
    expect(await readdir(join(root, 'a'))).toEqual(['b.bin']);
  });
});

describe('S3Store', () => {
  it('keeps stores with different prefixes apart and describes bucket, prefix and endpoint', async () => {
    const a = s3.store('tenant-a');
    const b = s3.store('tenant-b/nested');
    await a.put('k.json', new TextEncoder().encode('"a"'));
    await b.put('k.json', new TextEncoder().encode('"b"'));
    expect(new TextDecoder().decode(await a.get('k.json'))).toBe('"a"');
    expect(new TextDecoder().decode(await b.get('k.json'))).toBe('"b"');
    expect(await a.list('')).toEqual(['k.json']);
    expect(a.describe()).toBe(`s3://${s3.bucket}/tenant-a at ${s3.endpoint}`);
    // The whole bucket shows both, with their prefixes.
    const all = await s3.store().list('tenant-');
    expect(all).toEqual(['tenant-a/k.json', 'tenant-b/nested/k.json']);
  });

  it('reports a missing bucket by name instead of a generic failure', async () => {
    const store = new S3Store({ bucket: 'no-such-bucket', endpoint: s3.endpoint, credentials: s3.credentials });
    await expect(store.put('x', new Uint8Array(1))).rejects.toThrow(/bucket no-such-bucket does not exist.*create it first/);
    store.close();
  });

  it('says what to check when the endpoint does not answer', async () => {
    // A port nobody listens on: the server of this suite, stopped, would do too.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const store = new S3Store({ bucket: 'closed-port', endpoint: `http://127.0.0.1:${port}`, credentials: s3.credentials });
    await expect(store.get('k')).rejects.toThrow(/get k .*ECONNREFUSED.*is the S3 endpoint running/);
    store.close();
  });

  it('validates its options with messages naming the option', () => {
    expect(() => new S3Store({ bucket: 'Bad_Bucket' })).toThrow(/bucket "Bad_Bucket" is not a valid bucket name/);
    expect(() => new S3Store({ bucket: 'ok-bucket', listPageSize: 5000 })).toThrow(/listPageSize/);
    expect(() => new S3Store({ bucket: 'ok-bucket', partSize: 1024 })).toThrow(/partSize/);
  });
});

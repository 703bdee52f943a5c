import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalStore } from './local-store.js';
import { SCRATCH } from './object-store.js';

// What a scratch put saves: the fsync, and only that (the object-store contract suite
// checks the bytes of every kind of put).
let dir: string;
let fileHandleProto: { sync: () => Promise<void> };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-local-store-'));
  const h = await open(join(dir, 'probe'), 'w');
  fileHandleProto = Object.getPrototypeOf(h) as { sync: () => Promise<void> };
  await h.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalStore durability', () => {
  it('fsyncs a put by default, not a scratch put; persist fsyncs the scratch object', async () => {
    const store = new LocalStore(dir);
    const sync = vi.spyOn(fileHandleProto, 'sync');
    await store.put('a/durable.bin', new Uint8Array([1, 2, 3]));
    expect(sync).toHaveBeenCalledTimes(1);
    await store.put('a/scratch.bin', new Uint8Array([4, 5]), SCRATCH);
    expect(sync).toHaveBeenCalledTimes(1);
    await store.persist('a/scratch.bin');
    expect(sync).toHaveBeenCalledTimes(2);
    expect([...(await store.get('a/scratch.bin'))]).toEqual([4, 5]);
  });

  it('keeps a scratch put atomic: a failed write leaves the previous object and no temp file', async () => {
    const store = new LocalStore(dir);
    await store.put('b/obj.bin', new Uint8Array([9]), SCRATCH);
    const broken = (): Readable =>
      Readable.from(
        (async function* () {
          yield new Uint8Array([1]);
          throw new Error('source broke');
        })(),
      );
    await expect(store.put('b/obj.bin', broken, SCRATCH)).rejects.toThrow(/source broke/);
    expect([...(await store.get('b/obj.bin'))]).toEqual([9]);
    expect(await store.list('b/')).toEqual(['b/obj.bin']);
  });
});

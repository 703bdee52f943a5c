import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAT_CHUNK_BYTES, LocalStore, encodeFlat, type ObjectStore } from '@atomizer/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeaderOf } from './results.js';
import { WholeResultReads, resultReads } from './whole-result-reads.js';

let dir: string;
let local: LocalStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-whole-reads-'));
  local = new LocalStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The folder store, counting the requests that reach it. */
function counted(store: ObjectStore): { store: ObjectStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (op: string): void => void (calls[op] = (calls[op] ?? 0) + 1);
  return {
    calls,
    store: {
      put: (k, b, o) => (count('put'), store.put(k, b, o)),
      get: (k) => (count('get'), store.get(k)),
      getRange: (k, s, e, into) => (count('getRange'), store.getRange(k, s, e, into)),
      head: (k) => (count('head'), store.head(k)),
      exists: (k) => (count('exists'), store.exists(k)),
      list: (p) => (count('list'), store.list(p)),
      delete: (k) => (count('delete'), store.delete(k)),
      persist: (k) => (count('persist'), store.persist(k)),
      describe: () => store.describe(),
    },
  };
}

function result(seed: number, n = 1000): Uint8Array {
  return encodeFlat({ kind: 'train-result', seed }, { update: Float32Array.from({ length: n }, (_, i) => seed + i / 7) });
}

describe('WholeResultReads', () => {
  it('reads a small result in one GET: the header check and the payload read come from its bytes', async () => {
    await local.put('w/a.bin', result(1));
    const { store, calls } = counted(local);
    const view = new WholeResultReads(store);
    const { header, size } = await readHeaderOf(view, 'w/a.bin');
    const payload = await view.getRange('w/a.bin', header.payloadOffset, header.payloadEnd);
    expect(calls).toEqual({ get: 1 });
    expect(size).toBe((await local.head('w/a.bin'))!.size);
    expect(Buffer.from(payload).equals(Buffer.from(await local.getRange('w/a.bin', header.payloadOffset, header.payloadEnd)))).toBe(true);
  });

  it('hands out copies of their own (a fold transfers them to a thread), or fills `into`', async () => {
    await local.put('w/b.bin', result(2));
    const view = new WholeResultReads(local);
    await view.head('w/b.bin');
    const a = await view.getRange('w/b.bin', 100, 300);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(200);
    a.fill(0);
    const b = await view.getRange('w/b.bin', 100, 300);
    expect(Buffer.from(b).equals(Buffer.from(await local.getRange('w/b.bin', 100, 300)))).toBe(true);
    const into = new Uint8Array(512);
    const c = await view.getRange('w/b.bin', 100, 300, into);
    expect(c.buffer).toBe(into.buffer);
    expect(Buffer.from(c).equals(Buffer.from(b))).toBe(true);
    const whole = await view.get('w/b.bin');
    whole.fill(0);
    expect(Buffer.from(await view.get('w/b.bin')).equals(Buffer.from(await local.get('w/b.bin')))).toBe(true);
  });

  it('reads afresh at every head (a retried slice rewrites its key); put and delete drop what it kept; a missing object has no head', async () => {
    const view = new WholeResultReads(local);
    await local.put('w/c.bin', result(3));
    await view.head('w/c.bin');
    await local.put('w/c.bin', result(4));
    await view.head('w/c.bin');
    expect(Buffer.from(await view.get('w/c.bin')).equals(Buffer.from(result(4)))).toBe(true);
    await view.put('w/c.bin', result(5));
    expect(Buffer.from(await view.get('w/c.bin')).equals(Buffer.from(result(5)))).toBe(true);
    expect(view.heldBytes).toBe(0);
    await view.head('w/c.bin');
    await view.delete('w/c.bin');
    expect(view.heldBytes).toBe(0);
    expect(await view.head('w/c.bin')).toBeUndefined();
    await expect(view.getRange('w/c.bin', 0, 4)).rejects.toThrow(/not found/);
  });

  it('holds at most maxBytes: a result pushed out is read from the store by ranges, and a range past the end is the store’s error', async () => {
    const one = result(6).byteLength;
    for (const k of ['d', 'e', 'f']) await local.put(`w/${k}.bin`, result(6));
    const { store, calls } = counted(local);
    const view = new WholeResultReads(store, Math.floor(2.5 * one));
    for (const k of ['d', 'e', 'f']) await view.head(`w/${k}.bin`);
    expect(view.heldBytes).toBe(2 * one);
    await view.getRange('w/d.bin', 0, 64); // the oldest, pushed out
    await view.getRange('w/f.bin', 0, 64);
    expect(calls).toEqual({ get: 3, getRange: 1 });
    await expect(view.getRange('w/f.bin', one - 4, one + 4)).rejects.toThrow(/past the end/);
    const tiny = new WholeResultReads(local, 10);
    await tiny.head('w/d.bin');
    expect(tiny.heldBytes).toBe(0);
  });

  it('resultReads: whole reads for results of at most one hash chunk, the store itself for larger ones', () => {
    expect(resultReads(local, FLAT_CHUNK_BYTES / 4, 'f32')).toBeInstanceOf(WholeResultReads);
    expect(resultReads(local, FLAT_CHUNK_BYTES / 4 + 1, 'f32')).toBe(local);
    expect(resultReads(local, FLAT_CHUNK_BYTES / 2, 'bf16')).toBeInstanceOf(WholeResultReads);
    expect(resultReads(local, 60_245_395, 'bf16')).toBe(local);
  });
});

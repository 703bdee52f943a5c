import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, decodeFlat } from '@atomizer/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishWeights } from './weights-publish.js';

let dir: string;
let store: LocalStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-weights-publish-'));
  store = new LocalStore(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('publishWeights', () => {
  const weights = Float32Array.from({ length: 1000 }, (_, i) => i / 7);

  it('writes only once `after` resolves, with the payload hash jobs carry', async () => {
    let release!: () => void;
    const after = new Promise<void>((r) => (release = r));
    const p = publishWeights(store, 'w/0.bin', 'run', 0, 'model', weights, 'f32', after);
    await new Promise((r) => setTimeout(r, 50));
    expect(await store.exists('w/0.bin')).toBe(false);
    release();
    const out = await p;
    const flat = decodeFlat(await store.get('w/0.bin'), 'w/0.bin');
    expect(flat.payloadSha256).toBe(out.payloadSha256);
    expect(Buffer.from((flat.arrays.weights as Float32Array).buffer).equals(Buffer.from(weights.buffer))).toBe(true);
  });

  it('writes nothing when `after` rejects (a lost lease)', async () => {
    const after = Promise.reject(new Error('lease lost'));
    after.catch(() => undefined);
    await expect(publishWeights(store, 'w/1.bin', 'run', 1, 'model', weights, 'f32', after)).rejects.toThrow('lease lost');
    expect(await store.exists('w/1.bin')).toBe(false);
  });
});

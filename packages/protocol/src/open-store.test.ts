import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedS3 } from './embedded-s3.js';
import { startEmbeddedS3 } from './embedded-s3.js';
import { LocalStore } from './local-store.js';
import { openStore, parseS3Location } from './open-store.js';
import { ResilientStore } from './resilient-store.js';
import { S3Store } from './s3-store.js';
import { sha256Hex, Sha256 } from './sha256.js';

let tmp: string;
let s3: EmbeddedS3;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-open-'));
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3'), bucket: 'demo-bucket' });
});

afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('parseS3Location', () => {
  it('splits bucket and prefix', () => {
    expect(parseS3Location('s3://b/a/b/')).toEqual({ bucket: 'b', prefix: 'a/b' });
    expect(parseS3Location('s3://b')).toEqual({ bucket: 'b', prefix: '' });
    expect(parseS3Location('/data/x')).toBeUndefined();
    expect(() => parseS3Location('s3:///x')).toThrow(/missing bucket name/);
  });
});

describe('openStore', () => {
  it('opens folders and file URLs as LocalStore', async () => {
    const a = await openStore(join(tmp, 'x'));
    expect(a).toBeInstanceOf(LocalStore);
    expect(a.describe()).toBe(pathToFileURL(join(tmp, 'x')).href);
    const b = await openStore(pathToFileURL(join(tmp, 'y')).href);
    expect(b).toBeInstanceOf(LocalStore);
    expect((b as LocalStore).root).toBe(join(tmp, 'y'));
  });

  it('rejects empty locations and unknown schemes', async () => {
    await expect(openStore('')).rejects.toThrow(/store location is empty/);
    await expect(openStore('gs://bucket/x')).rejects.toThrow(/unsupported scheme/);
  });

  it('opens s3:// locations with explicit options and reaches the server', async () => {
    const store = await openStore('s3://demo-bucket/team/data', { endpoint: s3.endpoint, credentials: s3.credentials });
    // An S3Store behind the outage guard; outage: false gives the bare store.
    expect(store).toBeInstanceOf(ResilientStore);
    expect((store as ResilientStore).inner).toBeInstanceOf(S3Store);
    const bare = await openStore('s3://demo-bucket/x', { endpoint: s3.endpoint, outage: false });
    expect(bare).toBeInstanceOf(S3Store);
    (bare as S3Store).close();
    expect(store.describe()).toBe(`s3://demo-bucket/team/data at ${s3.endpoint}`);
    await store.put('hello.txt', new TextEncoder().encode('hi'));
    expect(await s3.store().list('team/')).toEqual(['team/data/hello.txt']);
    ((store as ResilientStore).inner as S3Store).close();
  });

  it('takes endpoint, region and credentials from the standard AWS environment variables', async () => {
    const saved = { ...process.env };
    try {
      delete process.env.AWS_ENDPOINT_URL_S3;
      Object.assign(process.env, s3.env);
      const store = await openStore('s3://demo-bucket/env');
      expect(store.describe()).toBe(`s3://demo-bucket/env at ${s3.endpoint}`);
      await store.put('k', new Uint8Array([1, 2, 3]));
      expect([...(await store.get('k'))]).toEqual([1, 2, 3]);
      ((store as ResilientStore).inner as S3Store).close();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe('sha256', () => {
  it('matches the FIPS 180-2 test vector and hashes chunks as their concatenation', () => {
    const abc = new TextEncoder().encode('abc');
    expect(sha256Hex(abc)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex([abc.subarray(0, 1), abc.subarray(1)])).toBe(sha256Hex(abc));
    const h = new Sha256().update(abc.subarray(0, 2)).update(abc.subarray(2));
    expect(h.digest()).toBe(sha256Hex(abc));
    expect(() => h.digest()).toThrow(/twice/);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedS3, type EmbeddedS3 } from './embedded-s3.js';
import { OutageError, OutageGuard } from './outage.js';
import { freePort } from './redis.js';
import { ResilientStore } from './resilient-store.js';

// A real S3 server (s3rver) stopped and started again on the same port and folder: the
// store's operations wait for it instead of failing.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<{ dir: string; port: number; s3: EmbeddedS3; restart(): Promise<EmbeddedS3> }> {
  const dir = await mkdtemp(join(tmpdir(), 'atomizer-resilient-'));
  const port = await freePort();
  const running: EmbeddedS3[] = [await startEmbeddedS3({ dir, port })];
  cleanups.push(async () => {
    for (const s of running) await s.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir,
    port,
    s3: running[0]!,
    restart: async () => {
      const s = await startEmbeddedS3({ dir, port });
      running.push(s);
      return s;
    },
  };
}

describe('ResilientStore', () => {
  it('rides out a store outage: a get and a streamed put issued while the server is down complete once it is back', async () => {
    const { s3, restart } = await server();
    const lines: string[] = [];
    const store = new ResilientStore(
      s3.store(),
      new OutageGuard({ what: 'the store', budgetMs: 30_000, log: (l) => lines.push(l), maxDelayMs: 300 }),
    );
    await store.put('a.bin', new Uint8Array([1, 2, 3]));
    await s3.stop();
    const got = store.get('a.bin');
    const put = store.put('b.bin', () => Readable.from([new Uint8Array([4, 5]), new Uint8Array([6])]));
    await new Promise((r) => setTimeout(r, 1500));
    await restart();
    expect([...(await got)]).toEqual([1, 2, 3]);
    await put;
    expect([...(await store.get('b.bin'))]).toEqual([4, 5, 6]);
    expect(lines.filter((l) => l.includes('connection lost'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('back after'))).toHaveLength(1);
  }, 60_000);

  it('past the budget: an OutageError that names the store and the budget', async () => {
    const { s3 } = await server();
    const store = new ResilientStore(
      s3.store(),
      new OutageGuard({ what: 'the store s3://atomizer', budgetMs: 1000, log: () => undefined, maxDelayMs: 200 }),
    );
    await s3.stop();
    const err = await store.list('runs/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutageError);
    expect((err as Error).message).toMatch(/^the store s3:\/\/atomizer unreachable for \d+ s, past the outage budget of 1 s/);
  }, 60_000);

  it('a missing key is an answer, not an outage: NotFoundError at once', async () => {
    const { s3 } = await server();
    const lines: string[] = [];
    const store = new ResilientStore(s3.store(), new OutageGuard({ what: 'the store', budgetMs: 30_000, log: (l) => lines.push(l) }));
    await expect(store.get('missing.bin')).rejects.toThrow(/object not found: missing.bin/);
    expect(lines).toEqual([]);
  });
});

import { OutageGuard } from '@atomizer/protocol';
import { connectRedis, startEmbeddedRedis, type EmbeddedRedis } from '@atomizer/protocol/redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseHeldError, LeaseLostError, RunLease, leaseKey } from './run-lease.js';

// One coordinator per run, against a real redis-server.

let server: EmbeddedRedis;
const clients: Redis[] = [];
const guard = () => new OutageGuard({ what: 'Redis', budgetMs: 5000, log: () => undefined });
function client(): Redis {
  const c = connectRedis(server.url);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startEmbeddedRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});

describe('RunLease', () => {
  it('refuses a second holder while the first renews, naming it; each holder gets a new fencing token', async () => {
    const first = await RunLease.acquire(client(), 'r1', { guard: guard(), ttlMs: 1500, holder: 'host-a:1' });
    expect(first.token).toBe(1);
    const t0 = Date.now();
    const err = await RunLease.acquire(client(), 'r1', { guard: guard(), ttlMs: 1500, holder: 'host-b:2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect((err as Error).message).toMatch(
      /^run r1 is being trained by coordinator host-a:1 \(token 1, since .*\), which keeps renewing its lease/,
    );
    // Refused as soon as a renewal is seen (every third of the TTL), not after a fixed wait.
    expect(Date.now() - t0).toBeLessThan(1500);
    await first.fence();
    await first.release();
    const second = await RunLease.acquire(client(), 'r1', { guard: guard(), ttlMs: 1500, holder: 'host-b:2' });
    expect(second.token).toBe(3);
    await second.release();
  });

  it("takes over once a dead holder's lease lapses", async () => {
    const redis = client();
    // A holder that died: its lease stays until its TTL ends, never renewed.
    await redis.set(
      leaseKey('r2'),
      JSON.stringify({ token: 7, holder: 'gone:9', since: new Date().toISOString(), nonce: 'x' }),
      'PX',
      1200,
    );
    const t0 = Date.now();
    const lease = await RunLease.acquire(client(), 'r2', { guard: guard(), ttlMs: 1500, holder: 'next:1', waitMs: 5000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(JSON.parse((await redis.get(leaseKey('r2')))!)).toMatchObject({ holder: 'next:1' });
    await lease.release();
    expect(await redis.get(leaseKey('r2'))).toBeNull();
  });

  it('a holder whose lease was taken over cannot commit: fence() throws', async () => {
    const redis = client();
    const lease = await RunLease.acquire(client(), 'r3', { guard: guard(), ttlMs: 60_000, holder: 'old:1' });
    await lease.fence();
    // Its lease lapsed (say Redis was unreachable past the TTL) and another coordinator took the run.
    await redis.set(leaseKey('r3'), JSON.stringify({ token: 99, holder: 'new:2', since: new Date().toISOString(), nonce: 'y' }));
    await expect(lease.fence()).rejects.toThrow(LeaseLostError);
    await expect(lease.fence()).rejects.toThrow(/run r3 was taken over by coordinator new:2 \(token 99/);
    await lease.release();
    // Release only drops a lease that is still ours.
    expect(JSON.parse((await redis.get(leaseKey('r3')))!)).toMatchObject({ holder: 'new:2' });
  });

  it('after Redis lost the key (restart without persistence), the holder takes it again', async () => {
    const redis = client();
    const lines: string[] = [];
    const lease = await RunLease.acquire(client(), 'r4', { guard: guard(), ttlMs: 60_000, holder: 'h:1', log: (l) => lines.push(l) });
    await redis.del(leaseKey('r4'));
    await lease.fence();
    expect(JSON.parse((await redis.get(leaseKey('r4')))!)).toMatchObject({ holder: 'h:1' });
    expect(lines.some((l) => l.includes('lease taken again'))).toBe(true);
    await lease.release();
  });
});

describe('RunLease after a newer holder came and went', () => {
  it('a holder whose lease lapsed does not take it back once a newer coordinator held it, even after that one released it', async () => {
    const redis = client();
    const old = await RunLease.acquire(client(), 'r5', { guard: guard(), ttlMs: 60_000, holder: 'old:1' });
    // Its lease lapsed during an outage; a newer coordinator took the run, then finished and released it.
    await redis.del(leaseKey('r5'));
    const newer = await RunLease.acquire(client(), 'r5', { guard: guard(), ttlMs: 60_000, holder: 'new:2' });
    await newer.release();
    expect(await redis.get(leaseKey('r5'))).toBeNull();
    await expect(old.fence()).rejects.toThrow(LeaseLostError);
    expect(await redis.get(leaseKey('r5'))).toBeNull();
    expect(() => old.assertHeld()).toThrow(/taken over/);
  });

  it('after an empty Redis restart the holder takes its lease back and restores the token counter', async () => {
    const redis = client();
    const lease = await RunLease.acquire(client(), 'r6', { guard: guard(), ttlMs: 60_000, holder: 'h:1' });
    // Simulate the restart: both keys gone.
    await redis.del(leaseKey('r6'), 'atomizer:run:r6:lease-token');
    await lease.fence();
    expect(Number(await redis.get('atomizer:run:r6:lease-token'))).toBe(lease.token);
    await lease.release();
  });
});

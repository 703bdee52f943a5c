import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { OutageGuard } from '@atomizer/protocol';
import type { Redis } from 'ioredis';

// One coordinator per run (docs/reliability.md "One coordinator per run"): a lease in Redis
// (SET NX PX) renewed every third of its time to live, holding a fencing token. A second
// coordinator of the same run watches the lease: as soon as it sees it renewed (its time
// to live goes up) the holder is alive and the newcomer is refused; a dead holder's lease
// lapses within one time to live and the newcomer takes over. Before every commit (checkpoint, status, metrics) the holder checks and renews the
// lease in one atomic step (fence()), so a coordinator that lost its lease (Redis was
// unreachable past its time to live and another took over) stops without writing.

export const LEASE_TTL_MS = 15_000;

export interface LeaseValue {
  token: number;
  holder: string;
  since: string;
  nonce: string;
}

export class LeaseHeldError extends Error {
  override name = 'LeaseHeldError';
}
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

export function leaseKey(run: string): string {
  return `atomizer:run:${run}:lease`;
}
function tokenKey(run: string): string {
  return `atomizer:run:${run}:lease-token`;
}

// 1: renewed; 2: the key was gone and is ours again: Redis restarted empty (the token
// counter is gone too, and is set back to our token so later holders get higher ones),
// or it lapsed during an outage with no newer holder since; 0: someone else holds it or
// held it since (a token higher than ours was handed out): the lease is lost for good.
const RENEW = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {1, ''} end
if v then return {0, v} end
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
if c > tonumber(ARGV[3]) then return {0, ''} end
if c < tonumber(ARGV[3]) then redis.call('SET', KEYS[2], ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {2, ''}`;

export interface LeaseOptions {
  ttlMs?: number;
  /** How long to wait for a held lease to lapse before refusing; default one TTL + 2 s. */
  waitMs?: number;
  holder?: string;
  guard: OutageGuard;
  log?: (line: string) => void;
}

function describeHolder(raw: string | null): string {
  if (raw === null || raw === '') return 'another coordinator';
  try {
    const v = JSON.parse(raw) as LeaseValue;
    return `coordinator ${v.holder} (token ${v.token}, since ${v.since})`;
  } catch {
    return 'another coordinator';
  }
}

export class RunLease {
  private timer: NodeJS.Timeout | undefined;
  private lostTo: string | undefined;
  private released = false;

  private constructor(
    private readonly redis: Redis,
    readonly run: string,
    readonly value: LeaseValue,
    private readonly raw: string,
    private readonly ttlMs: number,
    private readonly guard: OutageGuard,
    private readonly log: (line: string) => void,
  ) {}

  get token(): number {
    return this.value.token;
  }
  get holder(): string {
    return this.value.holder;
  }

  /** Take the run's lease, waiting up to one TTL for a dead holder's lease to lapse. */
  static async acquire(redis: Redis, run: string, opts: LeaseOptions): Promise<RunLease> {
    const ttlMs = opts.ttlMs ?? LEASE_TTL_MS;
    const waitMs = opts.waitMs ?? ttlMs + 2000;
    const log = opts.log ?? (() => undefined);
    const g = opts.guard;
    const token = await g.run(() => redis.incr(tokenKey(run)));
    const value: LeaseValue = {
      token,
      holder: opts.holder ?? `${hostname()}:${process.pid}`,
      since: new Date().toISOString(),
      nonce: randomBytes(6).toString('hex'),
    };
    const raw = JSON.stringify(value);
    const deadline = Date.now() + waitMs;
    let said = false;
    let lastTtl: { held: string | null; pttl: number } | undefined;
    for (;;) {
      const ok = await g.run(() => redis.set(leaseKey(run), raw, 'PX', ttlMs, 'NX'));
      if (ok === 'OK') break;
      const [held, pttl] = await g.run(() => Promise.all([redis.get(leaseKey(run)), redis.pttl(leaseKey(run))]));
      // Our own value: an earlier SET succeeded but its reply was lost in an outage.
      if (held === raw) break;
      // Renewed since the last look (same holder, more time left): the holder is alive.
      const renewed = lastTtl !== undefined && lastTtl.held === held && pttl > lastTtl.pttl + 100;
      lastTtl = { held, pttl };
      if (renewed || Date.now() >= deadline) {
        throw new LeaseHeldError(
          `run ${run} is being trained by ${describeHolder(held)}, which keeps renewing its lease: ` +
            `two coordinators would compute every slice twice and overwrite each other. Stop that one first (SIGTERM checkpoints and exits), ` +
            `or, if it is gone, start again: its lease lapses ${Math.ceil(ttlMs / 1000)} s after its last renewal`,
        );
      }
      if (!said) {
        said = true;
        log(
          `run ${run} is held by ${describeHolder(held)} (lease lapses in ${Math.max(0, Math.ceil(pttl / 1000))} s unless renewed); waiting to see whether it is alive`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const lease = new RunLease(redis, run, value, raw, ttlMs, g, log);
    lease.timer = setInterval(() => void lease.renew().catch(() => undefined), Math.max(250, Math.floor(ttlMs / 3)));
    lease.timer.unref();
    return lease;
  }

  private async renew(): Promise<void> {
    if (this.released || this.lostTo !== undefined) return;
    const [code, other] = (await this.redis.eval(
      RENEW,
      2,
      leaseKey(this.run),
      tokenKey(this.run),
      this.raw,
      String(this.ttlMs),
      String(this.token),
    )) as [number, string];
    if (code === 2) this.log(`run ${this.run}: lease taken again after it lapsed (Redis was unreachable or restarted empty)`);
    if (code === 0) {
      this.lostTo = describeHolder(other);
      this.log(`run ${this.run}: lease lost to ${this.lostTo}; this coordinator stops without writing`);
    }
  }

  /** Check (and renew) the lease before a commit; throws LeaseLostError if another coordinator holds the run. */
  async fence(): Promise<void> {
    this.assertHeld();
    await this.guard.run(() => this.renew());
    this.assertHeld();
  }

  /** Without a Redis round trip: throws LeaseLostError once the renewals saw the lease taken (before publishing, deleting or enqueueing). */
  assertHeld(): void {
    if (this.released) throw new LeaseLostError(`run ${this.run}: this coordinator released its lease`);
    if (this.lostTo !== undefined) {
      throw new LeaseLostError(
        `run ${this.run} was taken over by ${this.lostTo} while this coordinator could not renew its lease; it stops without writing`,
      );
    }
  }

  /** False once the lease is known lost (no Redis round trip). */
  get held(): boolean {
    return !this.released && this.lostTo === undefined;
  }

  /** Give the lease up (only if still ours), so a successor need not wait; never waits on a dead Redis for more than 2 s. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    const drop = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.redis.eval(drop, 1, leaseKey(this.run), this.raw).catch(() => undefined),
      new Promise((r) => (timer = setTimeout(r, 2000))),
    ]);
    clearTimeout(timer);
  }
}

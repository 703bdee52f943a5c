import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { killWithParent } from './child-guard.js';

// Redis connection options shared by the coordinator, workers and dashboard
// (docs/design.md "The shared contract"): one URL form, TLS and authentication from
// the URL or the environment, and BullMQ's requirement for blocking clients.
//
//   redis://[user:password@]host:port[/db]     plain
//   rediss://[user:password@]host:port[/db]    TLS (REDIS_TLS_CA: a CA file, REDIS_TLS_INSECURE=1 to skip checks)
//
// A password may also come from REDIS_PASSWORD (so it never appears in a command
// line, a job or a log); redactRedisUrl() is what may be printed.

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Longest a non-blocking Redis command may take before it fails (as an outage, outage.ts), ms. */
export const REDIS_COMMAND_TIMEOUT_MS = 15_000;

/** Environment variables read for Redis, in one place (the infra drift test reads this list). */
export const REDIS_ENV = {
  url: 'REDIS_URL',
  password: 'REDIS_PASSWORD',
  username: 'REDIS_USERNAME',
  tlsCa: 'REDIS_TLS_CA',
  tlsInsecure: 'REDIS_TLS_INSECURE',
} as const;

export interface RedisConnectOptions {
  /**
   * 'worker' for clients BullMQ uses for blocking commands (Worker, QueueEvents):
   * maxRetriesPerRequest must be null. 'client' (default) fails a command after
   * a few retries instead of hanging when Redis is gone.
   */
  role?: 'worker' | 'client';
  /** Environment to read REDIS_* from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * 'redis://user:***@host:6379/0': a URL safe to print. A URL that does not parse as one
 * with credentials but has an '@' (a password with a character URLs reserve, a missing
 * scheme) loses everything between '://' (or the start) and the last '@'.
 */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username !== '' || u.password !== '' || !url.includes('@')) {
      if (u.password !== '') u.password = '***';
      return u.toString();
    }
  } catch {
    // not a URL: redacted as text below
  }
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = url.indexOf('://');
  const from = scheme >= 0 && scheme < at ? scheme + 3 : 0;
  return `${url.slice(0, from)}***${url.slice(at)}`;
}

/** ioredis options for a redis:// or rediss:// URL. Throws a clear error on anything else. */
export function redisOptions(url: string, opts: RedisConnectOptions = {}): RedisOptions {
  const env = opts.env ?? process.env;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(
      `invalid Redis URL ${JSON.stringify(redactRedisUrl(url))}: expected redis://[user:password@]host:port or rediss://... (TLS); percent-encode reserved characters in the password, or give it in ${REDIS_ENV.password}`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error(`invalid Redis URL ${redactRedisUrl(url)}: scheme must be redis:// or rediss://, got ${u.protocol}//`);
  }
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbPart = u.pathname.replace(/^\//, '');
  const db = dbPart === '' ? 0 : Number(dbPart);
  if (!Number.isInteger(db) || db < 0)
    throw new Error(`invalid Redis URL ${redactRedisUrl(url)}: database must be a number, got '${dbPart}'`);
  const password = u.password !== '' ? decodeURIComponent(u.password) : env[REDIS_ENV.password];
  const username = u.username !== '' ? decodeURIComponent(u.username) : env[REDIS_ENV.username];
  const out: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(password !== undefined && password !== '' ? { password } : {}),
    ...(username !== undefined && username !== '' ? { username } : {}),
    maxRetriesPerRequest: opts.role === 'worker' ? null : 3,
    // Reconnect forever with a capped backoff: a worker survives a Redis restart.
    retryStrategy: (times: number) => Math.min(200 * times, 5000),
    enableReadyCheck: true,
    // A paused or black-holed server (SIGSTOP, a frozen VM, dropped packets) never refuses a
    // connection: without a time limit a command would wait forever and no outage budget
    // would ever run out. Blocking clients ('worker': BullMQ's long polls) cannot have one.
    ...(opts.role === 'worker' ? {} : { commandTimeout: REDIS_COMMAND_TIMEOUT_MS }),
    keepAlive: 10_000,
  };
  if (u.protocol === 'rediss:') {
    const ca = env[REDIS_ENV.tlsCa];
    out.tls = {
      servername: out.host,
      ...(env[REDIS_ENV.tlsInsecure] === '1' ? { rejectUnauthorized: false } : {}),
      ...(ca !== undefined && ca !== '' ? { ca: [readFileSyncText(ca)] } : {}),
    };
  }
  return out;
}

function readFileSyncText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${REDIS_ENV.tlsCa}=${path}: cannot read the CA file (${(err as Error).message})`);
  }
}

/** A connected ioredis client (lazy connect is off: errors surface on first use). */
export function connectRedis(url: string, opts: RedisConnectOptions = {}): Redis {
  return new Redis(redisOptions(url, opts));
}

/** Redis refused the credentials (or wants some): the server answers, the password is wrong. */
export class RedisAuthError extends Error {
  override name = 'RedisAuthError';
}

/** An error of Redis' authentication: WRONGPASS, NOAUTH, a bad username-password pair, AUTH without a configured password. */
export function isRedisAuthError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /\b(WRONGPASS|NOAUTH)\b|invalid username-password pair|invalid password|AUTH\b.*without any password configured/i.test(msg);
}

/**
 * Check that Redis answers PING within `timeoutMs`, before anything heavy
 * starts; the error says which URL and what to do: a RedisAuthError when it
 * answers but refuses the credentials, else that it does not answer.
 */
export async function checkRedis(url: string, timeoutMs = 3000, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const client = new Redis({
    ...redisOptions(url, { env }),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  // The reply that failed authentication arrives here; connect() only says the connection closed.
  let authError: Error | undefined;
  client.on('error', (e: Error) => {
    if (isRedisAuthError(e)) authError ??= e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } catch (err) {
    const auth = authError ?? (isRedisAuthError(err) ? (err as Error) : undefined);
    if (auth !== undefined) {
      throw new RedisAuthError(
        `Redis at ${redactRedisUrl(url)} refused authentication (${auth.message.trim()}): ` +
          `check the password (and user) in the URL (redis://[user]:<password>@host:port) or ${REDIS_ENV.password} (${REDIS_ENV.username}).`,
      );
    }
    throw new Error(
      `Redis at ${redactRedisUrl(url)} does not answer (${(err as Error).message}). ` +
        'Start one (redis-server, or docker run -p 6379:6379 redis:7), or point --redis / REDIS_URL at a running server.',
    );
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Where redis-server is, or undefined (PATH, then /usr/bin, /usr/sbin). */
export function findRedisServer(): string | undefined {
  for (const candidate of ['redis-server', '/usr/bin/redis-server', '/usr/sbin/redis-server', '/usr/local/bin/redis-server']) {
    const r = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

export const REDIS_INSTALL_HINT =
  'install it with: sudo apt-get install -y redis-server (Debian/Ubuntu), or set REDIS_URL to a running Redis';

/**
 * A `redis-server` child on a free port, nothing kept on disk (tests and the
 * one-machine demo). BullMQ needs maxmemory-policy noeviction, which is the default.
 * `args` go to redis-server after ours (e.g. ['--requirepass', secret]).
 */
export async function startEmbeddedRedis(
  opts: { binary?: string; port?: number; persistDir?: string; args?: readonly string[] } = {},
): Promise<EmbeddedRedis> {
  const binary = opts.binary ?? findRedisServer();
  if (binary === undefined) throw new Error(`redis-server was not found; ${REDIS_INSTALL_HINT}`);
  const port = opts.port ?? (await freePort());
  // persistDir: an append-only file synced on every write, kept there across restarts (the
  // chaos suite's "Redis restarted with persistence"); otherwise nothing is kept.
  const persist = opts.persistDir;
  const dir = persist ?? (await mkdtemp(join(tmpdir(), 'atomizer-redis-')));
  const durability = persist !== undefined ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      ...durability,
      '--dir',
      dir,
      '--maxmemory-policy',
      'noeviction',
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Stopped with us, even when we are SIGKILLed (a test run or demo killed outright left it running).
  if (child.pid !== undefined) killWithParent(child, persist !== undefined ? {} : { removeDir: dir });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code} at start:\n${output}`))),
  );
  exited.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await Promise.race([checkRedis(url, 500), exited]);
      break;
    } catch (err) {
      if (err instanceof RedisAuthError) break; // it answers, and wants a password (args: --requirepass)
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    process: child,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }
      }).then(() => (persist !== undefined ? undefined : rm(dir, { recursive: true, force: true })))),
  };
}

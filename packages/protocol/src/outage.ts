// Outages of Redis or the object store are weather, not failures (docs/reliability.md):
// an operation that fails for a connection-level reason is retried with capped
// exponential backoff until it succeeds or the outage has lasted longer than the budget.
// One guard per dependency, shared by every operation on it, so a process prints one
// line per state change (lost, still down after N s, back), not one per failed call.

export const OUTAGE_BUDGET_ENV = 'ATOMIZER_OUTAGE_BUDGET';
/** How long a process rides out an outage by default, seconds. */
export const DEFAULT_OUTAGE_BUDGET_S = 300;

/** The outage budget from ATOMIZER_OUTAGE_BUDGET (seconds), else the default; ms. */
export function outageBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[OUTAGE_BUDGET_ENV];
  if (raw === undefined || raw === '') return DEFAULT_OUTAGE_BUDGET_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) {
    throw new Error(`${OUTAGE_BUDGET_ENV}=${raw}: expected a positive number of seconds (default ${DEFAULT_OUTAGE_BUDGET_S})`);
  }
  return Math.round(s * 1000);
}

/** An outage that lasted longer than the budget: the process should stop with this reason. */
export class OutageError extends Error {
  constructor(
    readonly what: string,
    readonly downMs: number,
    readonly budgetMs: number,
    cause: unknown,
  ) {
    super(
      `${what} unreachable for ${Math.round(downMs / 1000)} s, past the outage budget of ${Math.round(budgetMs / 1000)} s (last error: ${messageOf(cause)})`,
      { cause },
    );
    this.name = 'OutageError';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'NetworkingError',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
]);
const TRANSIENT_MESSAGE =
  /Connection is closed|max retries per request|socket hang up|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|connect ETIMEDOUT|LOADING Redis is loading|READONLY You can't write against a read only replica|Command timed out/i;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * True for errors that say the other side is (for now) unreachable or overloaded:
 * refused/reset/timed-out connections, ioredis giving up on a command while it
 * reconnects, Redis loading its data after a restart, S3 5xx and throttling. Not for
 * answers about the request itself (missing key, access denied, bad input). The
 * `cause` chain is followed, so wrapped errors classify as their cause.
 */
export function isTransientError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (typeof e !== 'object') return TRANSIENT_MESSAGE.test(String(e));
    const o = e as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      $metadata?: { httpStatusCode?: number };
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof o.code === 'string' && TRANSIENT_CODES.has(o.code)) return true;
    if (typeof o.name === 'string' && TRANSIENT_NAMES.has(o.name)) return true;
    const status = o.$metadata?.httpStatusCode;
    if (status !== undefined && (status >= 500 || status === 429)) return true;
    if (typeof o.message === 'string' && TRANSIENT_MESSAGE.test(o.message)) return true;
    // AggregateError (Node's happy-eyeballs connect tries every address).
    if (Array.isArray(o.errors) && o.errors.some((x) => isTransientError(x))) return true;
    e = o.cause;
  }
  return false;
}

export interface OutageGuardOptions {
  /** What is guarded, for the log lines and errors: "Redis at redis://host:6379", "the store s3://...". */
  what: string;
  budgetMs?: number;
  log?: (line: string) => void;
  /** First retry delay, ms (doubled each try, capped at maxDelayMs). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How often "still down" is logged, ms. */
  reportEveryMs?: number;
  /** Clock and sleep, for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Rides out outages of one dependency: see the file comment. */
export class OutageGuard {
  readonly what: string;
  readonly budgetMs: number;
  private readonly log: (line: string) => void;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly reportEveryMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private downSince: number | undefined;
  private lastReport = 0;
  private outages = 0;

  constructor(opts: OutageGuardOptions) {
    this.what = opts.what;
    this.budgetMs = opts.budgetMs ?? outageBudgetMs();
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.baseDelayMs = opts.baseDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 5000;
    this.reportEveryMs = opts.reportEveryMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Milliseconds the dependency has been down, 0 when it is up. */
  downForMs(): number {
    return this.downSince === undefined ? 0 : this.now() - this.downSince;
  }

  /** Outages seen so far (for telemetry and tests). */
  get outagesSeen(): number {
    return this.outages;
  }

  /**
   * Run `op`, retrying it while it fails transiently, until the outage (counted from
   * the first failure any operation on this dependency saw) exceeds the budget: then
   * an OutageError. Other errors are thrown as they are. `op` must be safe to repeat.
   */
  async run<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      // A call that hangs until it times out (a paused server) was down from its start.
      const started = this.now();
      try {
        const value = await op();
        this.markUp();
        return value;
      } catch (err) {
        if (!isTransientError(err)) throw err;
        this.markDown(err, started);
        const downMs = this.downForMs();
        if (downMs >= this.budgetMs) throw new OutageError(this.what, downMs, this.budgetMs, err);
        await this.sleep(Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(attempt, 20), this.budgetMs - downMs));
      }
    }
  }

  /** Record a connection-level failure seen outside `run` (an error event of a long-lived client); `since`: when the failed call started. */
  markDown(err: unknown, since?: number): void {
    const now = this.now();
    if (this.downSince === undefined) {
      this.downSince = Math.min(since ?? now, now);
      this.lastReport = now;
      this.outages++;
      this.log(`${this.what}: connection lost (${messageOf(err)}); retrying for up to ${Math.round(this.budgetMs / 1000)} s`);
    } else if (now - this.lastReport >= this.reportEveryMs) {
      this.lastReport = now;
      this.log(`${this.what}: still down after ${Math.round((now - this.downSince) / 1000)} s (${messageOf(err)})`);
    }
  }

  /** Record that the dependency answers again. */
  markUp(): void {
    if (this.downSince === undefined) return;
    const downMs = this.now() - this.downSince;
    this.downSince = undefined;
    this.log(`${this.what}: back after ${(downMs / 1000).toFixed(1)} s`);
  }
}

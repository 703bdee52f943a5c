import { WORKER_KEY_PREFIX, WORKER_TTL_SECONDS, WorkerStatusSchema, type WorkerStatus } from '@atomizer/protocol';
import type { Redis } from 'ioredis';

// What the dashboard reads from Redis: worker heartbeats (WORKER_KEY_PREFIX + id,
// JSON WorkerStatus with a TTL) and the BullMQ queues of a run (found by their
// `<bullPrefix>:<queue>:meta` keys, so queues created after the dashboard started appear).

/** BullMQ's default key prefix (the coordinator and workers keep it). */
export const BULL_PREFIX = 'bull';

/** All keys matching `pattern`, by SCAN (never KEYS: it blocks a busy Redis). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    for (const k of keys) out.add(k);
  } while (cursor !== '0');
  return [...out].sort();
}

/** Escape the glob characters of a SCAN pattern. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Names of the BullMQ queues whose name starts with `<queuePrefix>-` (the run's
 * `<prefix>-train-<i>`, `<prefix>-eval`, `<prefix>-rounds`), sorted: train queues
 * in numeric order, then the others.
 */
export async function discoverQueues(redis: Redis, queuePrefix: string, bullPrefix = BULL_PREFIX): Promise<string[]> {
  const head = `${bullPrefix}:`;
  const keys = await scanKeys(redis, `${globEscape(head)}${globEscape(queuePrefix)}-*:meta`);
  const names = keys.map((k) => k.slice(head.length, -':meta'.length)).filter((n) => n !== '' && !n.includes(':'));
  const trainIndex = (n: string): number => {
    const m = new RegExp(`^${queuePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-train-(\\d+)$`).exec(n);
    return m?.[1] !== undefined ? Number(m[1]) : Number.POSITIVE_INFINITY;
  };
  return names.sort((a, b) => trainIndex(a) - trainIndex(b) || a.localeCompare(b));
}

export interface WorkerView extends WorkerStatus {
  /** Seconds since the worker's last heartbeat (its `updated`), at the time of reading. */
  ageSeconds: number;
  /** Whether the heartbeat key still exists (false: expired after WORKER_TTL_SECONDS, kept in view for a while). */
  alive: boolean;
  /** Seconds the heartbeat key has left (Redis TTL), when alive. */
  ttlSeconds?: number;
}

/** The live worker heartbeats, sorted by id; a malformed one is reported in `errors`, not thrown. */
export async function readWorkers(redis: Redis, now = Date.now()): Promise<{ workers: WorkerView[]; errors: string[] }> {
  const keys = await scanKeys(redis, `${globEscape(WORKER_KEY_PREFIX)}*`);
  if (keys.length === 0) return { workers: [], errors: [] };
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.get(k).pttl(k);
  const replies = (await pipeline.exec()) ?? [];
  const workers: WorkerView[] = [];
  const errors: string[] = [];
  keys.forEach((key, i) => {
    const [getErr, raw] = replies[2 * i] ?? [null, null];
    const [, pttl] = replies[2 * i + 1] ?? [null, -2];
    if (getErr !== null || typeof raw !== 'string') return; // expired between SCAN and GET
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      errors.push(`worker heartbeat ${key}: not JSON`);
      return;
    }
    const r = WorkerStatusSchema.safeParse(obj);
    if (!r.success) {
      errors.push(`worker heartbeat ${key}: ${r.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`).join('; ')}`);
      return;
    }
    const updated = Date.parse(r.data.updated);
    const ttl = typeof pttl === 'number' && pttl >= 0 ? Math.round(pttl / 1000) : undefined;
    workers.push({
      ...r.data,
      ageSeconds: Number.isFinite(updated) ? Math.max(0, (now - updated) / 1000) : WORKER_TTL_SECONDS,
      alive: true,
      ...(ttl !== undefined ? { ttlSeconds: ttl } : {}),
    });
  });
  workers.sort((a, b) => a.id.localeCompare(b.id));
  return { workers, errors };
}

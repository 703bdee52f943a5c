// How a coordinator's long-lived Redis clients (BullMQ queues, queue events,
// workers, plain ioredis) live through outages: one OutageGuard for them all,
// and one 'error' listener that tells the guard of connection trouble (one
// guard line per outage, not a stack dump per retry) and logs anything else.

import { OutageGuard, isTransientError } from '@atomizer/protocol';
import { redactRedisUrl } from '@atomizer/protocol/redis';

export function redisOutage(
  redisUrl: string,
  log: (line: string) => void,
  budgetMs?: number,
): { guard: OutageGuard; onError: (err: Error) => void } {
  const guard = new OutageGuard({ what: `Redis at ${redactRedisUrl(redisUrl)}`, log, ...(budgetMs !== undefined ? { budgetMs } : {}) });
  const onError = (err: Error): void => {
    if (isTransientError(err)) guard.markDown(err);
    else log(`Redis: ${err.message}`);
  };
  return { guard, onError };
}

import { describe, expect, it } from 'vitest';
import { OutageError, OutageGuard, isTransientError, outageBudgetMs } from './outage.js';

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
}

/** A guard on a fake clock: sleeping advances it. */
function fakeGuard(budgetMs: number) {
  let t = 0;
  const lines: string[] = [];
  const sleeps: number[] = [];
  const guard = new OutageGuard({
    what: 'Redis at redis://x',
    budgetMs,
    log: (l) => lines.push(l),
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    reportEveryMs: 10_000,
  });
  return { guard, lines, sleeps, advance: (ms: number) => (t += ms) };
}

describe('isTransientError', () => {
  it('says yes to connection-level failures, following causes', () => {
    expect(isTransientError(refused())).toBe(true);
    expect(
      isTransientError(
        new Error('Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.'),
      ),
    ).toBe(true);
    expect(isTransientError(new Error('Connection is closed.'))).toBe(true);
    expect(isTransientError({ name: 'InternalError', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isTransientError({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isTransientError(new Error('put a in s3://b failed', { cause: refused() }))).toBe(true);
    expect(isTransientError(new AggregateError([refused()], ''))).toBe(true);
  });
  it('says no to answers about the request', () => {
    expect(isTransientError(new Error('object not found: a in s3://b'))).toBe(false);
    expect(isTransientError({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })).toBe(false);
    expect(isTransientError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toBe(false);
    expect(isTransientError(new Error('WRONGPASS invalid username-password pair'))).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });
});

describe('OutageGuard', () => {
  it('retries through an outage with capped exponential backoff and logs lost / still down / back once each', async () => {
    const { guard, lines, sleeps } = fakeGuard(60_000);
    let calls = 0;
    const v = await guard.run(async () => {
      calls++;
      if (calls < 12) throw refused();
      return 'ok';
    });
    expect(v).toBe('ok');
    expect(calls).toBe(12);
    expect(sleeps.slice(0, 6)).toEqual([250, 500, 1000, 2000, 4000, 5000]);
    expect(Math.max(...sleeps)).toBe(5000);
    expect(lines[0]).toMatch(/^Redis at redis:\/\/x: connection lost \(connect ECONNREFUSED .*\); retrying for up to 60 s$/);
    expect(lines.filter((l) => /still down after \d+ s/.test(l)).length).toBeGreaterThanOrEqual(3);
    expect(lines.at(-1)).toMatch(/back after \d+\.\d s$/);
    expect(guard.downForMs()).toBe(0);
    expect(guard.outagesSeen).toBe(1);
  });

  it('gives up past the budget with an OutageError naming what, how long and the last error', async () => {
    const { guard } = fakeGuard(3000);
    const err = await guard.run(() => Promise.reject(refused())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutageError);
    expect((err as Error).message).toMatch(
      /^Redis at redis:\/\/x unreachable for 3 s, past the outage budget of 3 s \(last error: connect ECONNREFUSED/,
    );
    // Still down: the next operation gets one try, not a new budget.
    let tries = 0;
    await expect(guard.run(() => (tries++, Promise.reject(refused()))).catch((e: unknown) => e)).resolves.toBeInstanceOf(OutageError);
    expect(tries).toBe(1);
  });

  it('throws other errors at once, without retrying', async () => {
    const { guard, lines } = fakeGuard(60_000);
    let tries = 0;
    await expect(guard.run(() => (tries++, Promise.reject(new Error('object not found: k'))))).rejects.toThrow('object not found');
    expect(tries).toBe(1);
    expect(lines).toEqual([]);
  });

  it('shares one outage between concurrent operations: one "lost" line', async () => {
    const { guard, lines } = fakeGuard(60_000);
    let calls = 0;
    const op = () => (++calls > 6 ? Promise.resolve(1) : Promise.reject(refused()));
    await Promise.all([guard.run(op), guard.run(op), guard.run(op)]);
    expect(lines.filter((l) => l.includes('connection lost'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('back after'))).toHaveLength(1);
  });
});

describe('outageBudgetMs', () => {
  it('reads seconds from ATOMIZER_OUTAGE_BUDGET, defaults to 5 minutes, refuses nonsense', () => {
    expect(outageBudgetMs({})).toBe(300_000);
    expect(outageBudgetMs({ ATOMIZER_OUTAGE_BUDGET: '2.5' })).toBe(2500);
    expect(() => outageBudgetMs({ ATOMIZER_OUTAGE_BUDGET: 'soon' })).toThrow(
      /ATOMIZER_OUTAGE_BUDGET=soon: expected a positive number of seconds/,
    );
    expect(() => outageBudgetMs({ ATOMIZER_OUTAGE_BUDGET: '0' })).toThrow(/positive/);
  });
});

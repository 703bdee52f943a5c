import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from './concurrency-limit.js';

describe('ConcurrencyLimit', () => {
  it('never runs more than the limit at once, runs every call in order and passes results and errors through', async () => {
    const limit = new ConcurrencyLimit(2);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const tick = () => new Promise<void>((r) => setTimeout(r, 2));
    const calls = Array.from({ length: 7 }, (_, i) =>
      limit.run(async () => {
        started.push(i);
        active++;
        peak = Math.max(peak, active);
        await tick();
        active--;
        if (i === 3) throw new Error('three');
        return i * 10;
      }),
    );
    const settled = await Promise.allSettled(calls);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([0, 10, 20, 'three', 40, 50, 60]);
  });

  it('refuses a limit below one', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(/positive integer, got 0/);
  });
});

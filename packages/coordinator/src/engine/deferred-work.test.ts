import { describe, expect, it } from 'vitest';
import { DeferredWork } from './deferred-work.js';

describe('DeferredWork', () => {
  it('runs nothing until started, then everything in order; settle waits and raises the first error', async () => {
    const d = new DeferredWork();
    const done: number[] = [];
    const step =
      (i: number, fail = false) =>
      async () => {
        await new Promise((r) => setTimeout(r, 3 - i));
        if (fail) throw new Error(`step ${i}`);
        done.push(i);
      };
    d.push(step(0));
    d.push(step(1, true));
    d.push(step(2));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toEqual([]);
    d.start();
    await expect(d.settle()).rejects.toThrow(/step 1/);
    expect(done).toEqual([0, 2]);
    expect(() => d.check()).toThrow(/step 1/);
  });
});

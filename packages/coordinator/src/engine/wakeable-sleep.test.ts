import { describe, expect, it } from 'vitest';
import { WakeableSleep } from './wakeable-sleep.js';

describe('WakeableSleep', () => {
  it('a sleep ends at wake() long before its time, and on its own without one', async () => {
    const w = new WakeableSleep();
    const t0 = performance.now();
    const long = w.sleep(10_000);
    setTimeout(() => w.wake(), 20);
    await long;
    expect(performance.now() - t0).toBeLessThan(5_000);
    const t1 = performance.now();
    await w.sleep(30);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(25);
  });
});

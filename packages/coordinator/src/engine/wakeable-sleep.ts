// A poll interval that ends early when woken: the coordinator's waits on
// BullMQ (a round's slices, evaluation jobs, a prediction's jobs) poll Redis
// every few hundred ms, and queue events ('completed', 'failed') cut the wait
// short so a finished job is seen at once.

export class WakeableSleep {
  private wakers: Array<() => void> = [];

  /** End every sleep in progress now. */
  wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  /** Resolves after `ms`, or at the next wake(). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

// Bookkeeping a round does not wait for (deleting spent objects, the throttled
// metrics/status write): queued during a round, started once the next round's workers
// are computing so it never holds up their downloads or the weights publish, run one
// after the other. `settle` waits for all of it (before every checkpoint, evaluation and
// the end); the first error is raised by `settle`, or by `check` at the next round.

export class DeferredWork {
  private queued: Array<() => Promise<void>> = [];
  private chain: Promise<void> = Promise.resolve();
  private error: Error | undefined;

  push(work: () => Promise<void>): void {
    this.queued.push(work);
  }

  /** Start what is queued (in order, after what already runs). */
  start(): void {
    for (const work of this.queued) {
      this.chain = this.chain.then(work).catch((err: unknown) => {
        this.error ??= err as Error;
      });
    }
    this.queued = [];
  }

  /** Throws the first error of deferred work so far. */
  check(): void {
    if (this.error !== undefined) throw this.error;
  }

  async settle(): Promise<void> {
    this.start();
    await this.chain;
    this.check();
  }
}

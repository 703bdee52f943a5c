import { MetricEventSchema, type MetricEvent } from '@atomizer/protocol';
import type { RunStore } from '../run-store.js';

// The run's metrics.jsonl as the trainer keeps it: every event in memory, checked
// against the schema when logged, written whole on flush.

export class MetricsLog {
  events: MetricEvent[] = [];

  constructor(private readonly runStore: RunStore) {}

  /** The events already logged, without the rounds a crashed session logged after `keepUpToRound` (the checkpoint resumed from). */
  async load(keepUpToRound: number): Promise<void> {
    const events = await this.runStore.metrics();
    if (events === undefined) return;
    this.events = events.filter((e) => !('round' in e) || (e as { round: number }).round <= keepUpToRound || e.type === 'run-start');
  }

  add(e: MetricEvent): void {
    this.events.push(MetricEventSchema.parse(e));
  }

  flush(): Promise<void> {
    return this.runStore.writeMetrics(this.events);
  }
}

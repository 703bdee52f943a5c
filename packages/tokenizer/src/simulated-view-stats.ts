import { BandStatsAccumulator } from './band-stats.js';
import { applyModality } from './modality.js';
import type { ModalityLists } from './modality-lists.js';
import type { BandStats, Sample } from './types.js';

// Normalisation statistics for the bands of simulated sensors (a modality with
// `simulate`, sensor-simulation.ts). No train-split statistics exist for a
// sensor that training never saw, so, as one would for a real scene of a new
// sensor, its bands are standardised with the scene's own statistics: every
// sample of the dataset (all splits, labels never read) presented in that
// view. Bands of one simulated sensor in several views pool into one key.

export class SimulatedViewStats {
  private readonly acc = new BandStatsAccumulator();
  private readonly views;
  private samples = 0;

  constructor(lists: ModalityLists | undefined) {
    this.views = lists === undefined ? [] : [...lists.train, ...lists.val, ...lists.test].filter((m) => m.simulate !== undefined);
  }

  add(sample: Sample): void {
    if (this.views.length === 0) return;
    for (const m of this.views) this.acc.add(applyModality(sample, m, { mode: 'eval' }));
    this.samples++;
  }

  /** Statistics of the simulated bands, except keys `have` already holds (a real sensor's train-split statistics win). */
  result(have: ReadonlySet<string>): BandStats[] {
    return this.acc.result().filter((s) => !have.has(s.key));
  }

  /** One clause for the manifest's normalisation line. */
  describe(stats: readonly BandStats[]): string {
    const sensors = [...new Set(stats.map((s) => s.key.slice(0, s.key.indexOf(':'))))];
    return `simulated sensors' bands (${sensors.join(', ')}): the scene's own statistics, over all ${this.samples} samples in that view, labels unread`;
  }
}

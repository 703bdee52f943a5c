// Which statistics normalise each band of imagery a run is applied to (eval,
// predict): the run's own manifest statistics; else those of the same band of
// another sensor of its family; else the imagery's own, accumulated over every
// sample it is given. Samples can be added one at a time (predict streams a
// scene by windows), so memory does not grow with the imagery.

import { BandStatsAccumulator, SensorCatalog, bandStatsFor, bandStatsKey, type BandStats, type Sample } from '@atomizer/tokenizer';
import type { RunContext } from '@atomizer/worker';

export interface BandNormalisation {
  band: string;
  /** run: the run's manifest statistics; family: the same band of another sensor of its family in the manifest; dataset: this dataset's own. */
  source: 'run' | 'family' | 'dataset';
  /** Key(s) of the statistics used. */
  stats: string;
  mean: number;
  std: number;
}

/** Samples in, statistics per band out (see the file comment). */
export class NormalisationBuilder {
  private readonly catalog = SensorCatalog.default();
  private readonly stats: Map<string, BandStats>;
  private readonly table: BandNormalisation[] = [];
  private readonly own = new BandStatsAccumulator();
  private readonly needOwn = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(private readonly ctx: RunContext) {
    this.stats = new Map(ctx.stats);
  }

  /** True once a band was seen that needs the imagery's own statistics (then every sample should be added). */
  get needsImageryStats(): boolean {
    return this.needOwn.size > 0;
  }

  add(sample: Sample): void {
    for (const b of sample.bands) {
      const key = bandStatsKey(b);
      if (!this.seen.has(key)) {
        this.seen.add(key);
        const st = this.ctx.stats.get(key);
        if (st !== undefined) {
          this.table.push({ band: key, source: 'run', stats: st.key, mean: st.mean, std: st.std });
        } else {
          try {
            const fam = bandStatsFor(this.ctx.stats, b, this.catalog);
            this.table.push({ band: key, source: 'family', stats: fam.key, mean: fam.mean, std: fam.std });
            this.stats.set(key, { ...fam, key });
          } catch {
            this.needOwn.add(key);
          }
        }
      }
      if (this.needOwn.has(key)) this.own.addBand(b);
    }
  }

  result(): { stats: Map<string, BandStats>; table: BandNormalisation[] } {
    const stats = new Map(this.stats);
    const table = [...this.table];
    for (const st of this.own.result()) {
      if (!this.needOwn.has(st.key)) continue;
      stats.set(st.key, st);
      table.push({ band: st.key, source: 'dataset', stats: `${st.key} (this dataset, ${st.count} values)`, mean: st.mean, std: st.std });
    }
    table.sort((a, b) => (a.band < b.band ? -1 : a.band > b.band ? 1 : 0));
    return { stats, table };
  }
}

/** Which statistics normalise each band of the samples: the run's, the family's, else the dataset's own. */
export function normalisationFor(samples: readonly Sample[], ctx: RunContext): { stats: Map<string, BandStats>; table: BandNormalisation[] } {
  const b = new NormalisationBuilder(ctx);
  for (const s of samples) b.add(s);
  return b.result();
}

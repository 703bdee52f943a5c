// Which statistics normalise each band of imagery a run is applied to (eval,
// predict), by the user's choice (--stats):
//   auto (default): the run's own manifest statistics; else those of the same
//     band of another sensor of its family; else the imagery's own. A band
//     whose values are clearly not in the units of the run's statistics
//     (units-check.ts: DN against reflectance) uses the imagery's own, with a
//     note saying why and how to force the run's;
//   run: as auto without the units check;
//   dataset: the imagery's own statistics for every band (a per-scene
//     standardisation: transfers across calibrations and units, but a scene
//     of another land cover is centred on itself).
// The imagery's own statistics are accumulated over every sample it is given.
// Samples can be added one at a time (predict streams a scene by windows), so
// memory does not grow with the imagery.

import { Option } from 'commander';
import { BandStatsAccumulator, SensorCatalog, bandStatsFor, bandStatsKey, type BandStats, type Sample } from '@atomizer/tokenizer';
import type { RunContext } from '@atomizer/worker';
import { unitsMismatch } from './units-check.js';

export const STATS_CHOICES = ['auto', 'run', 'dataset'] as const;
export type StatsChoice = (typeof STATS_CHOICES)[number];

/** The --stats option of eval and predict (an unknown value: commander's one-line error listing the choices). */
export function statsOption(): Option {
  return new Option(
    '--stats <source>',
    "statistics that normalise the bands: auto (the run's, a band in other units this imagery's own), run (always the run's where it has them), dataset (this imagery's own for every band)",
  )
    .choices([...STATS_CHOICES])
    .default('auto');
}

export interface BandNormalisation {
  band: string;
  /** run: the run's manifest statistics; family: the same band of another sensor of its family in the manifest; dataset: this dataset's own. */
  source: 'run' | 'family' | 'dataset';
  /** Key(s) of the statistics used. */
  stats: string;
  mean: number;
  std: number;
}

/**
 * The statistics choice for a run: its dataset.normalisation 'image' normalises
 * each sample by itself, so only 'auto' (the default) applies to it; an
 * explicit run/dataset choice is refused in one line naming the run.
 */
export function checkStatsChoice(ctx: RunContext, choice: StatsChoice): void {
  if (ctx.config.dataset.normalisation === 'image' && choice !== 'auto') {
    throw new Error(
      `--stats ${choice}: run ${ctx.config.run} normalises each sample with its own statistics (dataset.normalisation 'image'), as eval does too; --stats applies to runs normalised with statistics ('train-split'): leave it out`,
    );
  }
}

/** The run's statistics for a band: its own key's, or (family) those of the same band of sensors of its family, keyed by them. */
interface RunStats {
  st: BandStats;
  source: 'run' | 'family';
}

/** Samples in, statistics per band out (see the file comment). */
export class NormalisationBuilder {
  private readonly catalog = SensorCatalog.default();
  /** Band key -> the run's (or family's) statistics and their source, or undefined: the imagery's own. */
  private readonly fromRun = new Map<string, RunStats | undefined>();
  private readonly own = new BandStatsAccumulator();

  constructor(
    private readonly ctx: RunContext,
    private readonly choice: StatsChoice = 'auto',
  ) {}

  /** True when the imagery's own statistics are needed (then every sample should be added): a band without the run's, a band whose units differ (auto), or --stats dataset. */
  get needsImageryStats(): boolean {
    if (this.choice === 'dataset') return true;
    if ([...this.fromRun.values()].some((r) => r === undefined)) return true;
    return this.choice === 'auto' && this.mismatches().length > 0;
  }

  add(sample: Sample): void {
    for (const b of sample.bands) {
      const key = bandStatsKey(b);
      if (!this.fromRun.has(key)) this.fromRun.set(key, this.runStats(b));
      this.own.addBand(b);
    }
  }

  private runStats(b: { sensor: string; name: string }): RunStats | undefined {
    if (this.choice === 'dataset') return undefined;
    const st = this.ctx.stats.get(bandStatsKey(b));
    if (st !== undefined) return { st, source: 'run' };
    try {
      return { st: bandStatsFor(this.ctx.stats, b, this.catalog), source: 'family' };
    } catch {
      return undefined;
    }
  }

  /** Bands whose run statistics are not in the units of the imagery's own (auto only), with why. */
  private mismatches(): Array<{ key: string; why: string }> {
    if (this.choice !== 'auto') return [];
    const own = new Map(this.own.result().map((s) => [s.key, s]));
    const out: Array<{ key: string; why: string }> = [];
    for (const [key, r] of this.fromRun) {
      const o = own.get(key);
      if (r === undefined || o === undefined) continue;
      const why = unitsMismatch(r.st, o);
      if (why !== undefined) out.push({ key, why });
    }
    return out;
  }

  result(): { stats: Map<string, BandStats>; table: BandNormalisation[]; notes: string[] } {
    const stats = new Map(this.ctx.stats);
    const table: BandNormalisation[] = [];
    const own = new Map(this.own.result().map((s) => [s.key, s]));
    const mismatched = new Map(this.mismatches().map((m) => [m.key, m.why]));
    for (const [key, r] of this.fromRun) {
      const o = own.get(key);
      if (r !== undefined && !mismatched.has(key)) {
        stats.set(key, { ...r.st, key });
        table.push({ band: key, source: r.source, stats: r.st.key, mean: r.st.mean, std: r.st.std });
      } else if (o !== undefined) {
        stats.set(key, o);
        const why = mismatched.has(key) ? `; the run's ${r?.st.key} is in other units` : '';
        table.push({ band: key, source: 'dataset', stats: `${key} (this dataset, ${o.count} values${why})`, mean: o.mean, std: o.std });
      }
    }
    table.sort((a, b) => (a.band < b.band ? -1 : a.band > b.band ? 1 : 0));
    const notes =
      mismatched.size === 0
        ? []
        : [
            `${[...mismatched.keys()].join(', ')} normalised with this dataset's own statistics, not the run's: not in the units of the run's statistics (` +
              [...mismatched].map(([k, why]) => `${k}: ${why}`).join('; ') +
              "); give the bands' scale/offset (a scene description's scale/offset, STAC raster:bands, a Landsat Level-1 scene's MTL beside its band files or mtl=<file>) to read them in the run's units, or --stats run to force the run's",
          ];
    return { stats, table, notes };
  }
}

/** Which statistics normalise each band of the samples (see the file comment). */
export function normalisationFor(
  samples: readonly Sample[],
  ctx: RunContext,
  choice: StatsChoice = 'auto',
): { stats: Map<string, BandStats>; table: BandNormalisation[]; notes: string[] } {
  const b = new NormalisationBuilder(ctx, choice);
  for (const s of samples) b.add(s);
  return b.result();
}

// Per-band normalisation statistics over a dataset's training split
// (docs/model.md section 1: values are z-scored per band). Streaming: each band
// raster is reduced in float64 by two passes (mean, then centred squares),
// and the partial results are merged with Chan et al.'s pairwise update, so
// the variance stays accurate for large offsets (reflectance x 10000) and
// any number of samples. Missing values (NaN, nodata) are excluded.

import type { BandRaster, BandStats, Sample } from './types.js';

/** The statistics key of a band: `${sensor}:${name}`; statistics are computed per exact key. */
export function bandStatsKey(band: { sensor: string; name: string }): string {
  return `${band.sensor}:${band.name}`;
}

interface Partial {
  count: number;
  mean: number;
  /** Sum of squared deviations from the mean. */
  m2: number;
  min: number;
  max: number;
}

export class BandStatsAccumulator {
  private readonly acc = new Map<string, Partial>();

  /** Add every band of a sample (keyed `${sensor}:${name}`). */
  add(sample: Sample): this {
    for (const band of sample.bands) this.addBand(band);
    return this;
  }

  /** Add one band raster's valid physical values (stored * scale + offset). */
  addBand(band: BandRaster): this {
    const { values, scale, offset } = band;
    const nodata = band.nodata;
    const hasNodata = nodata !== undefined && !Number.isNaN(nodata);
    const nd = hasNodata ? (nodata as number) : 0;
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v !== v || (hasNodata && v === nd)) continue;
      const p = v * scale + offset;
      count++;
      sum += p;
      if (p < min) min = p;
      if (p > max) max = p;
    }
    if (count === 0) {
      this.merge(bandStatsKey(band), { count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity });
      return this;
    }
    const mean = sum / count;
    let m2 = 0;
    let comp = 0; // sum of deviations, corrects the rounding of `mean` (corrected two-pass)
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v !== v || (hasNodata && v === nd)) continue;
      const d = v * scale + offset - mean;
      m2 += d * d;
      comp += d;
    }
    m2 -= (comp * comp) / count;
    this.merge(bandStatsKey(band), { count, mean, m2: Math.max(0, m2), min, max });
    return this;
  }

  /** Fold another accumulator in (e.g. one per reader process). */
  addAll(other: BandStatsAccumulator): this {
    for (const [key, p] of other.acc) this.merge(key, { ...p });
    return this;
  }

  private merge(key: string, b: Partial): void {
    const a = this.acc.get(key);
    if (a === undefined) {
      this.acc.set(key, b);
      return;
    }
    const n = a.count + b.count;
    if (b.count > 0) {
      const delta = b.mean - a.mean;
      a.mean += (delta * b.count) / n;
      a.m2 += b.m2 + (delta * delta * a.count * b.count) / n;
    }
    a.count = n;
    a.min = Math.min(a.min, b.min);
    a.max = Math.max(a.max, b.max);
  }

  /**
   * One entry per band key, in the order bands were first seen. std is the
   * population standard deviation (divides by count). A band with no valid
   * value reports count 0 and zeros.
   */
  result(): BandStats[] {
    return [...this.acc].map(([key, p]) =>
      p.count === 0
        ? { key, count: 0, mean: 0, std: 0, min: 0, max: 0 }
        : { key, count: p.count, mean: p.mean, std: Math.sqrt(p.m2 / p.count), min: p.min, max: p.max },
    );
  }
}

/** One line for the logs: how values are normalised and from how much data. */
export function describeNormalization(stats: readonly BandStats[]): string {
  if (stats.length === 0) return 'no normalisation: no band statistics (physical values used as they are)';
  const pixels = stats.reduce((s, b) => s + b.count, 0);
  const range = (b: BandStats) => `${b.key} ${fmt(b.mean)}±${fmt(b.std)}`;
  const shown =
    stats.length <= 4 ? stats.map(range).join(', ') : `${stats.slice(0, 3).map(range).join(', ')}, ... (${stats.length - 3} more)`;
  return `per-band z-score (physical - mean) / std, population std over ${pixels.toLocaleString('en-US')} valid pixels of ${stats.length} bands, missing excluded: ${shown}`;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

import { bandStatsKey } from './band-stats.js';
import type { SeededRng } from './rng.js';
import { mixBands, spectralWeights, type SpectralRaster } from './sensor-simulation.js';
import { builtinCatalog } from './sensors/index.js';
import type { SensorCatalog } from './sensors/index.js';
import { bandStatsFor, type BandStatsTable } from './stats-lookup.js';
import type { BandRaster, BandStats, Sample } from './types.js';

// Training on random virtual sensors (our recipe, docs/training-recipe.md): a
// training view's spectral bands are replaced by bands of a sensor that does not
// exist, each the overlap-weighted mix of the real bands under a random interval
// (sensor-simulation.ts mixBands). Real sensors differ from the training sensor
// mostly in where their bands start and end and how wide they are (Landsat MSS's
// 0.8-1.1 um band spans three Sentinel-2 bands); a model that only ever saw the
// training sensor's narrow bands meets such bands out of distribution. Here it
// learns to read a band's interval as a continuous quantity, on the real values
// that interval would measure.
//
// A virtual band spans 1-4 neighbouring source bands (in wavelength order), its
// edges pushed out by up to half of the edge bands' widths. Its normalisation
// statistics are the same mix of the sources' (mean: the weighted mean; std: the
// weighted mean of the stds, exact for perfectly correlated neighbours), so its
// z-scores are on the scale of the real bands'. Channel bands (SAR) pass through.

export const VIRTUAL_SENSOR = 'virtual';
const MAX_SPAN = 4;

export interface VirtualView {
  sample: Sample;
  /** The statistics table to atomize `sample` with: the run's plus the virtual bands'. */
  stats: BandStatsTable;
}

const lower = (b: SpectralRaster): number => b.wavelengthNm - b.bandwidthNm / 2;
const upper = (b: SpectralRaster): number => b.wavelengthNm + b.bandwidthNm / 2;

/**
 * `sample` seen by a random virtual sensor of 1..n bands (n: its spectral
 * bands), on the grid of its finest spectral band. Draws from `rng` only.
 * A sample without spectral bands is returned as it is.
 */
export function randomVirtualSensor(
  sample: Sample,
  stats: BandStatsTable,
  rng: SeededRng,
  catalog: SensorCatalog = builtinCatalog(),
): VirtualView {
  const sources = sample.bands.filter((b): b is SpectralRaster => b.kind === 'spectral').sort((a, b) => lower(a) - lower(b));
  if (sources.length === 0) return { sample, stats };
  const where = `virtual sensor from sample ${sample.source ?? sample.id}`;
  const sourceStats = sources.map((b) => bandStatsFor(stats, b, catalog, where));
  const finest = sources.reduce((a, b) => (b.gsdM < a.gsdM ? b : a));
  const n = sources.length;
  const k = 1 + rng.int(n);
  const table = new Map<string, BandStats>(stats instanceof Map ? stats : Object.entries(stats));
  const bands: BandRaster[] = sample.bands.filter((b) => b.kind !== 'spectral');
  for (let j = 0; j < k; j++) {
    const a = rng.int(n);
    const b = a + rng.int(Math.min(MAX_SPAN, n - a));
    const first = sources[a]!;
    const last = sources[b]!;
    const lo = Math.max(1, lower(first) - (rng.next() * first.bandwidthNm) / 2);
    const hi = upper(last) + (rng.next() * last.bandwidthNm) / 2;
    const target = { wavelengthNm: (lo + hi) / 2, bandwidthNm: hi - lo };
    const band: BandRaster = {
      kind: 'spectral',
      ...target,
      name: `V${j + 1}`,
      sensor: VIRTUAL_SENSOR,
      gsdM: finest.gsdM,
      width: finest.width,
      height: finest.height,
      values: mixBands(sources, target, finest.width, finest.height),
      scale: 1,
      offset: 0,
    };
    const w = spectralWeights(target, sources);
    const mean = w.reduce((s, x, i) => s + x * sourceStats[i]!.mean, 0);
    const std = w.reduce((s, x, i) => s + x * sourceStats[i]!.std, 0);
    const key = bandStatsKey(band);
    table.set(key, { key, count: 0, mean, std, min: Number.NaN, max: Number.NaN });
    bands.push(band);
  }
  return { sample: { ...sample, bands }, stats: table };
}

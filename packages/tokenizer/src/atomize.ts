// Sample -> atoms (docs/model.md section 1): one atom per (pixel, band) scalar.
// Missing pixels (stored NaN or nodata) are absent atoms, counted. Positions
// are pixel centres in metres from the image centre, x east, y north, so a
// 20 m band's atoms sit on a grid twice as sparse as a 10 m band's over the
// same footprint, with no resampling.

import { BandStatsAccumulator } from './band-stats.js';
import { builtinCatalog, type SensorCatalog } from './sensors/index.js';
import { bandStatsFor, type BandStatsTable } from './stats-lookup.js';
import type { AtomBand, AtomSet, BandRaster, Sample } from './types.js';

export interface AtomizeOptions {
  /**
   * Per-band statistics keyed `${sensor}:${name}` (see BandStatsAccumulator);
   * a band without its own entry uses its sensor family's (stats-lookup.ts).
   */
  stats?: BandStatsTable;
  /** Where sensor families come from; default the built-in catalogue. */
  catalog?: SensorCatalog;
  /**
   * 'zscore': (physical - mean) / std per band with `stats`; 'image': the same with each
   * band's own mean and std in this sample (no stats needed; a constant band is only
   * centred); 'none': physical values. Default: 'zscore' when stats are given, else 'none'.
   */
  normalize?: 'zscore' | 'image' | 'none';
}

export interface AtomizeResult {
  atoms: AtomSet;
  /** Missing atoms (NaN or nodata) dropped, in all. */
  missing: number;
  /** Missing atoms per band name (summed if two bands share a name). */
  missingByBand: Record<string, number>;
}

/** The per-band context every atom of the band shares (no pixel data). */
export function atomBandOf(band: BandRaster): AtomBand {
  return band.kind === 'spectral'
    ? { kind: 'spectral', name: band.name, gsdM: band.gsdM, wavelengthNm: band.wavelengthNm, bandwidthNm: band.bandwidthNm }
    : { kind: 'channel', name: band.name, gsdM: band.gsdM, channelKind: band.channelKind };
}

function checkBand(band: BandRaster, b: number, where: string): void {
  const what = `${where}: band '${band.name}' (${b})`;
  if (!Number.isInteger(band.width) || !Number.isInteger(band.height) || band.width < 0 || band.height < 0) {
    throw new Error(`${what}: width and height must be non-negative integers, got ${band.width}x${band.height}`);
  }
  if (band.values.length !== band.width * band.height) {
    throw new Error(
      `${what}: has ${band.values.length} values; expected width*height = ${band.width}*${band.height} = ${band.width * band.height}`,
    );
  }
  if (!(band.gsdM > 0) || !Number.isFinite(band.gsdM)) {
    throw new Error(`${what}: gsdM must be a positive number of metres, got ${band.gsdM}`);
  }
  if (!Number.isFinite(band.scale) || !Number.isFinite(band.offset)) {
    throw new Error(`${what}: scale and offset must be finite, got scale=${band.scale} offset=${band.offset}`);
  }
}

/** Turn a sample into its atom set: value (normalised), band index, x, y; doy from sample.time. */
export function atomize(sample: Sample, opts: AtomizeOptions = {}): AtomizeResult {
  const where = `atomize(${sample.source ?? sample.id})`;
  const normalize = opts.normalize ?? (opts.stats !== undefined ? 'zscore' : 'none');
  const catalog = opts.catalog ?? builtinCatalog();
  if (sample.bands.length > 65535) {
    throw new Error(`${where}: ${sample.bands.length} bands; at most 65535 fit the Uint16 band index`);
  }
  let total = 0;
  sample.bands.forEach((band, b) => {
    checkBand(band, b, where);
    total += band.width * band.height;
  });

  const value = new Float32Array(total);
  const bandIdx = new Uint16Array(total);
  const xs = new Float32Array(total);
  const ys = new Float32Array(total);
  const missingByBand: Record<string, number> = {};
  let n = 0;

  for (let b = 0; b < sample.bands.length; b++) {
    const band = sample.bands[b] as BandRaster;
    let mean = 0;
    let invStd = 1;
    if (normalize === 'zscore') {
      const st = bandStatsFor(opts.stats ?? {}, band, catalog, where);
      if (!Number.isFinite(st.mean) || !(st.std >= 0) || !Number.isFinite(st.std)) {
        throw new Error(
          `${where}: statistics of band '${st.key}' are invalid (mean=${st.mean}, std=${st.std}); expected finite mean and std >= 0`,
        );
      }
      mean = st.mean;
      // A constant band (std 0) is only centred rather than divided by zero.
      invStd = st.std > 0 ? 1 / st.std : 1;
    } else if (normalize === 'image') {
      const st = new BandStatsAccumulator().addBand(band).result()[0];
      if (st !== undefined && st.count > 0) {
        mean = st.mean;
        invStd = st.std > 0 ? 1 / st.std : 1;
      }
    }
    const { width, height, values, scale, offset, gsdM } = band;
    const nodata = band.nodata;
    const hasNodata = nodata !== undefined && !Number.isNaN(nodata);
    const nd = hasNodata ? (nodata as number) : 0;
    // Physical value, then z-score, folded into one multiply-add per atom.
    const mul = scale * invStd;
    const add = (offset - mean) * invStd;
    const halfW = width / 2;
    const halfH = height / 2;
    let missing = 0;
    let p = 0;
    for (let row = 0; row < height; row++) {
      const y = (halfH - row - 0.5) * gsdM;
      for (let col = 0; col < width; col++, p++) {
        const v = values[p] as number;
        // v !== v is the NaN test; nodata compares against the stored value.
        if (v !== v || (hasNodata && v === nd)) {
          missing++;
          continue;
        }
        value[n] = v * mul + add;
        bandIdx[n] = b;
        xs[n] = (col + 0.5 - halfW) * gsdM;
        ys[n] = y;
        n++;
      }
    }
    missingByBand[band.name] = (missingByBand[band.name] ?? 0) + missing;
  }

  const trim = n < total;
  const atoms: AtomSet = {
    length: n,
    value: trim ? value.slice(0, n) : value,
    band: trim ? bandIdx.slice(0, n) : bandIdx,
    x: trim ? xs.slice(0, n) : xs,
    y: trim ? ys.slice(0, n) : ys,
    bands: sample.bands.map(atomBandOf),
    doy: sample.time !== undefined && Number.isFinite(sample.time.doy) ? sample.time.doy : Number.NaN,
  };
  return { atoms, missing: total - n, missingByBand };
}

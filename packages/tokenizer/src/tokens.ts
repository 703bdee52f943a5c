// Token assembly (docs/model.md section 2): each atom becomes
//   [FF(value) | spectral (K) | FF(x/scale) | FF(y/scale) | FF(log2 gsd/ref) | time]
// laid out by `tokenLayout`. This is the CPU reference the model's input
// stage (tfjs ops) is tested against, and the worker's hot loop, so:
// - per-band parts (spectral, gsd) are computed once per band table entry,
//   the time part once per sample, and copied;
// - per-atom parts (value, x, y) call fourierFeaturesFast, the one
//   angle-addition kernel of fourier.ts (2 sin/cos calls per feature with the
//   default harmonic frequencies), writing straight into the output: no
//   per-atom allocation. V8 inlines the call: an A/B against a hand-inlined
//   copy in one process measured the same (median 5.88 vs 5.88 M atoms per
//   CPU-second, 880,000 BigEarthNet atoms, 3 runs within noise), so no copy;
// - y repeats along each grid row, so the y features are copied from the
//   last row that computed them (+4% measured). A direct-mapped cache of x
//   features by float32 bits was measured 15% slower than recomputing, and
//   is not used. Figures: bench/encode.bench.ts, docs/benchmarks.md.
// Channel bands (SAR, elevation) get zeros in the spectral slot: the model
// adds its learned vector there (section 2.5).

import { tokenLayout, type EncodingConfig, type TokenLayout } from './encoding-config.js';
import { fourierFeaturesFast, fourierPlan, type FourierPlan } from './fourier.js';
import { gsdEncoding } from './gsd-encoding.js';
import { spectralEncoding } from './spectral.js';
import { timeEncoding } from './time-encoding.js';
import type { AtomBand, AtomBatch, AtomSet } from './types.js';

/**
 * An encoder bound to one EncodingConfig: reuse it across batches to avoid
 * re-deriving the frequency plans (the band table is re-encoded per call; it
 * is a handful of bands).
 */
export class TokenEncoder {
  readonly cfg: EncodingConfig;
  readonly layout: TokenLayout;
  readonly dim: number;
  private readonly valuePlan: FourierPlan;
  private readonly posPlan: FourierPlan;
  private readonly invPosScale: number;

  constructor(cfg: EncodingConfig) {
    this.cfg = cfg;
    this.layout = tokenLayout(cfg);
    this.dim = this.layout.dim;
    this.valuePlan = fourierPlan(cfg.value.numBands, cfg.value.maxFreq);
    this.posPlan = fourierPlan(cfg.position.numBands, cfg.position.maxFreq);
    this.invPosScale = 1 / cfg.position.scaleM;
  }

  /**
   * Per-band constant parts, row-major [band][spectral K | gsd G]: spectral
   * encoding (zeros for channel bands) and gsd features (G = 0 when disabled).
   */
  bandTable(bands: readonly AtomBand[]): Float32Array {
    const K = this.layout.spectral.size;
    const G = this.layout.gsd.size;
    const table = new Float32Array(bands.length * (K + G));
    bands.forEach((band, b) => {
      const what = `band '${band.name}' (band table entry ${b})`;
      if (band.kind === 'spectral') {
        spectralEncoding(
          { wavelengthNm: band.wavelengthNm, bandwidthNm: band.bandwidthNm, name: band.name },
          this.cfg.spectral,
          table,
          b * (K + G),
        );
      } else if (band.kind !== 'channel') {
        throw new Error(`Token encoding: ${what} has kind '${String((band as { kind: unknown }).kind)}'; expected 'spectral' or 'channel'`);
      }
      if (G > 0) gsdEncoding(band.gsdM, this.cfg.gsd, table, b * (K + G) + K, what);
    });
    return table;
  }

  /** The per-sample time part (2H values; zeros for an unknown date; empty when disabled). */
  timeVector(doy: number): Float32Array {
    const size = this.layout.time.size;
    const v = new Float32Array(size);
    if (size > 0) timeEncoding(doy, this.cfg.time.harmonics, v, 0);
    return v;
  }

  /** Tokens of one atom set: Float32Array of length atoms.length * dim. */
  encode(atoms: AtomSet, out?: Float32Array): Float32Array {
    const n = atoms.length;
    const target = this.output(out, n, 'encodeTokens');
    const table = this.bandTable(atoms.bands);
    const time = this.timeVector(atoms.doy);
    this.encodeRows(atoms.value, atoms.band, atoms.x, atoms.y, null, 0, n, atoms.bands.length, table, time, target);
    return target;
  }

  /** Tokens of a padded batch: Float32Array of length B * N * dim; padded rows (mask 0) are all zero. */
  encodeBatch(batch: AtomBatch, out?: Float32Array): Float32Array {
    const B = batch.batchSize;
    const N = batch.maxAtoms;
    const total = B * N;
    for (const [field, arr] of [
      ['value', batch.value],
      ['band', batch.band],
      ['x', batch.x],
      ['y', batch.y],
      ['mask', batch.mask],
    ] as const) {
      if (arr.length !== total) {
        throw new Error(`encodeBatchTokens: batch.${field} has length ${arr.length}; expected batchSize*maxAtoms = ${B}*${N} = ${total}`);
      }
    }
    if (batch.doy.length !== B) {
      throw new Error(`encodeBatchTokens: batch.doy has length ${batch.doy.length}; expected batchSize = ${B}`);
    }
    const target = this.output(out, total, 'encodeBatchTokens');
    const table = this.bandTable(batch.bands);
    for (let s = 0; s < B; s++) {
      const time = this.timeVector(batch.doy[s] as number);
      this.encodeRows(batch.value, batch.band, batch.x, batch.y, batch.mask, s * N, s * N + N, batch.bands.length, table, time, target);
    }
    return target;
  }

  private output(out: Float32Array | undefined, n: number, who: string): Float32Array {
    const size = n * this.dim;
    if (out === undefined) return new Float32Array(size);
    if (out.length < size) {
      throw new Error(`${who}: output buffer holds ${out.length} floats; expected at least ${n} atoms x ${this.dim} = ${size}`);
    }
    return out;
  }

  /** The hot loop: atoms [start, end) -> rows [start, end) of `out`. */
  private encodeRows(
    value: Float32Array,
    band: Uint16Array | Int32Array,
    xs: Float32Array,
    ys: Float32Array,
    mask: Float32Array | null,
    start: number,
    end: number,
    numBands: number,
    table: Float32Array,
    time: Float32Array,
    out: Float32Array,
  ): void {
    const dim = this.dim;
    const L = this.layout;
    const vOff = L.value.offset;
    const sOff = L.spectral.offset;
    const K = L.spectral.size;
    const xOff = L.x.offset;
    const yOff = L.y.offset;
    const gOff = L.gsd.offset;
    const G = L.gsd.size;
    const tOff = L.time.offset;
    const T = L.time.size;
    const KG = K + G;
    const vPlan = this.valuePlan;
    const pPlan = this.posPlan;
    const inv = this.invPosScale;
    const pDim = L.y.size;
    let lastY = Number.NaN;
    let lastYRow = -1;
    for (let i = start; i < end; i++) {
      const o = i * dim;
      if (mask !== null && mask[i] === 0) {
        out.fill(0, o, o + dim);
        continue;
      }
      const b = band[i] as number;
      if (b >= numBands) {
        throw new Error(`Token encoding: atom ${i} has band index ${b}; the band table has ${numBands} entries`);
      }
      fourierFeaturesFast(value[i] as number, vPlan, out, o + vOff);
      const tb = b * KG;
      for (let k = 0; k < K; k++) out[o + sOff + k] = table[tb + k] as number;
      fourierFeaturesFast((xs[i] as number) * inv, pPlan, out, o + xOff);
      // Atoms come row by row, so y repeats along a row: copy the features of
      // the last row that computed them instead of recomputing.
      const yv = ys[i] as number;
      if (yv === lastY) {
        const src = lastYRow * dim + yOff;
        for (let k = 0; k < pDim; k++) out[o + yOff + k] = out[src + k] as number;
      } else {
        fourierFeaturesFast(yv * inv, pPlan, out, o + yOff);
        lastY = yv;
        lastYRow = i;
      }
      for (let k = 0; k < G; k++) out[o + gOff + k] = table[tb + K + k] as number;
      for (let k = 0; k < T; k++) out[o + tOff + k] = time[k] as number;
    }
  }
}

/** Tokens of one atom set (length * dim floats, layout from tokenLayout(cfg)). */
export function encodeTokens(atoms: AtomSet, cfg: EncodingConfig, out?: Float32Array): Float32Array {
  return new TokenEncoder(cfg).encode(atoms, out);
}

/** Tokens of a padded batch (B * N * dim floats); padded rows all zero. */
export function encodeBatchTokens(batch: AtomBatch, cfg: EncodingConfig, out?: Float32Array): Float32Array {
  return new TokenEncoder(cfg).encodeBatch(batch, out);
}

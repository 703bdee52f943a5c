import * as tf from './tfjs.js';
import { tokenLayout, type AtomBand, type AtomBatch, type EncodingConfig } from '@atomizer/tokenizer';
import type { ModelConfig } from './config.js';

// The fixed token encodings of docs/model.md section 2 as tf ops, on the compact
// AtomBatch records (the few bytes per atom a worker uploads) instead of the
// expanded B*N*84 floats. Same layout as the tokenizer's CPU encoder:
//   [FF(value) | spectral (K) | FF(x/scale) | FF(y/scale) | FF(log2(gsd/ref)) | day of year]
// Per-band parts (spectral, gsd) are computed once for the batch's band table and
// gathered by band index; Fourier features of value, x, y are computed per atom;
// the day-of-year part per sample, broadcast over its atoms. Channel bands (SAR,
// elevation) get a learned vector in the spectral slot (section 2.5).

/** Angular frequencies 0.75*pi*s_k, s_k = linspace(1, fmax/2, F) (section 2), in float64. */
export function fourierOmegas(numBands: number, maxFreq: number): Float32Array {
  const out = new Float32Array(numBands);
  for (let k = 0; k < numBands; k++) {
    const s = numBands === 1 ? 1 : 1 + ((maxFreq / 2 - 1) * k) / (numBands - 1);
    out[k] = 0.75 * Math.PI * s;
  }
  return out;
}

/** FF(u) for a column u [M,1] -> [M, 2F+1]: [sin(omega_k u) | cos(omega_k u) | u]. */
export function fourierFeaturesOp(u: tf.Tensor2D, numBands: number, maxFreq: number): tf.Tensor2D {
  return tf.tidy(() => {
    const angles = tf.mul(u, tf.tensor2d(fourierOmegas(numBands, maxFreq), [1, numBands]));
    return tf.concat([tf.sin(angles), tf.cos(angles), u], 1) as tf.Tensor2D;
  });
}

/**
 * Spectral encoding of each spectral band [nB, K] (section 2.2); rows of channel
 * bands are zero (they get their learned vector per atom).
 */
export function spectralFeaturesOp(bands: readonly AtomBand[], enc: EncodingConfig): tf.Tensor2D {
  const K = enc.spectral.rbfs.length;
  const nB = bands.length;
  const lo = new Float32Array(nB);
  const hi = new Float32Array(nB);
  const isSpectral = new Float32Array(nB);
  for (const [i, b] of bands.entries()) {
    if (b.kind !== 'spectral') continue;
    if (!(b.bandwidthNm >= 0) || !Number.isFinite(b.wavelengthNm)) {
      throw new Error(
        `Band '${b.name}': wavelength ${b.wavelengthNm} nm / bandwidth ${b.bandwidthNm} nm; expected a finite wavelength and bandwidth >= 0`,
      );
    }
    lo[i] = b.wavelengthNm - b.bandwidthNm / 2;
    hi[i] = b.wavelengthNm + b.bandwidthNm / 2;
    isSpectral[i] = 1;
  }
  return tf.tidy(() => {
    const mu = tf.tensor2d(
      enc.spectral.rbfs.map((r) => r.muNm),
      [1, K],
    );
    const sigma = tf.tensor2d(
      enc.spectral.rbfs.map((r) => r.sigmaNm),
      [1, K],
    );
    const loT = tf.tensor2d(lo, [nB, 1]);
    const hiT = tf.tensor2d(hi, [nB, 1]);
    const gauss = (l: tf.Tensor) => tf.exp(tf.mul(tf.square(tf.div(tf.sub(l, mu), sigma)), -0.5));
    let feat: tf.Tensor;
    if (enc.spectral.mode === 'max') {
      // G_k is unimodal: its max over [lo, hi] is at the point of the interval nearest mu_k.
      feat = gauss(tf.minimum(tf.maximum(mu, loT), hiT));
    } else {
      // Mean of G_k over [lo, hi]: sigma sqrt(pi/2) (erf(b) - erf(a)) / (hi - lo),
      // a, b = (lo|hi - mu) / (sigma sqrt 2); a zero-width band reads G_k at its centre.
      const width = tf.sub(hiT, loT);
      const s2 = tf.mul(sigma, Math.SQRT2);
      const diff = tf.sub(tf.erf(tf.div(tf.sub(hiT, mu), s2)), tf.erf(tf.div(tf.sub(loT, mu), s2)));
      const mean = tf.div(tf.mul(tf.mul(sigma, Math.sqrt(Math.PI / 2)), diff), tf.maximum(width, 1e-30));
      feat = tf.where(tf.greater(width, 0), mean, gauss(loT));
    }
    return tf.mul(feat, tf.tensor2d(isSpectral, [nB, 1])) as tf.Tensor2D;
  });
}

/** Index of each band's channel kind in cfg.channelKinds (-1 for spectral bands); unknown kinds throw. */
export function channelKindIndex(bands: readonly AtomBand[], channelKinds: readonly string[]): Int32Array {
  const out = new Int32Array(bands.length).fill(-1);
  for (const [i, b] of bands.entries()) {
    if (b.kind !== 'channel') continue;
    const k = channelKinds.indexOf(b.channelKind);
    if (k < 0) {
      throw new Error(
        `Band '${b.name}' has channel kind '${b.channelKind}', which the model config does not know; expected one of: ${channelKinds.join(', ') || '(none)'} (model config field channelKinds)`,
      );
    }
    out[i] = k;
  }
  return out;
}

/** Throws unless every per-atom field has batchSize*maxAtoms entries, doy has batchSize, and band indices are in the band table. */
export function checkAtomBatch(batch: AtomBatch): void {
  const M = batch.batchSize * batch.maxAtoms;
  for (const field of ['value', 'band', 'x', 'y', 'mask'] as const) {
    if (batch[field].length !== M) {
      throw new Error(`AtomBatch.${field} has length ${batch[field].length}, expected batchSize*maxAtoms = ${M}`);
    }
  }
  if (batch.doy.length !== batch.batchSize) {
    throw new Error(`AtomBatch.doy has length ${batch.doy.length}, expected batchSize = ${batch.batchSize}`);
  }
  // A sample with no real atom would attend to padding only (finite, meaningless
  // logits that still move the weights): refuse it rather than poison the step.
  for (let b = 0; b < batch.batchSize; b++) {
    let real = 0;
    for (let j = b * batch.maxAtoms; j < (b + 1) * batch.maxAtoms; j++) real += batch.mask[j] as number;
    if (real === 0) throw new Error(`AtomBatch sample ${b} has no real atom (mask all 0); drop empty samples before batching`);
  }
  const nB = batch.bands.length;
  for (let i = 0; i < M; i++) {
    const b = batch.band[i] as number;
    if (b < 0 || b >= nB) {
      if (batch.mask[i] === 0 && b === 0) continue;
      throw new Error(`AtomBatch.band[${i}] = ${b} is outside the band table (${nB} bands)`);
    }
  }
}

/** One-hot [B*N, numKinds] of each real atom's channel kind (rows of spectral and padded atoms are zero); `kinds` from channelKindIndex. */
export function channelOneHot(batch: AtomBatch, kinds: Int32Array, numKinds: number): Float32Array {
  const M = batch.band.length;
  const oneHot = new Float32Array(M * numKinds);
  for (let i = 0; i < M; i++) {
    const k = kinds[batch.band[i] as number] ?? -1;
    if (k >= 0 && batch.mask[i] !== 0) oneHot[i * numKinds + k] = 1;
  }
  return oneHot;
}

/** True when some real atom of the batch belongs to a channel (non-spectral) band. */
export function batchHasChannelBands(batch: AtomBatch): boolean {
  if (!batch.bands.some((b) => b.kind === 'channel')) return false;
  for (let i = 0; i < batch.band.length; i++) {
    if (batch.mask[i] !== 0 && batch.bands[batch.band[i] as number]?.kind === 'channel') return true;
  }
  return false;
}

/**
 * Tokens [B, N, tokenDim] of an AtomBatch, computed on the device.
 * `channelEmbed` [kinds, K] is the learned table of cfg.channelKinds (parameter
 * `channel_embed`). Rows of padded atoms (mask 0) are NOT zeroed, unlike the CPU
 * encoder's: the attention masks them as keys, so zeroing them would be a
 * wasted [B*N, tokenDim] multiply (slow on the cpu backend).
 */
export function inputStage(batch: AtomBatch, cfg: ModelConfig, channelEmbed?: tf.Tensor2D): tf.Tensor3D {
  checkAtomBatch(batch);
  const enc = cfg.encoding;
  const layout = tokenLayout(enc);
  const B = batch.batchSize;
  const N = batch.maxAtoms;
  const M = B * N;
  const kinds = channelKindIndex(batch.bands, cfg.channelKinds);
  if (cfg.channelKinds.length > 0 && channelEmbed === undefined) {
    throw new Error('inputStage: the config has channelKinds but no channel_embed tensor was given');
  }
  return tf.tidy(() => {
    const col = (a: Float32Array) => tf.tensor2d(a, [M, 1]);
    const parts: tf.Tensor2D[] = [];
    parts.push(fourierFeaturesOp(col(batch.value), enc.value.numBands, enc.value.maxFreq));

    // Per-band tables [nB, K] and [nB, gsd], gathered by band index (two gathers, no slices).
    const bandIndex = tf.tensor1d(batch.band, 'int32');
    let spectral: tf.Tensor2D = tf.gather(spectralFeaturesOp(batch.bands, enc), bandIndex);
    if (channelEmbed !== undefined && batchHasChannelBands(batch)) {
      // Learned channel vectors by a one-hot product, not a gather: its gradient is a
      // matMul (the wasm backend has no UnsortedSegmentSum kernel for gather's gradient).
      const nk = cfg.channelKinds.length;
      spectral = tf.add(spectral, tf.matMul(tf.tensor2d(channelOneHot(batch, kinds, nk), [M, nk]), channelEmbed));
    }
    parts.push(spectral);
    parts.push(fourierFeaturesOp(tf.div(col(batch.x), enc.position.scaleM) as tf.Tensor2D, enc.position.numBands, enc.position.maxFreq));
    parts.push(fourierFeaturesOp(tf.div(col(batch.y), enc.position.scaleM) as tf.Tensor2D, enc.position.numBands, enc.position.maxFreq));
    if (enc.gsd.enabled) {
      const u = new Float32Array(batch.bands.map((b) => Math.log2(b.gsdM / enc.gsd.refM)));
      const table = fourierFeaturesOp(tf.tensor2d(u, [u.length, 1]), enc.gsd.numBands, enc.gsd.maxFreq);
      parts.push(tf.gather(table, bandIndex));
    }
    if (enc.time.enabled) {
      // [sin(2 pi k doy/365) k=1..H | cos(...) k=1..H], zeros when the date is unknown (section 2.4).
      const H = enc.time.harmonics;
      const doy = new Float32Array(B);
      const known = new Float32Array(B);
      for (let s = 0; s < B; s++) {
        const d = batch.doy[s] as number;
        if (Number.isFinite(d)) {
          doy[s] = d;
          known[s] = 1;
        }
      }
      const k = tf.tensor2d(
        Float32Array.from({ length: H }, (_, i) => (2 * Math.PI * (i + 1)) / 365),
        [1, H],
      );
      const ang = tf.mul(tf.tensor2d(doy, [B, 1]), k);
      const perSample = tf.mul(tf.concat([tf.sin(ang), tf.cos(ang)], 1), tf.tensor2d(known, [B, 1]));
      parts.push(tf.reshape(tf.tile(tf.reshape(perSample, [B, 1, 2 * H]), [1, N, 1]), [M, 2 * H]));
    }
    return tf.reshape(tf.concat(parts, 1), [B, N, layout.dim]) as tf.Tensor3D;
  });
}

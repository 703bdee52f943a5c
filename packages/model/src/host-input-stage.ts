import * as tf from './tfjs.js';
import { TokenEncoder, tokenLayout, type AtomBatch, type EncodingConfig } from '@atomizer/tokenizer';
import type { ModelConfig } from './config.js';
import { batchHasChannelBands, channelKindIndex, channelOneHot, checkAtomBatch, inputStage } from './input-stage.js';

// Tokens encoded on the host (the tokenizer's TokenEncoder, docs/model.md
// section 2) and uploaded as one [B*N, tokenDim] tensor, for the CPU backends.
//
// Why: on tfjs-backend-wasm the device input stage (input-stage.ts) is ~20
// small kernels forward (three last-axis concats, sin/cos, gathers, a tile)
// costing ~25 ms CPU for 8 x 1024 atoms, while the JS encoder (angle
// recurrence) + one upload costs ~10 ms (docs/benchmarks.md, "What closes the
// gap"). On native backends (tfjs-node, GPU) the device stage is the fast one:
// it uploads the compact atom records instead of B*N*tokenDim floats.
//
// The fixed encodings need no gradient; the learned channel vectors
// (section 2.5) are added on the device, as a one-hot [M, kinds] product with
// channel_embed placed in the spectral columns, so they train as before.

/** Where the fixed token encodings are computed. 'auto': host on the wasm and cpu backends, device otherwise. */
export type InputEncoding = 'device' | 'host' | 'auto';

export const INPUT_ENCODINGS: readonly InputEncoding[] = ['device', 'host', 'auto'];

/** 'device' or 'host' for `mode` on the active tf backend. */
export function resolveInputEncoding(mode: InputEncoding = 'auto'): 'device' | 'host' {
  if (mode === 'device' || mode === 'host') return mode;
  if (mode !== 'auto') {
    throw new Error(`inputEncoding is '${String(mode)}'; expected one of: ${INPUT_ENCODINGS.join(', ')}`);
  }
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu' ? 'host' : 'device';
}

const encoders = new WeakMap<EncodingConfig, TokenEncoder>();

function encoderOf(enc: EncodingConfig): TokenEncoder {
  let e = encoders.get(enc);
  if (e === undefined) {
    e = new TokenEncoder(enc);
    encoders.set(enc, e);
  }
  return e;
}

/**
 * Tokens [B, N, tokenDim] of an AtomBatch, encoded on the host and uploaded.
 * Same values as inputStage() on real atoms; padded rows are zero here (they
 * are masked in the attention either way).
 */
export function hostInputStage(batch: AtomBatch, cfg: ModelConfig, channelEmbed?: tf.Tensor2D): tf.Tensor3D {
  checkAtomBatch(batch);
  const B = batch.batchSize;
  const N = batch.maxAtoms;
  const M = B * N;
  const layout = tokenLayout(cfg.encoding);
  const kinds = channelKindIndex(batch.bands, cfg.channelKinds);
  if (cfg.channelKinds.length > 0 && channelEmbed === undefined) {
    throw new Error('hostInputStage: the config has channelKinds but no channel_embed tensor was given');
  }
  const host = encoderOf(cfg.encoding).encodeBatch(batch);
  return tf.tidy(() => {
    let tokens: tf.Tensor2D = tf.tensor2d(host, [M, layout.dim]);
    if (channelEmbed !== undefined && batchHasChannelBands(batch)) {
      // one-hot [M, kinds] x channel_embed padded into the spectral columns [kinds, dim]:
      // the pad is of the small table, not of an [M, K] product.
      const nk = cfg.channelKinds.length;
      const { offset, size } = layout.spectral;
      const table = tf.pad(channelEmbed, [
        [0, 0],
        [offset, layout.dim - offset - size],
      ]) as tf.Tensor2D;
      tokens = tf.add(tokens, tf.matMul(tf.tensor2d(channelOneHot(batch, kinds, nk), [M, nk]), table));
    }
    return tf.reshape(tokens, [B, N, layout.dim]) as tf.Tensor3D;
  });
}

/** Tokens of a batch by `mode` (resolveInputEncoding): hostInputStage or the device inputStage. */
export function inputTokens(
  batch: AtomBatch,
  cfg: ModelConfig,
  channelEmbed: tf.Tensor2D | undefined,
  mode: InputEncoding = 'auto',
): tf.Tensor3D {
  return resolveInputEncoding(mode) === 'host' ? hostInputStage(batch, cfg, channelEmbed) : inputStage(batch, cfg, channelEmbed);
}

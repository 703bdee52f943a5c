import * as tf from './tfjs.js';
import { SeededRng, type AtomBatch } from '@atomizer/tokenizer';
import { attention, keyBias, type AttentionParams } from './attention.js';
import { attentionRows } from './attention-rows.js';
import { attentionPool } from './attention-pool.js';
import type { ModelConfig } from './config.js';
import { geglu, type GegluParams } from './geglu.js';
import { inputTokens, type InputEncoding } from './host-input-stage.js';
import { layerNorm, type LayerNormParams } from './layer-norm.js';
import { linear } from './linear.js';
import { layerParamIndex } from './model-params.js';
import { nativeKernelsActive } from './native-kernels.js';
import { recomputed } from './recomputed.js';
import type { ParamTable } from './param-table.js';

// The Atomizer network (docs/model.md section 3), a pure function of named
// parameter tensors:
//
//   Z  = latents (L x d)
//   repeat depth times:
//       Z = Z + CrossAttention(LN(Z), LN(tokens), mask)
//       Z = Z + GEGLU(LN(Z))
//       repeat selfPerCross times: Z = Z + SelfAttention(LN(Z)); Z = Z + GEGLU(LN(Z))
//   logits = Linear(LN(AttentionPool(LN(Z))))

/** Parameter tensors by name (names of model-params.ts). */
export type ParamTensors = Record<string, tf.Tensor>;

export interface ForwardOptions {
  /** Training mode: enables token dropout when cfg.tokenDropout. */
  training?: boolean;
  /** Seed of the token-dropout draws (training only). */
  seed?: number;
  /** Where the fixed token encodings are computed (host-input-stage.ts); default 'auto'. */
  inputEncoding?: InputEncoding;
  /**
   * Recompute the first `recomputedLayers` layers in the backward pass instead of keeping
   * their intermediates (recomputed.ts); same bits, less memory, one more forward of each.
   * Default 0; the depth or more: every layer.
   */
  recomputedLayers?: number;
}

/** Uploads a flat weight array as one tensor per parameter (the caller disposes them). */
export function paramTensors(table: ParamTable, weights: Float32Array): ParamTensors {
  const views = table.views(weights);
  const out: ParamTensors = {};
  for (const e of table.entries) out[e.name] = tf.tensor(views[e.name]!, [...e.shape], 'float32');
  return out;
}

function getter(params: ParamTensors) {
  const get = <T extends tf.Tensor>(name: string): T => {
    const t = params[name];
    if (t === undefined) throw new Error(`Model parameter '${name}' is missing`);
    return t as T;
  };
  return {
    get,
    norm: (prefix: string): LayerNormParams => ({ gamma: get(`${prefix}.gamma`), beta: get(`${prefix}.beta`) }),
    attn: (prefix: string): AttentionParams => ({
      wq: get(`${prefix}.wq`),
      wk: get(`${prefix}.wk`),
      wv: get(`${prefix}.wv`),
      wo: get(`${prefix}.wo`),
      bo: get(`${prefix}.bo`),
    }),
    ff: (prefix: string): GegluParams => ({
      w1: get(`${prefix}.w1`),
      b1: get(`${prefix}.b1`),
      w2: get(`${prefix}.w2`),
      b2: get(`${prefix}.b2`),
    }),
  };
}

/**
 * Token dropout: a random subset of ceil(keep * n) of each sample's n real
 * atoms, as a new (smaller) AtomBatch with the same band table. Drawn with the
 * project's RNG (partial Fisher-Yates), so it is the same on every backend.
 */
export function dropAtoms(batch: AtomBatch, keep: number, rng: SeededRng): AtomBatch {
  const { batchSize: B, maxAtoms: N } = batch;
  const chosen: number[][] = [];
  let maxKept = 1;
  for (let s = 0; s < B; s++) {
    const real: number[] = [];
    for (let a = 0; a < N; a++) if (batch.mask[s * N + a] !== 0) real.push(s * N + a);
    const k = Math.min(real.length, Math.ceil(keep * real.length));
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(real.length - i);
      const t = real[i]!;
      real[i] = real[j]!;
      real[j] = t;
    }
    chosen.push(real.slice(0, k));
    maxKept = Math.max(maxKept, k);
  }
  const M = B * maxKept;
  const out: AtomBatch = {
    batchSize: B,
    maxAtoms: maxKept,
    value: new Float32Array(M),
    band: new Int32Array(M),
    x: new Float32Array(M),
    y: new Float32Array(M),
    mask: new Float32Array(M),
    doy: batch.doy,
    bands: batch.bands,
  };
  chosen.forEach((idx, s) => {
    idx.forEach((src, i) => {
      const dst = s * maxKept + i;
      out.value[dst] = batch.value[src]!;
      out.band[dst] = batch.band[src]!;
      out.x[dst] = batch.x[src]!;
      out.y[dst] = batch.y[src]!;
      out.mask[dst] = 1;
    });
  });
  return out;
}

/** The names of layer `pre`'s parameters, in table order. */
function layerParamNames(params: ParamTensors, pre: string): string[] {
  return Object.keys(params).filter((n) => n.startsWith(`${pre}.`));
}

/**
 * One layer (cross-attention + FF, then selfPerCross self-attention + FF blocks) as a
 * function of [z, tokens, key bias, ...the layer's parameters in layerParamNames order],
 * so that it can be recomputed in the backward pass (recomputed.ts).
 */
function layerOf(params: ParamTensors, pre: string, cfg: ModelConfig): (inputs: tf.Tensor[]) => tf.Tensor {
  const names = layerParamNames(params, pre);
  return (inputs) => {
    const [z0, layerTokens, layerBias, ...values] = inputs as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, ...tf.Tensor[]];
    const p = getter(Object.fromEntries(names.map((n, k) => [n, values[k]!])));
    let z = z0;
    const kv = layerNorm(layerTokens, p.norm(`${pre}.cross.norm_tokens`)) as tf.Tensor3D;
    const q = layerNorm(z, p.norm(`${pre}.cross.norm_latents`)) as tf.Tensor3D;
    // Atoms on the rows of every large product (attention-rows.ts): 1.4x on a stock wasm step.
    // With the native kernels batched products are fast and the plain batched attention
    // runs ~5x fewer kernels: small step 59 -> 51 ms CPU (docs/benchmarks.md, issue 7).
    const cross = nativeKernelsActive() ? attention : attentionRows;
    z = tf.add(z, cross(q, kv, p.attn(`${pre}.cross`), cfg.crossHeads, cfg.crossHeadDim, layerBias));
    z = tf.add(z, geglu(layerNorm(z, p.norm(`${pre}.cross_ff.norm`)), p.ff(`${pre}.cross_ff`)));
    for (let j = 0; j < cfg.selfPerCross; j++) {
      const sp = `${pre}.self.${j}`;
      const h = layerNorm(z, p.norm(`${sp}.attn.norm`)) as tf.Tensor3D;
      z = tf.add(z, attention(h, h, p.attn(`${sp}.attn`), cfg.selfHeads, cfg.selfHeadDim));
      z = tf.add(z, geglu(layerNorm(z, p.norm(`${sp}.ff.norm`)), p.ff(`${sp}.ff`)));
    }
    return z;
  };
}

/** Logits [B, numClasses] of a batch. Call inside tf.tidy (or dispose the result). */
export function atomizerForward(params: ParamTensors, batch: AtomBatch, cfg: ModelConfig, opts: ForwardOptions = {}): tf.Tensor2D {
  const p = getter(params);
  const B = batch.batchSize;
  const L = cfg.numLatents;
  const d = cfg.latentDim;
  const channelEmbed = cfg.channelKinds.length > 0 ? p.get<tf.Tensor2D>('channel_embed') : undefined;
  const dropout = cfg.tokenDropout && opts.training === true;
  const rng = dropout ? new SeededRng(opts.seed ?? 0) : undefined;
  return tf.tidy(() => {
    // Broadcast-add rather than tile: the gradient of a broadcast is one sum.
    let z: tf.Tensor3D = tf.add(tf.zeros([B, L, d]), p.get<tf.Tensor2D>('latents'));
    if (channelEmbed !== undefined) {
      // channel_embed takes no part in a batch (or token-dropout subset) without
      // channel bands; a zero-weighted term keeps it on the tape, so its gradient is
      // 0 rather than missing (tf.grads rejects inputs that do not reach the loss).
      z = tf.add(z, tf.mul(tf.sum(channelEmbed), 0));
    }
    let tokens: tf.Tensor3D | undefined;
    let bias: tf.Tensor3D | undefined;
    if (!dropout) {
      tokens = inputTokens(batch, cfg, channelEmbed, opts.inputEncoding);
      bias = keyBias(tf.tensor2d(batch.mask, [B, batch.maxAtoms]));
    }
    for (let i = 0; i < cfg.depth; i++) {
      const pre = `layers.${layerParamIndex(cfg, i)}`;
      let layerTokens = tokens;
      let layerBias = bias;
      if (rng !== undefined) {
        const sub = dropAtoms(batch, cfg.tokenDropoutKeep, rng);
        layerTokens = inputTokens(sub, cfg, channelEmbed, opts.inputEncoding);
        layerBias = keyBias(tf.tensor2d(sub.mask, [B, sub.maxAtoms]));
      }
      const inputs = [z, layerTokens!, layerBias!, ...layerParamNames(params, pre).map((n) => params[n]!)];
      const layer = layerOf(params, pre, cfg);
      z = (i < (opts.recomputedLayers ?? 0) ? recomputed(layer) : layer)(inputs) as tf.Tensor3D;
    }
    const pooled = attentionPool(layerNorm(z, p.norm('pool.norm')) as tf.Tensor3D, {
      query: p.get<tf.Tensor2D>('pool.query'),
      wk: p.get<tf.Tensor2D>('pool.wk'),
      wv: p.get<tf.Tensor2D>('pool.wv'),
    });
    return linear(layerNorm(pooled, p.norm('head.norm')), p.get<tf.Tensor2D>('head.w'), p.get<tf.Tensor1D>('head.b')) as tf.Tensor2D;
  });
}

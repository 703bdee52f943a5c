import { tokenLayout } from '@atomizer/tokenizer';
import type { ModelConfig } from './config.js';
import { ParamTable, type ParamSpec } from './param-table.js';

// The Atomizer's parameter list (docs/model.md section 3), in the order of the
// flat weight array. Names are dotted paths; layer blocks are
// `layers.<i>.cross.*`, `layers.<i>.cross_ff.*`, `layers.<i>.self.<j>.attn.*`,
// `layers.<i>.self.<j>.ff.*`. With weight tying only layers 0 and 1 exist and
// layers 2..depth-1 reuse layer 1 (Perceiver: the first cross-attention is unshared).

/** Token dimension of a model config (its encoding's tokenLayout). */
export function tokenDim(cfg: ModelConfig): number {
  return tokenLayout(cfg.encoding).dim;
}

/** Number of distinct layer parameter sets: depth, or min(depth, 2) with weight tying. */
export function distinctLayers(cfg: ModelConfig): number {
  return cfg.weightTying ? Math.min(cfg.depth, 2) : cfg.depth;
}

/** Which parameter set layer `i` (0-based) uses. */
export function layerParamIndex(cfg: ModelConfig, i: number): number {
  return cfg.weightTying && i >= 1 ? 1 : i;
}

function norm(prefix: string, dim: number): ParamSpec[] {
  return [
    { name: `${prefix}.gamma`, shape: [dim] },
    { name: `${prefix}.beta`, shape: [dim] },
  ];
}

function attentionSpecs(prefix: string, dq: number, dkv: number, inner: number, dOut: number): ParamSpec[] {
  return [
    { name: `${prefix}.wq`, shape: [dq, inner] },
    { name: `${prefix}.wk`, shape: [dkv, inner] },
    { name: `${prefix}.wv`, shape: [dkv, inner] },
    { name: `${prefix}.wo`, shape: [inner, dOut] },
    { name: `${prefix}.bo`, shape: [dOut] },
  ];
}

function ffSpecs(prefix: string, d: number, mult: number): ParamSpec[] {
  return [
    ...norm(`${prefix}.norm`, d),
    { name: `${prefix}.w1`, shape: [d, 2 * mult * d] },
    { name: `${prefix}.b1`, shape: [2 * mult * d] },
    { name: `${prefix}.w2`, shape: [mult * d, d] },
    { name: `${prefix}.b2`, shape: [d] },
  ];
}

/** The ordered parameter specs of the network. */
export function atomizerParamSpecs(cfg: ModelConfig): ParamSpec[] {
  const d = cfg.latentDim;
  const D = tokenDim(cfg);
  const K = tokenLayout(cfg.encoding).spectral.size;
  const specs: ParamSpec[] = [{ name: 'latents', shape: [cfg.numLatents, d] }];
  if (cfg.channelKinds.length > 0) specs.push({ name: 'channel_embed', shape: [cfg.channelKinds.length, K] });
  for (let i = 0; i < distinctLayers(cfg); i++) {
    const p = `layers.${i}`;
    specs.push(...norm(`${p}.cross.norm_latents`, d), ...norm(`${p}.cross.norm_tokens`, D));
    specs.push(...attentionSpecs(`${p}.cross`, d, D, cfg.crossHeads * cfg.crossHeadDim, d));
    specs.push(...ffSpecs(`${p}.cross_ff`, d, cfg.ffMult));
    for (let j = 0; j < cfg.selfPerCross; j++) {
      specs.push(...norm(`${p}.self.${j}.attn.norm`, d));
      specs.push(...attentionSpecs(`${p}.self.${j}.attn`, d, d, cfg.selfHeads * cfg.selfHeadDim, d));
      specs.push(...ffSpecs(`${p}.self.${j}.ff`, d, cfg.ffMult));
    }
  }
  specs.push(...norm('pool.norm', d));
  specs.push({ name: 'pool.query', shape: [d, 1] }, { name: 'pool.wk', shape: [d, d] }, { name: 'pool.wv', shape: [d, d] });
  specs.push(...norm('head.norm', d));
  specs.push({ name: 'head.w', shape: [d, cfg.numClasses] }, { name: 'head.b', shape: [cfg.numClasses] });
  return specs;
}

/** The network's parameter table (names, shapes, offsets in the flat array). */
export function atomizerParamTable(cfg: ModelConfig): ParamTable {
  return new ParamTable(atomizerParamSpecs(cfg));
}

/** Total number of parameters (length of the flat weight array). */
export function paramCount(cfg: ModelConfig): number {
  return atomizerParamTable(cfg).size;
}

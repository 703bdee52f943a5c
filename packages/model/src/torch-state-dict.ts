import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from './config.js';
import { paramTableOf } from './training.js';
import type { TensorTable } from './tensor-table.js';

// The network's weights as a PyTorch state_dict for python/atomizer_model.py
// (docs/model.md, "The model in PyTorch"). tfjs dense weights are [in, out]
// (y = x W); torch.nn.Linear stores [out, in] (y = x W^T + b), so every matrix of
// a linear layer is transposed. Names follow the Python modules:
//
//   <p>.gamma / <p>.beta            -> <p>.weight / <p>.bias            (nn.LayerNorm)
//   <p>.wq | wk | wv  [in, inner]   -> <p>.to_q | to_k | to_v.weight    [inner, in]
//   <p>.wo [inner, d], <p>.bo       -> <p>.to_out.weight [d, inner], <p>.to_out.bias
//   <p>.w1, b1, w2, b2 (GEGLU)      -> <p>.fc1.weight^T, fc1.bias, fc2.weight^T, fc2.bias
//   pool.query [d, 1]               -> pool.query [d]
//   head.w [d, C], head.b           -> head.fc.weight [C, d], head.fc.bias
//   latents, channel_embed          -> unchanged (tables, not linear layers)

/** The Python module, shipped next to this package's sources (copied into every export). */
export const TORCH_MODULE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'python', 'atomizer_model.py');

/** config.json 'format' of an export; atomizer_model.load() checks it. */
export const TORCH_EXPORT_FORMAT = 'atomizer-torch/1';

interface Rename {
  name: string;
  transpose: boolean;
  /** Shape replacing the TypeScript one (before any transpose), for a squeeze. */
  shape?: number[];
}

const SUFFIXES: ReadonlyArray<[string, string, boolean]> = [
  ['.gamma', '.weight', false],
  ['.beta', '.bias', false],
  ['.wq', '.to_q.weight', true],
  ['.wk', '.to_k.weight', true],
  ['.wv', '.to_v.weight', true],
  ['.wo', '.to_out.weight', true],
  ['.bo', '.to_out.bias', false],
  ['.w1', '.fc1.weight', true],
  ['.b1', '.fc1.bias', false],
  ['.w2', '.fc2.weight', true],
  ['.b2', '.fc2.bias', false],
];

/** The PyTorch name and layout of one TypeScript parameter; unknown names throw. */
export function torchName(name: string, shape: readonly number[]): Rename {
  if (name === 'latents' || name === 'channel_embed') return { name, transpose: false };
  if (name === 'pool.query') return { name, transpose: false, shape: [shape[0] as number] };
  if (name === 'head.w') return { name: 'head.fc.weight', transpose: true };
  if (name === 'head.b') return { name: 'head.fc.bias', transpose: false };
  for (const [from, to, transpose] of SUFFIXES) {
    if (name.endsWith(from)) return { name: name.slice(0, -from.length) + to, transpose };
  }
  throw new Error(`Model parameter '${name}' has no PyTorch name (torch-state-dict.ts): add it to the table when adding a parameter`);
}

/** Transpose of a row-major [rows, cols] matrix. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  return out;
}

/** The flat weights of `cfg` as a PyTorch state_dict (F32 tensors, torch names and layouts). */
export function torchStateDict(cfg: ModelConfig, weights: Float32Array): TensorTable {
  const table = paramTableOf(cfg);
  if (weights.length !== table.size)
    throw new Error(`torchStateDict: ${weights.length} weights, expected ${table.size} for this model config`);
  const views = table.views(weights);
  const out: TensorTable = {};
  for (const e of table.entries) {
    const r = torchName(e.name, e.shape);
    const data = views[e.name] as Float32Array;
    let shape = r.shape ?? [...e.shape];
    let values: Float32Array<ArrayBuffer> = Float32Array.from(data);
    if (r.transpose) {
      const [rows, cols] = e.shape as [number, number];
      values = transpose2d(data, rows, cols);
      shape = [cols, rows];
    }
    if (r.name in out) throw new Error(`torchStateDict: two parameters map to '${r.name}'`);
    out[r.name] = { dtype: 'F32', shape, data: values };
  }
  return out;
}

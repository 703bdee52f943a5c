import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';

// TensorFlow.js kernels for the 'wasm' backend that run natively (OpenBLAS and
// plain C through the N-API addon) on the operands in place on the wasm heap.
//
// Each kernel handles the float32 cases it was written for and hands anything
// else (other dtypes, shapes it does not cover) to the stock wasm kernel it
// replaced, so a model never sees a missing case. The heap view is fetched
// after the output is allocated: makeOutput can grow the wasm memory, which
// replaces its ArrayBuffer.

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** The kernels this module replaces, in the order the profile asked for them. */
export const NATIVE_KERNELS = [
  'BatchMatMul',
  'Transpose',
  'Sum',
  'Mean',
  'Max',
  'Min',
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'SquaredDifference',
  'Maximum',
  'Minimum',
  'Identity',
  'Exp',
  'Erf',
] as const;
export type NativeKernelName = (typeof NATIVE_KERNELS)[number];

/**
 * Fused kernels with no stock counterpart, registered for 'wasm' under these names
 * for callers that check tf.getKernel(name, 'wasm') (the model's LayerNorm and GEGLU do):
 * AtomizerLayerNorm {x, gamma, beta} (attr epsilon) -> [y, xhat, r] with r of shape
 * [..., 1]; AtomizerLayerNormGrad {dy, xhat, r, gamma} -> [dx, dgamma, dbeta];
 * AtomizerGegluGate {x [..., 2H] (a product without its bias), bias [2H]} -> [y, cdf]
 * ([..., H] each: y = a gelu(g) of [a | g] = x + bias, cdf = Phi(g));
 * AtomizerGegluGateGrad {dy, x, bias, cdf} -> [dx, dbias].
 */
export const FUSED_KERNELS = ['AtomizerLayerNorm', 'AtomizerLayerNormGrad', 'AtomizerGegluGate', 'AtomizerGegluGateGrad'] as const;
export type FusedKernelName = (typeof FUSED_KERNELS)[number];

const BINARY_OPS: Partial<Record<NativeKernelName, number>> = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  SquaredDifference: 4,
  Maximum: 5,
  Minimum: 6,
};
const REDUCE_OPS: Partial<Record<NativeKernelName, number>> = { Sum: 0, Mean: 1, Max: 2, Min: 3 };
const UNARY_OPS: Partial<Record<NativeKernelName, number>> = { Exp: 0, Erf: 1 };

function offsetOf(backend: BackendWasm, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('wasm-native: tensor data is not on the wasm backend');
  return data.memoryOffset;
}

/** The wasm memory as bytes, current after any growth (emscripten replaces HEAPU8 when the memory grows). */
function heapOf(backend: BackendWasm): Uint8Array {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
}

function size(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** Row-major strides (in elements). */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i] as number;
  }
  return s;
}

// ---- BatchMatMul: OpenBLAS sgemm, transposes as sgemm flags, broadcast batch -----------------

function batchMatMul(addon: NativeAddon, stock: Kernel, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const a = args.inputs['a'] as tf.TensorInfo;
  const b = args.inputs['b'] as tf.TensorInfo;
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return stock(args);
  const a1 = a.shape[ra - 2] as number;
  const a2 = a.shape[ra - 1] as number;
  const b1 = b.shape[rb - 2] as number;
  const b2 = b.shape[rb - 1] as number;
  const m = transposeA ? a2 : a1;
  const k = transposeA ? a1 : a2;
  const n = transposeB ? b1 : b2;
  if ((transposeB ? b2 : b1) !== k) return stock(args); // the stock kernel reports the mismatch
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batchOut = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput([...batchOut, m, n], 'float32');
  const batch = size(batchOut);
  if (batch === 0 || m === 0 || n === 0) return out;
  const heap = heapOf(backend);
  const aOff = offsetOf(backend, a);
  const bOff = offsetOf(backend, b);
  const cOff = offsetOf(backend, out);
  const sizeA = size(batchA);
  const sizeB = size(batchB);
  if ((sizeA === batch || sizeA === 1) && (sizeB === batch || sizeB === 1)) {
    // Each side is either the whole output batch (same layout) or one matrix broadcast to all.
    addon.gemm(heap, aOff, bOff, cOff, batch, sizeA === 1 ? 0 : m * k, sizeB === 1 ? 0 : k * n, m, n, k, transposeA, transposeB);
    return out;
  }
  // General broadcasting (e.g. [2,1] x [1,3] batches): one product per output batch index.
  const rank = batchOut.length;
  const pa = [...new Array<number>(rank - batchA.length).fill(1), ...batchA];
  const pb = [...new Array<number>(rank - batchB.length).fill(1), ...batchB];
  const sa = stridesOf(pa);
  const sb = stridesOf(pb);
  const so = stridesOf(batchOut);
  for (let i = 0; i < batch; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      const idx = Math.floor(i / (so[d] as number)) % (batchOut[d] as number);
      if ((pa[d] as number) !== 1) ia += idx * (sa[d] as number);
      if ((pb[d] as number) !== 1) ib += idx * (sb[d] as number);
    }
    addon.gemm(heap, aOff + 4 * ia * m * k, bOff + 4 * ib * k * n, cOff + 4 * i * m * n, 1, 0, 0, m, n, k, transposeA, transposeB);
  }
  return out;
}

// ---- Transpose: blocked 2-D/batched transposes and row permutations -------------------------

/** Drops size-1 axes and merges axes that stay adjacent under `perm`; returns the input shape and perm of the collapsed problem. */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const keep = perm.filter((p) => (shape[p] as number) !== 1);
  // Renumber the kept input axes 0..r-1 in input order.
  const sortedKept = [...keep].sort((x, y) => x - y);
  const rename = new Map(sortedKept.map((p, i) => [p, i]));
  const p1 = keep.map((p) => rename.get(p) as number);
  const s1 = sortedKept.map((p) => shape[p] as number);
  // Merge runs of consecutive input axes that stay consecutive in the output.
  const groups: number[][] = [];
  for (const p of p1) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1] === p - 1) last.push(p);
    else groups.push([p]);
  }
  const byInput = [...groups].sort((x, y) => (x[0] as number) - (y[0] as number));
  const newShape = byInput.map((g) => g.reduce((acc, p) => acc * (s1[p] as number), 1));
  const perm2 = groups.map((g) => byInput.indexOf(g));
  return { shape: newShape, perm: perm2 };
}

function transpose(addon: NativeAddon, stock: Kernel, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs['x'] as tf.TensorInfo;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return stock(args);
  const perm = (args.attrs as unknown as { perm: number[] }).perm;
  const outShape = perm.map((p) => x.shape[p] as number);
  const { shape, perm: p } = collapsePermutation(x.shape, perm);
  const r = shape.length;
  const fast = r <= 1 || (r === 2 && p[0] === 1) || (r === 3 && p[0] === 0 && p[1] === 2) || p[r - 1] === r - 1;
  if (!fast || r > 7) return stock(args);
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(outShape, x.dtype);
  const n = size(outShape);
  if (n === 0) return out;
  const heap = heapOf(backend);
  const xOff = offsetOf(backend, x);
  const yOff = offsetOf(backend, out);
  if (r <= 1) heap.copyWithin(yOff, xOff, xOff + 4 * n);
  else if (r === 2) addon.transpose(heap, xOff, yOff, 1, shape[0] as number, shape[1] as number);
  else if (r === 3 && p[0] === 0 && p[1] === 2)
    addon.transpose(heap, xOff, yOff, shape[0] as number, shape[1] as number, shape[2] as number);
  else {
    // The last axis stays last: copy contiguous rows in output order.
    const strides = stridesOf(shape);
    const outer = p.slice(0, -1);
    addon.permuteRows(
      heap,
      xOff,
      yOff,
      shape[r - 1] as number,
      outer.length,
      ...outer.map((q) => shape[q] as number),
      ...outer.map((q) => strides[q] as number),
    );
  }
  return out;
}

// ---- Reductions over one contiguous block of axes: [outer, red, inner] -----------------------

/** outer/red/inner sizes when the reduced axes (ignoring size-1 axes) form one contiguous block, else null. */
export function reductionBlock(shape: readonly number[], axes: readonly number[]): { outer: number; red: number; inner: number } | null {
  const reduced = new Set(axes);
  let outer = 1;
  let red = 1;
  let inner = 1;
  let phase = 0; // 0 before the block, 1 inside, 2 after
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d] as number;
    if (s === 1) continue;
    if (reduced.has(d)) {
      if (phase === 2) return null;
      phase = 1;
      red *= s;
    } else if (phase === 0) outer *= s;
    else {
      phase = 2;
      inner *= s;
    }
  }
  return { outer, red, inner };
}

function reduction(op: number, addon: NativeAddon, stock: Kernel, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs['x'] as tf.TensorInfo;
  if (x.dtype !== 'float32' || size(x.shape) === 0) return stock(args);
  // Max names its axes `reductionIndices`; Sum, Mean and Min name them `axis`.
  const attrs = args.attrs as unknown as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
  const keepDims = attrs.keepDims;
  const axes = tf.util.parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape);
  const block = reductionBlock(x.shape, axes);
  if (block === null) return stock(args);
  let [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
  if (keepDims) outShape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(outShape, 'float32');
  addon.reduce(heapOf(backend), offsetOf(backend, x), offsetOf(backend, out), block.outer, block.red, block.inner, op);
  return out;
}

// ---- Broadcasting binary elementwise ops ------------------------------------------------------

/**
 * Collapses a broadcast of `a` and `b` to `out` into at most 4 dims: [d0..d3] of the
 * dense output with a's and b's element strides (0 where broadcast). Null when it needs more.
 */
export function broadcastPlan(
  aShape: readonly number[],
  bShape: readonly number[],
  outShape: readonly number[],
): { dims: number[]; aStrides: number[]; bStrides: number[] } | null {
  const r = outShape.length;
  const pa = [...new Array<number>(r - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(r - bShape.length).fill(1), ...bShape];
  const dims: number[] = [];
  const aFull: boolean[] = [];
  const bFull: boolean[] = [];
  for (let d = 0; d < r; d++) {
    const o = outShape[d] as number;
    if (o === 1) continue;
    const af = pa[d] !== 1;
    const bf = pb[d] !== 1;
    const last = dims.length - 1;
    if (last >= 0 && aFull[last] === af && bFull[last] === bf) dims[last] = (dims[last] as number) * o;
    else {
      dims.push(o);
      aFull.push(af);
      bFull.push(bf);
    }
  }
  if (dims.length > 4) return null;
  const strides = (full: boolean[]): number[] => {
    const s = new Array<number>(dims.length).fill(0);
    let acc = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      if (full[i]) {
        s[i] = acc;
        acc *= dims[i] as number;
      }
    }
    return s;
  };
  const as = strides(aFull);
  const bs = strides(bFull);
  while (dims.length < 4) {
    dims.unshift(1);
    as.unshift(0);
    bs.unshift(0);
  }
  return { dims, aStrides: as, bStrides: bs };
}

function binary(op: number, addon: NativeAddon, stock: Kernel, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const a = args.inputs['a'] as tf.TensorInfo;
  const b = args.inputs['b'] as tf.TensorInfo;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const plan = broadcastPlan(a.shape, b.shape, outShape);
  if (plan === null) return stock(args);
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(outShape, 'float32');
  if (size(outShape) === 0) return out;
  addon.binary(
    heapOf(backend),
    op,
    offsetOf(backend, a),
    offsetOf(backend, b),
    offsetOf(backend, out),
    ...plan.dims,
    ...plan.aStrides,
    ...plan.bStrides,
  );
  return out;
}

// ---- Unary elementwise ops (libm expf/erff) --------------------------------------------------

function unary(op: number, addon: NativeAddon, stock: Kernel, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs['x'] as tf.TensorInfo;
  if (x.dtype !== 'float32') return stock(args);
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(x.shape, 'float32');
  const n = size(x.shape);
  if (n > 0) addon.unary(heapOf(backend), op, offsetOf(backend, x), offsetOf(backend, out), n);
  return out;
}

// ---- Identity without a copy ------------------------------------------------------------------

/** Shares the input's memory (reference-counted, as Reshape does) instead of copying it. */
function identity(stock: Kernel, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs['x'] as tf.TensorInfo;
  if (x.dtype === 'string') return stock(args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

// ---- Fused LayerNorm over the last axis (forward and backward) --------------------------------

const epsBits = new Uint32Array(new Float32Array([0]).buffer);
function bitsOf(eps: number): number {
  new Float32Array(epsBits.buffer)[0] = eps;
  return epsBits[0] as number;
}

function layerNormKernel(addon: NativeAddon, args: KernelArgs): tf.TensorInfo[] {
  const x = args.inputs['x'] as tf.TensorInfo;
  const gamma = args.inputs['gamma'] as tf.TensorInfo;
  const beta = args.inputs['beta'] as tf.TensorInfo;
  const eps = (args.attrs as unknown as { epsilon: number }).epsilon;
  const cols = x.shape[x.shape.length - 1] ?? 0;
  if (
    x.dtype !== 'float32' ||
    gamma.dtype !== 'float32' ||
    beta.dtype !== 'float32' ||
    x.shape.length < 1 ||
    cols < 1 ||
    size(gamma.shape) !== cols ||
    size(beta.shape) !== cols
  ) {
    throw new Error(
      `AtomizerLayerNorm: float32 x [..., C] with gamma and beta of C elements expected; got x [${x.shape}] ${x.dtype}, gamma [${gamma.shape}], beta [${beta.shape}]`,
    );
  }
  const backend = args.backend as BackendWasm;
  const y = backend.makeOutput(x.shape, 'float32');
  const xhat = backend.makeOutput(x.shape, 'float32');
  const r = backend.makeOutput([...x.shape.slice(0, -1), 1], 'float32');
  const rows = size(x.shape) / cols;
  addon.layerNorm(
    heapOf(backend),
    offsetOf(backend, x),
    offsetOf(backend, gamma),
    offsetOf(backend, beta),
    offsetOf(backend, y),
    offsetOf(backend, xhat),
    offsetOf(backend, r),
    rows,
    cols,
    bitsOf(eps),
  );
  return [y, xhat, r];
}

function layerNormGradKernel(addon: NativeAddon, args: KernelArgs): tf.TensorInfo[] {
  const dy = args.inputs['dy'] as tf.TensorInfo;
  const xhat = args.inputs['xhat'] as tf.TensorInfo;
  const r = args.inputs['r'] as tf.TensorInfo;
  const gamma = args.inputs['gamma'] as tf.TensorInfo;
  const cols = dy.shape[dy.shape.length - 1] ?? 0;
  const rows = cols > 0 ? size(dy.shape) / cols : 0;
  if (!tf.util.arraysEqual(dy.shape, xhat.shape) || size(r.shape) !== rows || size(gamma.shape) !== cols || cols < 1) {
    throw new Error(
      `AtomizerLayerNormGrad: dy and xhat [..., C], r of the rows, gamma of C expected; got dy [${dy.shape}], xhat [${xhat.shape}], r [${r.shape}], gamma [${gamma.shape}]`,
    );
  }
  const backend = args.backend as BackendWasm;
  const dx = backend.makeOutput(dy.shape, 'float32');
  const dg = backend.makeOutput([cols], 'float32');
  const db = backend.makeOutput([cols], 'float32');
  addon.layerNormGrad(
    heapOf(backend),
    offsetOf(backend, dy),
    offsetOf(backend, xhat),
    offsetOf(backend, r),
    offsetOf(backend, gamma),
    offsetOf(backend, dx),
    offsetOf(backend, dg),
    offsetOf(backend, db),
    rows,
    cols,
  );
  return [dx, dg, db];
}

// ---- Fused GEGLU gate with the bias of its product (forward and backward) -------------------

function gegluShape(who: string, x: tf.TensorInfo, bias: tf.TensorInfo): { rows: number; half: number } {
  const w = x.shape[x.shape.length - 1] ?? 0;
  if (x.dtype !== 'float32' || bias.dtype !== 'float32' || x.shape.length < 1 || w < 2 || w % 2 !== 0 || size(bias.shape) !== w) {
    throw new Error(`${who}: float32 x [..., 2H] and bias of 2H elements expected; got x [${x.shape}] ${x.dtype}, bias [${bias.shape}]`);
  }
  return { rows: size(x.shape) / w, half: w / 2 };
}

function gegluGateKernel(addon: NativeAddon, args: KernelArgs): tf.TensorInfo[] {
  const x = args.inputs['x'] as tf.TensorInfo;
  const bias = args.inputs['bias'] as tf.TensorInfo;
  const { rows, half } = gegluShape('AtomizerGegluGate', x, bias);
  const backend = args.backend as BackendWasm;
  const outShape = [...x.shape.slice(0, -1), half];
  const y = backend.makeOutput(outShape, 'float32');
  const cdf = backend.makeOutput(outShape, 'float32');
  addon.gegluGate(heapOf(backend), offsetOf(backend, x), offsetOf(backend, bias), offsetOf(backend, y), offsetOf(backend, cdf), rows, half);
  return [y, cdf];
}

function gegluGateGradKernel(addon: NativeAddon, args: KernelArgs): tf.TensorInfo[] {
  const dy = args.inputs['dy'] as tf.TensorInfo;
  const x = args.inputs['x'] as tf.TensorInfo;
  const bias = args.inputs['bias'] as tf.TensorInfo;
  const cdf = args.inputs['cdf'] as tf.TensorInfo;
  const { rows, half } = gegluShape('AtomizerGegluGateGrad', x, bias);
  const outShape = [...x.shape.slice(0, -1), half];
  if (!tf.util.arraysEqual(dy.shape, outShape) || !tf.util.arraysEqual(cdf.shape, outShape)) {
    throw new Error(`AtomizerGegluGateGrad: dy and cdf [${outShape}] expected; got dy [${dy.shape}], cdf [${cdf.shape}]`);
  }
  const backend = args.backend as BackendWasm;
  const dx = backend.makeOutput(x.shape, 'float32');
  const db = backend.makeOutput(bias.shape, 'float32');
  addon.gegluGateGrad(
    heapOf(backend),
    offsetOf(backend, dy),
    offsetOf(backend, x),
    offsetOf(backend, bias),
    offsetOf(backend, cdf),
    offsetOf(backend, dx),
    offsetOf(backend, db),
    rows,
    half,
  );
  return [dx, db];
}

const FUSED: Record<FusedKernelName, (addon: NativeAddon, args: KernelArgs) => tf.TensorInfo[]> = {
  AtomizerLayerNorm: layerNormKernel,
  AtomizerLayerNormGrad: layerNormGradKernel,
  AtomizerGegluGate: gegluGateKernel,
  AtomizerGegluGateGrad: gegluGateGradKernel,
};

function kernelFor(name: NativeKernelName, addon: NativeAddon, stock: Kernel): Kernel {
  const bin = BINARY_OPS[name];
  if (bin !== undefined) return (args) => binary(bin, addon, stock, args);
  const red = REDUCE_OPS[name];
  if (red !== undefined) return (args) => reduction(red, addon, stock, args);
  const un = UNARY_OPS[name];
  if (un !== undefined) return (args) => unary(un, addon, stock, args);
  switch (name) {
    case 'BatchMatMul':
      return (args) => batchMatMul(addon, stock, args);
    case 'Transpose':
      return (args) => transpose(addon, stock, args);
    case 'Identity':
      return (args) => identity(stock, args);
    default:
      throw new Error(`wasm-native: no kernel for ${name}`);
  }
}

export interface InstalledKernels {
  /** Kernel names now served natively on 'wasm' (replaced stock kernels, then fused ones). */
  kernels: (NativeKernelName | FusedKernelName)[];
  /** Calls per kernel since install: served natively, or handed to the stock wasm kernel. */
  counts(): Record<string, { native: number; stock: number }>;
  /** Restores the stock wasm kernels (for A/B runs in one process). */
  uninstall(): void;
}

/**
 * Registers the native kernels for the 'wasm' backend in place of the stock ones
 * (the stock kernel stays the fallback of each). `only` limits the set (benchmarks
 * measure them step by step). Requires @tensorflow/tfjs-backend-wasm to be imported.
 */
export function registerNativeKernels(
  addon: NativeAddon,
  only: readonly (NativeKernelName | FusedKernelName)[] = [...NATIVE_KERNELS, ...FUSED_KERNELS],
): InstalledKernels {
  const stock = new Map<NativeKernelName, tf.KernelConfig>();
  const fused = only.filter((n): n is FusedKernelName => (FUSED_KERNELS as readonly string[]).includes(n));
  for (const name of only.filter((n): n is NativeKernelName => !(FUSED_KERNELS as readonly string[]).includes(n))) {
    const k = tf.getKernel(name, 'wasm');
    if (k === undefined)
      throw new Error(`wasm-native: the wasm kernel ${name} is not registered (import @tensorflow/tfjs-backend-wasm first)`);
    stock.set(name, k);
  }
  const calls = new Map<string, { calls: number; stock: number }>();
  for (const [name, k] of stock) {
    const c = { calls: 0, stock: 0 };
    calls.set(name, c);
    const stockFn = k.kernelFunc as unknown as Kernel;
    const fn = kernelFor(name, addon, (args) => {
      c.stock++;
      return stockFn(args);
    });
    const counted: Kernel = (args) => {
      c.calls++;
      return fn(args);
    };
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: counted as unknown as tf.KernelFunc });
  }
  for (const name of fused) {
    const c = { calls: 0, stock: 0 };
    calls.set(name, c);
    const kernel = FUSED[name];
    const fn = (args: KernelArgs) => kernel(addon, args);
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => {
        c.calls++;
        return fn(args);
      }) as unknown as tf.KernelFunc,
    });
  }
  let active = true;
  return {
    kernels: [...stock.keys(), ...fused],
    counts: () => Object.fromEntries([...calls].map(([n, c]) => [n, { native: c.calls - c.stock, stock: c.stock }])),
    uninstall: () => {
      if (!active) return;
      active = false;
      for (const [name, k] of stock) {
        tf.unregisterKernel(name, 'wasm');
        tf.registerKernel(k);
      }
      for (const name of fused) tf.unregisterKernel(name, 'wasm');
    },
  };
}

import * as tf from '@atomizer/model/tfjs';
import { SeededRng } from '@atomizer/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon, type NativeAddon } from './addon.js';
import { broadcastPlan, collapsePermutation, reductionBlock, registerNativeKernels, type NativeKernelName } from './kernels.js';
import { useWasmBackend } from './testing/wasm-backend.js';

// Every native kernel against the stock wasm kernel it replaces, on random
// shapes (broadcasting, transposes, size-1 dims, empty batches): the same
// function is run with the native kernel registered, then with the stock one.
// Where the addon cannot be built (no compiler or OpenBLAS) this file checks
// the absence is allowed instead; CI sets ATOMIZER_NATIVE_REQUIRED=1 where it
// installed OpenBLAS, so a broken build fails there.

const load = loadAddon({});
const rng = new SeededRng(7);

function randomTensor(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(-1, 1);
  return tf.tensor(v, shape, 'float32');
}

function dim(lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** Runs `f` with the native `kernel`, then with the stock one; same shape and values within `tol` (relative to the largest value). */
function compare(
  addon: NativeAddon,
  kernel: NativeKernelName,
  f: () => tf.Tensor,
  label: string,
  opts: { tol?: number; native?: boolean; reference?: () => tf.Tensor } = {},
): void {
  const h = registerNativeKernels(addon, [kernel]);
  let nat: { shape: number[]; values: Float32Array | Int32Array | Uint8Array };
  try {
    nat = tf.tidy(() => {
      const t = f();
      return { shape: t.shape, values: t.dataSync().slice() };
    });
  } finally {
    h.uninstall();
  }
  const ref = tf.tidy(() => {
    const t = (opts.reference ?? f)();
    return { shape: t.shape, values: t.dataSync().slice() };
  });
  expect(nat.shape, label).toEqual(ref.shape);
  let scale = 1;
  for (const v of ref.values) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < ref.values.length; i++) worst = Math.max(worst, Math.abs((nat.values[i] as number) - (ref.values[i] as number)));
  expect(worst / scale, `${label}: max difference ${worst}`).toBeLessThanOrEqual(opts.tol ?? 2e-6);
  const c = h.counts()[kernel];
  if (opts.native ?? true) expect(c?.native, `${label}: served natively`).toBeGreaterThan(0);
  else expect(c?.native, `${label}: handed to the stock kernel`).toBe(0);
}

describe('shape planning', () => {
  it('collapses permutations: drops size-1 axes, merges axes that stay adjacent', () => {
    expect(collapsePermutation([2, 3, 4], [0, 2, 1])).toEqual({ shape: [2, 3, 4], perm: [0, 2, 1] });
    expect(collapsePermutation([8, 5, 4, 16], [0, 2, 3, 1])).toEqual({ shape: [8, 5, 64], perm: [0, 2, 1] });
    expect(collapsePermutation([8, 5, 4, 16], [0, 2, 1, 3])).toEqual({ shape: [8, 5, 4, 16], perm: [0, 2, 1, 3] });
    expect(collapsePermutation([1, 5, 1, 7], [3, 2, 1, 0])).toEqual({ shape: [5, 7], perm: [1, 0] });
    expect(collapsePermutation([5, 7], [0, 1])).toEqual({ shape: [35], perm: [0] });
  });
  it('finds the [outer, red, inner] block of a reduction, or null for split axes', () => {
    expect(reductionBlock([8, 1024, 84], [0, 1])).toEqual({ outer: 1, red: 8192, inner: 84 });
    expect(reductionBlock([8, 1, 84], [2])).toEqual({ outer: 8, red: 84, inner: 1 });
    expect(reductionBlock([2, 3, 4], [0, 2])).toBeNull();
    expect(reductionBlock([2, 1, 4], [0, 1])).toEqual({ outer: 1, red: 2, inner: 4 });
  });
  it('collapses broadcasts to at most 4 dims with stride 0 where broadcast', () => {
    expect(broadcastPlan([8, 1024, 84], [84], [8, 1024, 84])).toEqual({
      dims: [1, 1, 8192, 84],
      aStrides: [0, 0, 84, 1],
      bStrides: [0, 0, 0, 1],
    });
    expect(broadcastPlan([8, 32, 1], [8, 32, 64], [8, 32, 64])).toEqual({
      dims: [1, 1, 256, 64],
      aStrides: [0, 0, 1, 0],
      bStrides: [0, 0, 64, 1],
    });
    expect(broadcastPlan([], [3, 4], [3, 4])).toEqual({ dims: [1, 1, 1, 12], aStrides: [0, 0, 0, 0], bStrides: [0, 0, 0, 1] });
    expect(broadcastPlan([2, 1, 2, 1, 2], [1, 2, 1, 2, 1], [2, 2, 2, 2, 2])).toBeNull();
  });
});

// The addon's suites run only where it loads; elsewhere they show as skipped, with the reason.
const addon = (load.ok ? load.addon : undefined) as NativeAddon;
const skipReason = load.ok ? '' : ` (skipped: ${load.reason})`;
describe.runIf(load.ok)(`native kernels vs the stock wasm kernels${skipReason}`, () => {
  beforeAll(useWasmBackend);

  it('BatchMatMul: transposes, batch broadcasting, size-1 dims, empty batches', () => {
    const cases: Array<[number[], number[]]> = [];
    for (let i = 0; i < 24; i++) {
      const m = dim(1, 40);
      const k = dim(1, 40);
      const n = dim(1, 40);
      const shapes: Array<[number[], number[]]> = [
        [[], []],
        [[3], [3]],
        [[1], [4]],
        [[4], [1]],
        [
          [2, 1],
          [1, 3],
        ],
        [[5], []],
        [[], [2, 3]],
      ];
      const [ba, bb] = shapes[i % shapes.length] as [number[], number[]];
      cases.push([
        [...ba, m, k],
        [...bb, k, n],
      ]);
    }
    cases.push([
      [0, 4, 5],
      [0, 5, 6],
    ]); // empty batch
    cases.push([
      [1, 1],
      [1, 1],
    ]);
    cases.push([
      [300, 70],
      [70, 130],
    ]);
    for (const [sa, sb] of cases) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const ra = sa.length;
          const rb = sb.length;
          const shapeA = ta ? [...sa.slice(0, -2), sa[ra - 1] as number, sa[ra - 2] as number] : sa;
          const shapeB = tb ? [...sb.slice(0, -2), sb[rb - 1] as number, sb[rb - 2] as number] : sb;
          const a = randomTensor(shapeA);
          const b = randomTensor(shapeB);
          // The stock kernel multiplies a [2,1] batch by a [1,3] one wrongly (it only broadcasts a
          // whole side of batch 1): the reference of that case is the stock product of the inputs
          // broadcast explicitly.
          const batch = tf.backend_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
          const reference = () =>
            tf.matMul(tf.broadcastTo(a, [...batch, ...shapeA.slice(-2)]), tf.broadcastTo(b, [...batch, ...shapeB.slice(-2)]), ta, tb);
          compare(addon, 'BatchMatMul', () => tf.matMul(a, b, ta, tb), `[${shapeA}]${ta ? 'T' : ''} x [${shapeB}]${tb ? 'T' : ''}`, {
            reference,
          });
          a.dispose();
          b.dispose();
        }
      }
    }
  });

  it('BatchMatMul hands int32 to the stock kernel (which refuses it)', () => {
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const h = registerNativeKernels(addon, ['BatchMatMul']);
    try {
      expect(() => tf.matMul(a, a)).toThrow(/non-float32/);
      expect(h.counts()['BatchMatMul']).toEqual({ native: 0, stock: 1 });
    } finally {
      h.uninstall();
      a.dispose();
    }
  });

  it('Transpose: random permutations with size-1 dims, float32 and int32', () => {
    for (let i = 0; i < 40; i++) {
      const rank = dim(1, 5);
      const shape = Array.from({ length: rank }, () => (rng.next() < 0.2 ? 1 : dim(2, 9)));
      const perm = Array.from({ length: rank }, (_, j) => j);
      for (let j = rank - 1; j > 0; j--) {
        const r = rng.int(j + 1);
        [perm[j], perm[r]] = [perm[r] as number, perm[j] as number];
      }
      const x = randomTensor(shape);
      const { shape: cs, perm: cp } = collapsePermutation(shape, perm);
      const r = cs.length;
      const fast = r <= 1 || (r === 2 && cp[0] === 1) || (r === 3 && cp[0] === 0 && cp[1] === 2) || cp[r - 1] === r - 1;
      // runKernel: the transpose op returns a clone for rank 1 without calling the kernel.
      compare(addon, 'Transpose', () => tf.engine().runKernel('Transpose', { x }, { perm }) as tf.Tensor, `[${shape}] perm ${perm}`, {
        tol: 0,
        native: fast,
      });
      x.dispose();
    }
    const big = randomTensor([1024, 84]);
    compare(addon, 'Transpose', () => tf.transpose(big), '[1024,84]', { tol: 0 });
    compare(addon, 'Transpose', () => tf.transpose(tf.reshape(big, [8, 128, 84]), [0, 2, 1]), '[8,128,84] perm 0,2,1', { tol: 0 });
    const ints = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], 'int32');
    compare(addon, 'Transpose', () => tf.transpose(ints, [2, 1, 0]), 'int32 [2,2,2] perm 2,1,0', { tol: 0, native: false });
    compare(addon, 'Transpose', () => tf.transpose(ints, [2, 0, 1]), 'int32 [2,2,2] perm 2,0,1', { tol: 0 });
    compare(addon, 'Transpose', () => tf.transpose(ints, [0, 2, 1]), 'int32 [2,2,2] perm 0,2,1', { tol: 0 });
    big.dispose();
    ints.dispose();
  });

  it('Sum, Mean, Max, Min: contiguous axes natively, split axes by the stock kernel, keepDims', () => {
    for (const op of ['Sum', 'Mean', 'Max', 'Min'] as const) {
      const fn = { Sum: tf.sum, Mean: tf.mean, Max: tf.max, Min: tf.min }[op];
      for (let i = 0; i < 16; i++) {
        const rank = dim(1, 4);
        const shape = Array.from({ length: rank }, () => (rng.next() < 0.2 ? 1 : dim(2, 40)));
        const lo = rng.int(rank);
        const hi = lo + rng.int(rank - lo);
        const axes = Array.from({ length: hi - lo + 1 }, (_, j) => lo + j);
        const keepDims = rng.next() < 0.5;
        const x = randomTensor(shape);
        compare(addon, op, () => fn(x, axes, keepDims), `${op} [${shape}] axes ${axes} keepDims ${keepDims}`, { tol: 1e-5 });
        x.dispose();
      }
      const x = randomTensor([8, 1024, 84]);
      compare(addon, op, () => fn(x, [0, 1]), `${op} [8,1024,84] axes 0,1`, { tol: 1e-5 });
      compare(addon, op, () => fn(x, -1, true), `${op} [8,1024,84] axis -1`, { tol: 1e-5 });
      compare(addon, op, () => fn(x, [0, 2]), `${op} [8,1024,84] axes 0,2`, { tol: 1e-5, native: false });
      compare(addon, op, () => fn(x), `${op} all`, { tol: 1e-5 });
      x.dispose();
    }
    const ints = tf.tensor1d([1, 2, 3], 'int32');
    compare(addon, 'Sum', () => tf.sum(ints), 'int32 sum', { native: false });
    ints.dispose();
  });

  it('binary elementwise ops with broadcasting (scalars, rows, columns, size-1 dims, empty)', () => {
    const ops: Array<[NativeKernelName, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
      ['Add', tf.add],
      ['Sub', tf.sub],
      ['Multiply', tf.mul],
      ['RealDiv', tf.div],
      ['SquaredDifference', tf.squaredDifference],
      ['Maximum', tf.maximum],
      ['Minimum', tf.minimum],
    ];
    for (const [name, fn] of ops) {
      for (let i = 0; i < 12; i++) {
        const rank = dim(1, 4);
        const out = Array.from({ length: rank }, () => dim(1, 12));
        const sa = out.map((d) => (rng.next() < 0.3 ? 1 : d));
        const sb = out.map((d) => (rng.next() < 0.3 ? 1 : d)).slice(rng.int(rank + 1));
        const a = randomTensor(sa);
        const b = randomTensor(sb);
        compare(addon, name, () => fn(a, b), `${name} [${sa}] [${sb}]`, { tol: 1e-6 });
        compare(addon, name, () => fn(b, a), `${name} [${sb}] [${sa}]`, { tol: 1e-6 });
        a.dispose();
        b.dispose();
      }
      // (the stock Maximum/Minimum take ~150 ms on a broadcast [8,1024,84]: a smaller batch)
      const x = randomTensor([4, 256, 84]);
      const row = randomTensor([84]);
      const col = randomTensor([4, 256, 1]);
      const s = tf.scalar(0.5);
      compare(addon, name, () => fn(x, row), `${name} [4,256,84] [84]`, { tol: 1e-6 });
      compare(addon, name, () => fn(x, col), `${name} [4,256,84] [4,256,1]`, { tol: 1e-6 });
      compare(addon, name, () => fn(s, x), `${name} [] [4,256,84]`, { tol: 1e-6 });
      compare(addon, name, () => fn(x, x), `${name} same shape`, { tol: 1e-6 });
      const e = tf.zeros([0, 3]);
      compare(addon, name, () => fn(e, tf.ones([3])), `${name} empty`, { native: true });
      for (const t of [x, row, col, s, e]) t.dispose();
    }
    const ints = tf.tensor1d([1, 2, 3], 'int32');
    compare(addon, 'Add', () => tf.add(ints, ints), 'int32 add', { native: false });
    ints.dispose();
  });

  it('Exp and Erf (float32; int32 to the stock kernel)', () => {
    for (const shape of [[8, 32, 256], [7], [1, 1], [0, 4]]) {
      const x = tf.mul(randomTensor(shape), 4);
      compare(addon, 'Exp', () => tf.exp(x), `exp [${shape}]`, { tol: 1e-6 });
      compare(addon, 'Erf', () => tf.erf(x), `erf [${shape}]`, { tol: 1e-6 });
      x.dispose();
    }
    const ints = tf.tensor1d([0, 1, 2], 'int32');
    compare(addon, 'Exp', () => tf.exp(ints), 'int32 exp', { native: false, tol: 1e-6 });
    ints.dispose();
  });

  it('Identity shares the input memory; the clone outlives its source and nothing leaks', () => {
    const h = registerNativeKernels(addon, ['Identity']);
    try {
      const before = tf.memory();
      const x = tf.tensor1d([1, 2, 3]);
      const y = tf.clone(x);
      x.dispose();
      expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
      y.dispose();
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numBytes).toBe(before.numBytes);
      expect(h.counts()['Identity']?.native).toBe(1);
    } finally {
      h.uninstall();
    }
  });

  it('no tensor or heap block leaks over repeated kernel calls', () => {
    const h = registerNativeKernels(addon);
    try {
      const a = randomTensor([4, 30, 20]);
      const b = randomTensor([20, 10]);
      const run = () =>
        tf.tidy(() => {
          const y = tf.matMul(a, b);
          const z = tf.add(tf.mul(y, tf.sum(y, -1, true)), tf.transpose(tf.max(y, 0)).reshape([1, 10, 30]).transpose([0, 2, 1]));
          return tf.mean(tf.sub(z, tf.clone(z))).dataSync()[0];
        });
      run();
      const before = tf.memory();
      const backendIds = tf.backend().numDataIds();
      for (let i = 0; i < 5; i++) run();
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.backend().numDataIds()).toBe(backendIds);
      a.dispose();
      b.dispose();
    } finally {
      h.uninstall();
    }
  });

  it('AtomizerLayerNorm and AtomizerLayerNormGrad equal a LayerNorm of stock ops and its autograd', () => {
    const h = registerNativeKernels(addon, ['AtomizerLayerNorm', 'AtomizerLayerNormGrad']);
    const eps = 1e-5;
    const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const xc = tf.sub(x, tf.mean(x, -1, true));
      return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps))), g), b);
    };
    const close = (got: tf.Tensor, want: tf.Tensor, label: string) => {
      expect(got.shape, label).toEqual(want.shape);
      const a = got.dataSync();
      const b = want.dataSync();
      let scale = 1;
      for (const v of b) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
      expect(worst / scale, `${label}: max difference ${worst}`).toBeLessThanOrEqual(2e-5);
    };
    try {
      for (const shape of [
        [8, 32, 64],
        [5, 84],
        [1, 7],
        [3, 1],
        [0, 16],
        [2, 3, 4, 5],
      ]) {
        const cols = shape[shape.length - 1] as number;
        tf.tidy(() => {
          const x = tf.add(tf.mul(randomTensor(shape), 3), 0.5);
          const g = randomTensor([cols]);
          const b = randomTensor([cols]);
          const dy = randomTensor(shape);
          const [y, xhat, r] = tf.engine().runKernel('AtomizerLayerNorm', { x, gamma: g, beta: b }, { epsilon: eps }) as tf.Tensor[];
          close(y as tf.Tensor, reference(x, g, b), `y [${shape}]`);
          expect(r?.shape).toEqual([...shape.slice(0, -1), 1]);
          const [dx, dg, db] = tf
            .engine()
            .runKernel('AtomizerLayerNormGrad', { dy, xhat: xhat as tf.Tensor, r: r as tf.Tensor, gamma: g }, {}) as tf.Tensor[];
          const want = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(reference(xi, gi, bi), dy)))([x, g, b]);
          close(dx as tf.Tensor, want[0] as tf.Tensor, `dx [${shape}]`);
          if (shape[0] === 0) {
            // no rows: zero sums (the stock-op reference does not give zeros for an empty axis on wasm here)
            expect(Array.from((dg as tf.Tensor).dataSync())).toEqual(new Array(cols).fill(0));
            expect(Array.from((db as tf.Tensor).dataSync())).toEqual(new Array(cols).fill(0));
          } else {
            close(dg as tf.Tensor, want[1] as tf.Tensor, `dgamma [${shape}]`);
            close(db as tf.Tensor, want[2] as tf.Tensor, `dbeta [${shape}]`);
          }
        });
      }
      const x = tf.ones([2, 4]);
      expect(() => tf.engine().runKernel('AtomizerLayerNorm', { x, gamma: tf.ones([3]), beta: tf.ones([4]) }, { epsilon: eps })).toThrow(
        /AtomizerLayerNorm: float32 x \[\.\.\., C\] with gamma and beta of C elements expected; got x \[2,4\] float32, gamma \[3\], beta \[4\]/,
      );
      x.dispose();
    } finally {
      h.uninstall();
    }
    expect(tf.getKernel('AtomizerLayerNorm', 'wasm')).toBeUndefined();
  });

  it('AtomizerGegluGate and AtomizerGegluGateGrad equal the bias add, split, exact GELU and product of stock ops and their autograd', () => {
    const h = registerNativeKernels(addon, ['AtomizerGegluGate', 'AtomizerGegluGateGrad']);
    const reference = (x: tf.Tensor, b: tf.Tensor) => {
      const [a, g] = tf.split(tf.add(x, b), 2, -1) as [tf.Tensor, tf.Tensor];
      return tf.mul(a, tf.mul(tf.mul(g, 0.5), tf.add(tf.erf(tf.mul(g, Math.SQRT1_2)), 1)));
    };
    const close = (got: tf.Tensor, want: tf.Tensor, label: string) => {
      expect(got.shape, label).toEqual(want.shape);
      const a = got.dataSync();
      const b = want.dataSync();
      let worst = 0;
      for (let i = 0; i < b.length; i++)
        worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)) / Math.max(1, Math.abs(b[i] as number)));
      expect(worst, `${label}: max difference ${worst}`).toBeLessThanOrEqual(2e-5);
    };
    try {
      for (const shape of [
        [8, 32, 64],
        [5, 2],
        [3, 1, 6],
        [0, 16],
        [64, 512],
      ]) {
        const w = shape[shape.length - 1] as number;
        tf.tidy(() => {
          const x = tf.mul(randomTensor(shape), 4);
          const b = randomTensor([w]);
          const dy = randomTensor([...shape.slice(0, -1), w / 2]);
          const [y, cdf] = tf.engine().runKernel('AtomizerGegluGate', { x, bias: b }, {}) as tf.Tensor[];
          close(y as tf.Tensor, reference(x, b), `y [${shape}]`);
          const [dx, db] = tf.engine().runKernel('AtomizerGegluGateGrad', { dy, x, bias: b, cdf: cdf as tf.Tensor }, {}) as tf.Tensor[];
          const want = tf.grads((xi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(reference(xi, bi), dy)))([x, b]);
          close(dx as tf.Tensor, want[0] as tf.Tensor, `dx [${shape}]`);
          if (shape[0] === 0) expect(Array.from((db as tf.Tensor).dataSync())).toEqual(new Array(w).fill(0));
          else close(db as tf.Tensor, want[1] as tf.Tensor, `dbias [${shape}]`);
        });
      }
      tf.tidy(() => {
        expect(() => tf.engine().runKernel('AtomizerGegluGate', { x: tf.ones([2, 3]), bias: tf.ones([3]) }, {})).toThrow(
          /AtomizerGegluGate: float32 x \[\.\.\., 2H\] and bias of 2H elements expected; got x \[2,3\] float32, bias \[3\]/,
        );
        const x = tf.ones([2, 4]);
        const b = tf.ones([4]);
        expect(() => tf.engine().runKernel('AtomizerGegluGateGrad', { dy: tf.ones([2, 3]), x, bias: b, cdf: tf.ones([2, 2]) }, {})).toThrow(
          /AtomizerGegluGateGrad: dy and cdf \[2,2\] expected; got dy \[2,3\], cdf \[2,2\]/,
        );
      });
    } finally {
      h.uninstall();
    }
    expect(tf.getKernel('AtomizerGegluGate', 'wasm')).toBeUndefined();
  });

  it('exp and erf four at a time: the bits of the scalar expf loops (unary ops 2 and 3), over a sweep and the special values', () => {
    const n = 1 << 21;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = -110 + (220 * i) / n;
    x.set([0, -0, Infinity, -Infinity, NaN, 88, -88, 88.72283, 88.72284, -103.97208, -103.97209, 1e-30, -1e-30, 3.4e38, -3.4e38], 0);
    for (let i = 0; i < 4096; i++) x[20 + i] = rng.uniform(-1, 1) * 10 ** rng.int(8);
    const heap = new Uint8Array(3 * 4 * n);
    new Float32Array(heap.buffer, 0, n).set(x);
    const out = (op: number) => {
      addon.unary(heap, op, 0, 4 * n, n);
      return Buffer.from(heap.buffer.slice(4 * n, 8 * n));
    };
    for (const [fast, scalar, name] of [
      [0, 2, 'exp'],
      [1, 3, 'erf'],
    ] as const) {
      const a = out(fast);
      const b = out(scalar);
      expect(a.equals(b), `${name}: four-lane and scalar bits`).toBe(true);
    }
  });

  it('the addon refuses operands outside the heap', () => {
    const heap = new Uint8Array(64);
    expect(() => addon.gemm(heap, 0, 0, 0, 1, 0, 0, 8, 8, 8, false, false)).toThrow(/gemm: a lies outside the heap/);
    expect(() => addon.reduce(heap, 0, 60, 1, 2, 2, 0)).toThrow(/reduce: y lies outside the heap/);
    expect(() => addon.binary(heap, 9, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1)).toThrow(/unknown op/);
  });
});
describe.skipIf(load.ok)('without the addon', () => {
  it('is allowed to be absent unless CI requires it, and says why', () => {
    const reason = load.ok ? '' : load.reason;
    expect(reason.length).toBeGreaterThan(0);
    expect(process.env.ATOMIZER_NATIVE_REQUIRED, `native addon required but unusable: ${reason}`).not.toBe('1');
  });
});

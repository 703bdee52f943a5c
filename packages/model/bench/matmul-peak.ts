import * as tf from '../src/tfjs.js';
import { timed } from './clock.js';

// Single-thread matMul throughput of the active tfjs backend: the ceiling a
// model built from matMuls can reach on it. Also measures the transpose-flag
// variants, which tfjs-backend-wasm 4.22 runs far slower than a plain matMul
// (its XNNPACK path packs the right operand per call and the transposed cases
// fall off the fast path), so the model's linear layers avoid them.

export interface MatMulFigure {
  /** 'plain' = a @ b; 'transposeA' = a^T @ b; 'transposeB' = a @ b^T; 'explicit transpose' = transpose(b) then plain. */
  variant: 'plain' | 'transposeA' | 'transposeB' | 'explicitTransposeB';
  m: number;
  k: number;
  n: number;
  /** Best wall time of one call over the repeats, milliseconds. */
  bestMs: number;
  /** Best CPU time of one call (steadier on a shared machine), milliseconds. */
  bestCpuMs: number;
  /** 2*m*k*n / bestMs. */
  gflops: number;
  /** 2*m*k*n / bestCpuMs. */
  gflopsCpu: number;
}

function timeCalls(fn: () => tf.Tensor, calls: number): { wallMs: number; cpuMs: number } {
  const e = timed(() => {
    for (let i = 0; i < calls; i++) {
      const out = fn();
      // dataSync forces completion on async backends; the wasm backend is synchronous anyway.
      out.dataSync();
      out.dispose();
    }
  });
  return { wallMs: e.wallMs / calls, cpuMs: e.cpuMs / calls };
}

/** Times a [m,k] x [k,n] matMul in one variant on the active backend. */
export function measureMatMul(
  variant: MatMulFigure['variant'],
  m: number,
  k: number,
  n: number,
  opts: { calls?: number; repeats?: number } = {},
): MatMulFigure {
  const calls = opts.calls ?? 5;
  const repeats = opts.repeats ?? 5;
  const a = variant === 'transposeA' ? tf.randomNormal([k, m]) : tf.randomNormal([m, k]);
  const b = variant === 'transposeB' || variant === 'explicitTransposeB' ? tf.randomNormal([n, k]) : tf.randomNormal([k, n]);
  const fn = (): tf.Tensor => {
    switch (variant) {
      case 'plain':
        return tf.matMul(a, b);
      case 'transposeA':
        return tf.matMul(a, b, true, false);
      case 'transposeB':
        return tf.matMul(a, b, false, true);
      case 'explicitTransposeB':
        return tf.tidy(() => tf.matMul(a, tf.transpose(b)));
    }
  };
  timeCalls(fn, 2); // warm-up: kernel compile, heap growth
  const times: { wallMs: number; cpuMs: number }[] = [];
  for (let r = 0; r < repeats; r++) times.push(timeCalls(fn, calls));
  a.dispose();
  b.dispose();
  const bestMs = Math.min(...times.map((t) => t.wallMs));
  const bestCpuMs = Math.min(...times.map((t) => t.cpuMs));
  const flops = 2 * m * k * n;
  return { variant, m, k, n, bestMs, bestCpuMs, gflops: flops / (bestMs * 1e6), gflopsCpu: flops / (bestCpuMs * 1e6) };
}

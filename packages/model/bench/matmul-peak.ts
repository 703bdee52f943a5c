import * as tf from '@tensorflow/tfjs';

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
  /** Best time of one call over the repeats, milliseconds. */
  bestMs: number;
  /** Median time of one call, milliseconds. */
  medianMs: number;
  /** 2*m*k*n / bestMs. */
  gflops: number;
}

function timeCalls(fn: () => tf.Tensor, calls: number): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const out = fn();
    // dataSync forces completion on async backends; the wasm backend is synchronous anyway.
    out.dataSync();
    out.dispose();
  }
  return (performance.now() - t0) / calls;
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
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push(timeCalls(fn, calls));
  a.dispose();
  b.dispose();
  times.sort((x, y) => x - y);
  const bestMs = times[0] ?? Number.NaN;
  const medianMs = times[Math.floor(times.length / 2)] ?? Number.NaN;
  return { variant, m, k, n, bestMs, medianMs, gflops: (2 * m * k * n) / (bestMs * 1e6) };
}

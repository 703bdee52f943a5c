import * as tf from './tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { bceWithLogits, classificationLoss, labelsToTargetArray, labelsToTargets, softmaxCrossEntropy } from './losses.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Central finite differences of a scalar function of a [r, c] input, in float32 through tf. */
function finiteDiff(f: (x: tf.Tensor2D) => tf.Scalar, x0: number[][], eps = 1e-2): number[] {
  const flat = x0.flat();
  const shape: [number, number] = [x0.length, (x0[0] ?? []).length];
  return flat.map((_, i) => {
    const at = (delta: number): number =>
      tf.tidy(() => {
        const xs = flat.slice();
        xs[i] = (xs[i] as number) + delta;
        return f(tf.tensor2d(xs, shape)).dataSync()[0] as number;
      });
    return (at(eps) - at(-eps)) / (2 * eps);
  });
}

describe('bceWithLogits', () => {
  it('is log 2 at logit 0 whatever the target', () => {
    const loss = tf.tidy(() => bceWithLogits(tf.tensor2d([[0, 0, 0]]), tf.tensor2d([[1, 0, 0.5]])).dataSync()[0]);
    expect(loss).toBeCloseTo(Math.LN2, 6);
  });

  it('matches hand-computed values, including saturated logits without overflow', () => {
    // Entries: (x=2,t=1): log(1+e^-2) = 0.12692801; (x=-1,t=0): log(1+e^-1) = 0.31326169;
    // (x=100,t=0): 100 (+ log1p(e^-100) ~ 4e-44); (x=-100,t=1): max(-100,0) + 100 + ~0 = 100.
    // Mean over 4 entries = (0.12692801 + 0.31326169 + 200) / 4 = 50.11004743.
    const loss = tf.tidy(
      () =>
        bceWithLogits(
          tf.tensor2d([
            [2, -1],
            [100, -100],
          ]),
          tf.tensor2d([
            [1, 0],
            [0, 1],
          ]),
        ).dataSync()[0],
    );
    expect(loss).toBeCloseTo(50.11004743, 4);
    expect(Number.isFinite(loss)).toBe(true);
  });

  it('has gradient (sigmoid(x) - t) / (B*C), exact at logit 0, and agrees with finite differences', () => {
    const x0 = [
      [0, 1.5, -2],
      [0.3, -0.7, 4],
    ];
    const t0 = [
      [1, 0, 1],
      [0, 0.25, 1],
    ];
    const targets = tf.tensor2d(t0);
    const g = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => bceWithLogits(x as tf.Tensor2D, targets))(tf.tensor2d(x0))
        .dataSync(),
    );
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const analytic = x0.flat().map((x, i) => (sig(x) - (t0.flat()[i] as number)) / 6);
    // At x = 0, t = 1: (0.5 - 1) / 6, where autodiff of relu/abs would give -1/6.
    expect(g[0]).toBeCloseTo(-0.5 / 6, 6);
    analytic.forEach((a, i) => expect(g[i]).toBeCloseTo(a, 6));
    const fd = finiteDiff((x) => bceWithLogits(x, targets), x0);
    fd.forEach((d, i) => expect(Math.abs(d - (g[i] as number))).toBeLessThan(2e-4));
    targets.dispose();
  });

  it('rejects mismatched shapes with a message naming both', () => {
    expect(() => bceWithLogits(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 2]) as tf.Tensor2D)).toThrow(
      /targets shape \[2, 2\] differs from logits \[2, 3\]/,
    );
  });
});

describe('softmaxCrossEntropy', () => {
  it('is log C for uniform logits and matches a hand-computed row', () => {
    const uniform = tf.tidy(() => softmaxCrossEntropy(tf.zeros([1, 3]) as tf.Tensor2D, tf.tensor1d([1], 'int32')).dataSync()[0]);
    expect(uniform).toBeCloseTo(Math.log(3), 6);
    // Row [1,2,3], label 2: logsumexp = 3 + log(1 + e^-1 + e^-2) = 3 + log(1.50321472) = 3.40760596,
    // loss = 3.40760596 - 3 = 0.40760596. Row [1000, 0], label 1: logsumexp ~ 1000, loss 1000 (no overflow).
    // Mean over the 2 rows = 500.20380298.
    const loss = tf.tidy(
      () =>
        softmaxCrossEntropy(
          tf.tensor2d([
            [1, 2, 3],
            [1000, 0, 0],
          ]),
          tf.tensor1d([2, 1], 'int32'),
        ).dataSync()[0],
    );
    expect(loss).toBeCloseTo(500.20380298, 3);
  });

  it('gives the same value for class indices and one-hot targets', () => {
    const [a, b] = tf.tidy(() => {
      const logits = tf.tensor2d([
        [0.2, -1, 3],
        [2, 2, -0.5],
      ]);
      return [
        softmaxCrossEntropy(logits, tf.tensor1d([0, 2], 'int32')).dataSync()[0],
        softmaxCrossEntropy(
          logits,
          tf.tensor2d([
            [1, 0, 0],
            [0, 0, 1],
          ]),
        ).dataSync()[0],
      ];
    });
    expect(a).toBeCloseTo(b as number, 6);
  });

  it('has gradient (softmax - onehot) / B and agrees with finite differences', () => {
    const x0 = [
      [0.2, -1, 3],
      [2, 2, -0.5],
    ];
    const labels = tf.tensor1d([0, 2], 'int32');
    const g = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => softmaxCrossEntropy(x as tf.Tensor2D, labels))(tf.tensor2d(x0))
        .dataSync(),
    );
    const expected = x0.flatMap((row, r) => {
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      return row.map((v, c) => (Math.exp(v) / z - (c === [0, 2][r] ? 1 : 0)) / 2);
    });
    expected.forEach((e, i) => expect(g[i]).toBeCloseTo(e, 6));
    const fd = finiteDiff((x) => softmaxCrossEntropy(x, labels), x0);
    fd.forEach((d, i) => expect(Math.abs(d - (g[i] as number))).toBeLessThan(2e-4));
    labels.dispose();
  });

  it('names the bad label', () => {
    expect(() => softmaxCrossEntropy(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([0, 3], 'int32'))).toThrow(
      /label 3 of sample 1 is outside 0..2/,
    );
  });
});

describe('labelsToTargets', () => {
  it('builds multi-hot rows for multi-label and one-hot rows for single-label', () => {
    expect(Array.from(labelsToTargetArray([[0, 2], [], [1]], 3, 'multi'))).toEqual([1, 0, 1, 0, 0, 0, 0, 1, 0]);
    const t = labelsToTargets([[2], [0]], 3, 'single');
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.dataSync())).toEqual([0, 0, 1, 1, 0, 0]);
    t.dispose();
  });

  it('rejects out-of-range labels and non-single labels for single-label tasks', () => {
    expect(() => labelsToTargetArray([[0], [19]], 19, 'multi')).toThrow(/Sample 1: label 19 is outside the class range 0..18/);
    expect(() => labelsToTargetArray([[0, 1]], 3, 'single')).toThrow(/Sample 0: a single-label task needs exactly one label, got 2/);
  });

  it('dispatches the task loss and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const value = tf.tidy(() => {
      const logits = tf.tensor2d([[0, 0]]);
      const targets = labelsToTargets([[1]], 2, 'single');
      return [classificationLoss('multi', logits, targets).dataSync()[0], classificationLoss('single', logits, targets).dataSync()[0]];
    });
    expect(value[0]).toBeCloseTo(Math.LN2, 6); // BCE of logit 0
    expect(value[1]).toBeCloseTo(Math.LN2, 6); // CE of 2 equal logits = log 2
    expect(tf.memory().numTensors).toBe(before);
  });
});

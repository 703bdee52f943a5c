import * as tf from '../tfjs.js';
import { SeededRng } from '@atomizer/tokenizer';

// Finite-difference gradient checking for tests. tfjs computes in float32, so
// central differences use a fairly large step and the comparison is relative
// with an absolute floor (float32 round-off of f divided by 2*eps).

export interface GradCheckResult {
  /** Largest |analytic - numeric| / (|analytic| + |numeric| + floor) over the checked coordinates. */
  worst: number;
  /** The coordinate of the worst mismatch, for the failure message. */
  where: string;
  /** Number of coordinates checked. */
  checked: number;
}

/** Seeded values in [-1, 1) shaped like `shape` (test inputs). */
export function seededTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new SeededRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale),
    shape,
  );
}

/**
 * Compares tf.grads of scalar f at `inputs` with central differences on up to
 * `perInput` seeded coordinates of each input.
 */
export function checkGradients(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: tf.Tensor[],
  opts: { eps?: number; perInput?: number; seed?: number; floor?: number } = {},
): GradCheckResult {
  const eps = opts.eps ?? 1e-2;
  const perInput = opts.perInput ?? 12;
  const floor = opts.floor ?? 1e-3;
  const rng = new SeededRng(opts.seed ?? 7);
  const analytic = tf.tidy(() =>
    tf
      .grads((...xs: tf.Tensor[]) => f(...xs))(inputs)
      .map((g) => g.dataSync() as Float32Array),
  );
  const values = inputs.map((x) => x.dataSync().slice() as Float32Array);
  const evalAt = (which: number, coord: number, delta: number): number =>
    tf.tidy(() => {
      const v = values[which]!.slice();
      v[coord]! += delta;
      const xs = inputs.map((x, i) => (i === which ? tf.tensor(v, x.shape) : x));
      return f(...xs).dataSync()[0] as number;
    });
  let worst = 0;
  let where = '';
  let checked = 0;
  inputs.forEach((x, which) => {
    const coords = x.size <= perInput ? [...Array(x.size).keys()] : Array.from({ length: perInput }, () => rng.int(x.size));
    for (const c of coords) {
      const numeric = (evalAt(which, c, eps) - evalAt(which, c, -eps)) / (2 * eps);
      const a = analytic[which]![c] as number;
      const err = Math.abs(a - numeric) / (Math.abs(a) + Math.abs(numeric) + floor);
      checked++;
      if (!(err <= worst)) {
        worst = err;
        where = `input ${which} [${x.shape}] coord ${c}: analytic ${a}, numeric ${numeric}`;
      }
    }
  });
  return { worst, where, checked };
}

import type { TensorTable } from './tensor-table.js';

// The coordinator's outer optimizer for local SGD / DiLoCo (docs/design.md "Rounds").
// Each round the workers start from the round weights w and return
//   delta = (their weights after H local steps) - w,
// averaged by sample count (GradientAccumulator). The outer step treats -delta
// as a gradient of SGD (the DiLoCo "outer gradient"), so with g = -delta and
// PyTorch's SGD (dampening 0):
//   mean:      w += lr * delta                             (FedAvg with lr = 1)
//   momentum:  b = mu b + delta;  w += lr * b
//   nesterov:  b = mu b + delta;  w += lr * (delta + mu b)  (DiLoCo: lr 0.7, mu 0.9)
// With mu = 0 momentum and nesterov reduce to the mean.

export type OuterKind = 'mean' | 'momentum' | 'nesterov';

export interface OuterOptions {
  kind: OuterKind;
  /** Outer learning rate. Default 1 for 'mean', 0.7 otherwise (DiLoCo). */
  lr?: number;
  /** Momentum mu. Default 0.9. */
  momentum?: number;
}

export const OUTER_STATE_NAMES = { step: 'outer.step', buffer: 'outer.momentum' } as const;

export class OuterOptimizer {
  readonly size: number;
  readonly kind: OuterKind;
  readonly lr: number;
  readonly momentum: number;
  private rounds = 0;
  private buffer: Float32Array;

  constructor(size: number, opts: OuterOptions) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`OuterOptimizer: size must be a non-negative integer, got ${size}`);
    if (!['mean', 'momentum', 'nesterov'].includes(opts.kind)) {
      throw new Error(`OuterOptimizer: kind must be mean, momentum or nesterov, got '${String(opts.kind)}'`);
    }
    this.size = size;
    this.kind = opts.kind;
    this.lr = opts.lr ?? (opts.kind === 'mean' ? 1 : 0.7);
    this.momentum = opts.momentum ?? 0.9;
    if (!(this.lr > 0) || !Number.isFinite(this.lr)) throw new Error(`OuterOptimizer: lr must be a positive number, got ${this.lr}`);
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`OuterOptimizer: momentum must be in [0, 1), got ${this.momentum}`);
    this.buffer = new Float32Array(opts.kind === 'mean' ? 0 : size);
  }

  /** Outer steps applied so far. */
  get step(): number {
    return this.rounds;
  }

  /** Applies the averaged worker delta to `weights` in place. */
  apply(weights: Float32Array, delta: Float32Array): void {
    if (weights.length !== this.size) throw new Error(`outerStep: weights have ${weights.length} elements, optimizer has ${this.size}`);
    if (delta.length !== this.size) throw new Error(`outerStep: delta has ${delta.length} elements, optimizer has ${this.size}`);
    const lr = this.lr;
    const mu = this.momentum;
    const b = this.buffer;
    const n = this.size;
    if (this.kind === 'mean') {
      for (let i = 0; i < n; i++) weights[i] = (weights[i] as number) + lr * (delta[i] as number);
    } else if (this.kind === 'momentum') {
      for (let i = 0; i < n; i++) {
        b[i] = mu * (b[i] as number) + (delta[i] as number);
        weights[i] = (weights[i] as number) + lr * (b[i] as number);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const d = delta[i] as number;
        b[i] = mu * (b[i] as number) + d;
        weights[i] = (weights[i] as number) + lr * (d + mu * (b[i] as number));
      }
    }
    this.rounds++;
  }

  /** State for a checkpoint: outer.step (I64 scalar), outer.momentum (F32, absent for 'mean'). */
  toTensors(): TensorTable {
    const out: TensorTable = {
      [OUTER_STATE_NAMES.step]: { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(this.rounds)) },
    };
    if (this.kind !== 'mean') out[OUTER_STATE_NAMES.buffer] = { dtype: 'F32', shape: [this.size], data: this.buffer.slice() };
    return out;
  }

  loadTensors(tensors: TensorTable): void {
    const step = tensors[OUTER_STATE_NAMES.step];
    if (step === undefined || step.dtype !== 'I64' || step.data.length !== 1) {
      throw new Error(`Outer optimizer state: '${OUTER_STATE_NAMES.step}' must be one I64 value`);
    }
    if (this.kind !== 'mean') {
      const buf = tensors[OUTER_STATE_NAMES.buffer];
      if (buf === undefined || buf.dtype !== 'F32' || buf.data.length !== this.size) {
        throw new Error(`Outer optimizer state: '${OUTER_STATE_NAMES.buffer}' must be F32 with ${this.size} elements`);
      }
      this.buffer = buf.data.slice();
    }
    this.rounds = Number(step.data[0]);
  }
}

/** One-shot form: applies `delta` with `optimizer` (kept for call sites that read better as a function). */
export function outerStep(optimizer: OuterOptimizer, weights: Float32Array, delta: Float32Array): void {
  optimizer.apply(weights, delta);
}

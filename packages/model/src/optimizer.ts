import type { ParamRange } from './param-table.js';
import type { TensorTable } from './tensor-table.js';

// Adam and AdamW (docs/model.md section 4) over the one flat Float32Array of
// parameters. Same update as torch.optim.Adam / AdamW (PyTorch 2.x, non-amsgrad):
//   t += 1
//   g' = g + wd * p                    (Adam: L2 decay folded into the gradient)
//   p  = p * (1 - lr * wd)             (AdamW: decoupled decay, Loshchilov & Hutter)
//   m  = b1 m + (1 - b1) g'
//   v  = b2 v + (1 - b2) g'^2
//   p  = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Each element is computed in float64 and stored as float32, one element after
// the other in index order: the result is a pure function of (p, g, m, v, t, lr),
// so a restored state continues bit-exactly.

export interface AdamOptions {
  /** 'adam' (coupled L2) or 'adamw' (decoupled weight decay). Default 'adamw'. */
  kind?: 'adam' | 'adamw';
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Weight-decay coefficient. Default 0.01 for AdamW (PyTorch's default), 0 for Adam. */
  weightDecay?: number;
  /**
   * The parameter ranges that get weight decay (`ParamTable.ranges()`: matrices,
   * not latents/norms/biases). Default: every parameter.
   */
  decayRanges?: readonly ParamRange[];
}

/** Everything an Adam run carries between steps. */
export interface AdamState {
  /** Number of steps taken. */
  step: number;
  /** First-moment estimate, one per parameter. */
  m: Float32Array;
  /** Second-moment estimate, one per parameter. */
  v: Float32Array;
}

/** Names of the optimizer-state tensors in a checkpoint. */
export const ADAM_STATE_NAMES = { step: 'adam.step', m: 'adam.m', v: 'adam.v' } as const;

function validRanges(ranges: readonly ParamRange[], size: number): ParamRange[] {
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const r of sorted) {
    if (!Number.isInteger(r.offset) || !Number.isInteger(r.length) || r.offset < 0 || r.length < 0 || r.offset + r.length > size) {
      throw new Error(`Weight-decay range {offset: ${r.offset}, length: ${r.length}} is outside the ${size} parameters`);
    }
    if (r.offset < end) throw new Error(`Weight-decay ranges overlap at offset ${r.offset}`);
    end = r.offset + r.length;
  }
  return sorted;
}

export class Adam {
  readonly size: number;
  readonly kind: 'adam' | 'adamw';
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Alternating [no-decay, decay] segments covering [0, size). */
  private readonly segments: { from: number; to: number; decay: boolean }[];
  private state: AdamState;

  constructor(size: number, opts: AdamOptions = {}) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`Adam: size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.kind = opts.kind ?? 'adamw';
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? (this.kind === 'adamw' ? 0.01 : 0);
    for (const [name, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new Error(`Adam: ${name} must be in [0, 1), got ${v}`);
    }
    if (!(this.eps > 0)) throw new Error(`Adam: eps must be positive, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`Adam: weightDecay must be >= 0, got ${this.weightDecay}`);
    const ranges = validRanges(opts.decayRanges ?? [{ offset: 0, length: size }], size);
    this.segments = [];
    let at = 0;
    for (const r of ranges) {
      if (r.offset > at) this.segments.push({ from: at, to: r.offset, decay: false });
      if (r.length > 0) this.segments.push({ from: r.offset, to: r.offset + r.length, decay: true });
      at = r.offset + r.length;
    }
    if (at < size) this.segments.push({ from: at, to: size, decay: false });
    this.state = { step: 0, m: new Float32Array(size), v: new Float32Array(size) };
  }

  /** Steps taken so far. */
  get step(): number {
    return this.state.step;
  }

  /** Updates `params` in place with `grads` at learning rate `lr`. */
  update(params: Float32Array, grads: Float32Array, lr: number): void {
    if (params.length !== this.size) throw new Error(`Adam.update: params have ${params.length} elements, optimizer has ${this.size}`);
    if (grads.length !== this.size) throw new Error(`Adam.update: grads have ${grads.length} elements, optimizer has ${this.size}`);
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`Adam.update: learning rate must be a finite number >= 0, got ${lr}`);
    const { m, v } = this.state;
    const t = this.state.step + 1;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const eps = this.eps;
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const coupled = this.kind === 'adam' ? this.weightDecay : 0;
    const shrink = this.kind === 'adamw' ? 1 - lr * this.weightDecay : 1;
    for (const seg of this.segments) {
      const l2 = seg.decay ? coupled : 0;
      const keep = seg.decay ? shrink : 1;
      for (let i = seg.from; i < seg.to; i++) {
        let p = params[i] as number;
        const g = (grads[i] as number) + l2 * p;
        p *= keep;
        const mi = b1 * (m[i] as number) + (1 - b1) * g;
        const vi = b2 * (v[i] as number) + (1 - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        // The stored (float32-rounded) moments drive the update, as in PyTorch.
        params[i] = p - (stepSize * (m[i] as number)) / (Math.sqrt(v[i] as number) / bc2Sqrt + eps);
      }
    }
    this.state.step = t;
  }

  /** A deep copy of the state. */
  getState(): AdamState {
    return { step: this.state.step, m: this.state.m.slice(), v: this.state.v.slice() };
  }

  /** Replaces the state with a copy of `state` (sizes must match). */
  setState(state: AdamState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`Adam state: step must be a non-negative integer, got ${state.step}`);
    if (state.m.length !== this.size || state.v.length !== this.size) {
      throw new Error(`Adam state: m/v have ${state.m.length}/${state.v.length} elements, optimizer has ${this.size}`);
    }
    this.state = { step: state.step, m: state.m.slice(), v: state.v.slice() };
  }

  /** The state as named tensors for a checkpoint: adam.step (I64 scalar), adam.m, adam.v (F32). */
  toTensors(): TensorTable {
    const s = this.getState();
    return {
      [ADAM_STATE_NAMES.step]: { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(s.step)) },
      [ADAM_STATE_NAMES.m]: { dtype: 'F32', shape: [this.size], data: s.m },
      [ADAM_STATE_NAMES.v]: { dtype: 'F32', shape: [this.size], data: s.v },
    };
  }

  /** Restores the state from `toTensors()` output (e.g. a loaded checkpoint). */
  loadTensors(tensors: TensorTable): void {
    const step = tensors[ADAM_STATE_NAMES.step];
    const m = tensors[ADAM_STATE_NAMES.m];
    const v = tensors[ADAM_STATE_NAMES.v];
    if (step === undefined || m === undefined || v === undefined) {
      const missing = Object.values(ADAM_STATE_NAMES).filter((n) => tensors[n] === undefined);
      throw new Error(`Adam state: missing tensor(s) ${missing.join(', ')}`);
    }
    if (step.dtype !== 'I64' || step.data.length !== 1) throw new Error(`Adam state: '${ADAM_STATE_NAMES.step}' must be one I64 value`);
    if (m.dtype !== 'F32' || v.dtype !== 'F32') {
      throw new Error(`Adam state: '${ADAM_STATE_NAMES.m}' and '${ADAM_STATE_NAMES.v}' must be F32 (got ${m.dtype}, ${v.dtype}); lower precision would break exact resume`);
    }
    this.setState({ step: Number(step.data[0]), m: m.data, v: v.data });
  }
}

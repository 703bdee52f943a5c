// Gradient accumulation (docs/model.md section 4; docs/design.md "Rounds"): each part
// is the MEAN gradient (or weight delta) over its `samples` samples, so the
// combined mean is  sum_i samples_i * g_i / sum_i samples_i  -- exactly the
// gradient of one large batch. Sums are kept in float64: adding thousands of
// float32 parts in float32 loses the small ones, and the coordinator sums in
// job-id order so the float64 result is reproducible whatever the arrival order.

export interface GradientPart {
  /** Mean gradient (or delta) over the part's samples. */
  grads: Float32Array;
  /** Number of samples the part averaged over (its weight). */
  samples: number;
  /** Mean loss over the part's samples, if known. */
  loss?: number;
}

export interface AccumulatedGradient {
  /** Sample-weighted mean of the parts. */
  grads: Float32Array;
  /** Total samples. */
  samples: number;
  /** Sample-weighted mean loss (NaN when any part gave none). */
  loss: number;
}

export class GradientAccumulator {
  readonly size: number;
  private sum: Float64Array;
  private total = 0;
  private lossSum = 0;
  private lossKnown = true;
  private parts = 0;
  private spent = false;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`GradientAccumulator: size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.sum = new Float64Array(size);
  }

  /** Total samples added so far. */
  get samples(): number {
    return this.total;
  }

  /** Adds one part; `label` names it in errors (e.g. the job id). */
  add(part: GradientPart, label = `part ${this.parts}`): void {
    if (this.spent) throw new Error('GradientAccumulator: the sum was taken as a mean; reset() before adding');
    if (part.grads.length !== this.size) {
      throw new Error(`Gradient ${label}: ${part.grads.length} elements, expected ${this.size}`);
    }
    if (!Number.isInteger(part.samples) || part.samples < 0) {
      throw new Error(`Gradient ${label}: samples must be a non-negative integer, got ${part.samples}`);
    }
    const w = part.samples;
    const g = part.grads;
    const s = this.sum;
    for (let i = 0; i < s.length; i++) s[i] = (s[i] as number) + w * (g[i] as number);
    this.total += w;
    if (part.loss === undefined || !Number.isFinite(part.loss)) this.lossKnown = false;
    else this.lossSum += w * part.loss;
    this.parts++;
  }

  /** The sample-weighted mean so far (rounded to float32 once, at the end), in `out` when given (its length: the size). */
  result(out?: Float32Array): AccumulatedGradient {
    if (out !== undefined && out.length !== this.size) {
      throw new Error(`GradientAccumulator.result: out has ${out.length} elements, expected ${this.size}`);
    }
    return this.meanInto(out ?? new Float32Array(this.size));
  }

  /**
   * The same mean, written over the sum's own memory (float32 value i over the first half
   * of float64 value i/2, which was already read): no second buffer of the model's size.
   * The sum is spent: add() refuses until reset(); the mean is valid until then.
   */
  takeMean(): AccumulatedGradient {
    const mean = this.meanInto(new Float32Array(this.sum.buffer, this.sum.byteOffset, this.size));
    this.spent = true;
    return mean;
  }

  private meanInto(out: Float32Array): AccumulatedGradient {
    if (this.spent) throw new Error('GradientAccumulator: the sum was taken as a mean; reset() first');
    if (this.total === 0) throw new Error('GradientAccumulator: no samples accumulated; cannot average');
    for (let i = 0; i < out.length; i++) out[i] = (this.sum[i] as number) / this.total;
    return { grads: out, samples: this.total, loss: this.lossKnown ? this.lossSum / this.total : Number.NaN };
  }

  reset(): void {
    this.spent = false;
    this.sum.fill(0);
    this.total = 0;
    this.lossSum = 0;
    this.lossKnown = true;
    this.parts = 0;
  }
}

/** Sample-weighted mean of `parts`, summed in the given order. */
export function accumulateGradients(parts: readonly GradientPart[]): AccumulatedGradient {
  const first = parts[0];
  if (first === undefined) throw new Error('accumulateGradients: no parts given');
  const acc = new GradientAccumulator(first.grads.length);
  parts.forEach((p, i) => acc.add(p, `part ${i}`));
  return acc.result();
}

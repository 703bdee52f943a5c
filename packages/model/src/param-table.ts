import { numel, type TensorTable } from './tensor-table.js';

// The model's parameters live in ONE flat Float32Array (what workers download,
// what the optimizer updates, what the coordinator averages). This table names
// the ranges of that array: an ordered list of {name, shape}, each at the offset
// where the previous one ended.

export interface ParamSpec {
  name: string;
  shape: readonly number[];
}

export interface ParamEntry extends ParamSpec {
  /** First element of this parameter in the flat array. */
  offset: number;
  /** Number of elements. */
  size: number;
}

/** A half-open range [offset, offset + length) of the flat parameter array. */
export interface ParamRange {
  offset: number;
  length: number;
}

/**
 * Which parameters get weight decay by default: matrices (rank >= 2) only, and
 * not latents, norms, biases, the pooling query or embedding tables, whatever
 * their rank (the usual AdamW practice: decaying them pulls the learned
 * latent array / norm gains towards zero for no regularisation benefit).
 */
export function defaultDecayFilter(entry: ParamSpec): boolean {
  return entry.shape.length >= 2 && !/latent|norm|bias|query|embed/i.test(entry.name);
}

export class ParamTable {
  readonly entries: readonly ParamEntry[];
  /** Total number of parameters: the length of the flat array. */
  readonly size: number;
  private readonly byName: ReadonlyMap<string, ParamEntry>;

  constructor(specs: readonly ParamSpec[]) {
    const entries: ParamEntry[] = [];
    const byName = new Map<string, ParamEntry>();
    let offset = 0;
    for (const [i, spec] of specs.entries()) {
      if (typeof spec.name !== 'string' || spec.name === '') {
        throw new Error(`Parameter #${i}: name must be a non-empty string`);
      }
      if (byName.has(spec.name)) throw new Error(`Parameter '${spec.name}' is listed twice`);
      for (const d of spec.shape) {
        if (!Number.isInteger(d) || d < 0) {
          throw new Error(`Parameter '${spec.name}': shape [${spec.shape.join(', ')}] must hold non-negative integers`);
        }
      }
      const entry: ParamEntry = { name: spec.name, shape: [...spec.shape], offset, size: numel(spec.shape) };
      entries.push(entry);
      byName.set(entry.name, entry);
      offset += entry.size;
    }
    this.entries = entries;
    this.byName = byName;
    this.size = offset;
  }

  /** The entry of a parameter; throws naming it when unknown. */
  entry(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (e === undefined) throw new Error(`Unknown parameter '${name}' (table has ${this.entries.length} parameters)`);
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** A zero-filled flat array of the table's size. */
  zeros(): Float32Array {
    return new Float32Array(this.size);
  }

  private checkFlat(flat: Float32Array, what: string): void {
    if (!(flat instanceof Float32Array)) throw new Error(`${what}: expected a Float32Array`);
    if (flat.length !== this.size) {
      throw new Error(`${what}: flat array has ${flat.length} elements, the parameter table needs ${this.size}`);
    }
  }

  /** One parameter's values: a view (no copy) into `flat`. */
  view(flat: Float32Array, name: string): Float32Array {
    this.checkFlat(flat, `view('${name}')`);
    const e = this.entry(name);
    return flat.subarray(e.offset, e.offset + e.size);
  }

  /** Every parameter as a named view (no copy) into `flat`, in table order. */
  views(flat: Float32Array): Record<string, Float32Array> {
    this.checkFlat(flat, 'views');
    const out: Record<string, Float32Array> = {};
    for (const e of this.entries) out[e.name] = flat.subarray(e.offset, e.offset + e.size);
    return out;
  }

  /**
   * Ranges of the flat array whose parameters pass `filter`, adjacent ones
   * merged: the decay mask of the optimizer (`AdamOptions.decayRanges`).
   */
  ranges(filter: (entry: ParamEntry) => boolean = defaultDecayFilter): ParamRange[] {
    const out: ParamRange[] = [];
    for (const e of this.entries) {
      if (e.size === 0 || !filter(e)) continue;
      const last = out[out.length - 1];
      if (last !== undefined && last.offset + last.length === e.offset) last.length += e.size;
      else out.push({ offset: e.offset, length: e.size });
    }
    return out;
  }

  /** Named F32 tensors (views, no copy) for a checkpoint, in table order. */
  toTensors(flat: Float32Array): TensorTable {
    this.checkFlat(flat, 'toTensors');
    const out: TensorTable = {};
    for (const e of this.entries) {
      out[e.name] = { dtype: 'F32', shape: e.shape, data: flat.subarray(e.offset, e.offset + e.size) };
    }
    return out;
  }

  /**
   * The flat array back from named tensors (e.g. a loaded checkpoint). Every
   * parameter of the table must be present with its shape; F16/BF16 tensors are
   * accepted (their values were widened on read). Extra tensors are an error,
   * so a checkpoint of another architecture is not half-loaded silently.
   */
  fromTensors(tensors: TensorTable): Float32Array {
    const flat = this.zeros();
    for (const e of this.entries) {
      const t = tensors[e.name];
      if (t === undefined) throw new Error(`Parameter '${e.name}' is missing from the tensors`);
      if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
        throw new Error(`Parameter '${e.name}': dtype ${t.dtype}, expected a float dtype (F32, F16, BF16)`);
      }
      if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
        throw new Error(`Parameter '${e.name}': shape [${t.shape.join(', ')}], expected [${e.shape.join(', ')}]`);
      }
      if (t.data.length !== e.size) {
        throw new Error(`Parameter '${e.name}': ${t.data.length} values, expected ${e.size}`);
      }
      flat.set(t.data, e.offset);
    }
    for (const name of Object.keys(tensors)) {
      if (!this.byName.has(name)) throw new Error(`Tensor '${name}' is not a parameter of this table`);
    }
    return flat;
  }
}

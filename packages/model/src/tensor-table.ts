// A named table of host tensors: the in-memory form of everything that is
// saved or shipped (weights, optimizer state, checkpoints). Plain typed arrays,
// no tfjs, so the coordinator can handle them without a backend.

/**
 * Element types a host tensor may be stored as (safetensors names).
 * F16 and BF16 are transport formats: in memory their values live in a
 * Float32Array and are converted when written or read.
 */
export type TensorDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8';

export const TENSOR_DTYPES: readonly TensorDType[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8'];

/** Bytes per element on disk. */
export const DTYPE_BYTES: Readonly<Record<TensorDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  U8: 1,
};

/** The typed array holding a tensor's values in memory, per dtype. */
export interface TensorDataByDType {
  F64: Float64Array;
  F32: Float32Array;
  F16: Float32Array;
  BF16: Float32Array;
  I64: BigInt64Array;
  I32: Int32Array;
  U8: Uint8Array;
}

export type TensorData = TensorDataByDType[TensorDType];

/** One named tensor: dtype, shape (row-major) and values. */
export type HostTensor = {
  [D in TensorDType]: { dtype: D; shape: readonly number[]; data: TensorDataByDType[D] };
}[TensorDType];

/** Named tensors in a fixed order (insertion order of the record). */
export type TensorTable = Record<string, HostTensor>;

/** Number of elements of a shape (1 for a scalar `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function arrayMatchesDType(t: HostTensor): boolean {
  switch (t.dtype) {
    case 'F64':
      return t.data instanceof Float64Array;
    case 'F32':
    case 'F16':
    case 'BF16':
      return t.data instanceof Float32Array;
    case 'I64':
      return t.data instanceof BigInt64Array;
    case 'I32':
      return t.data instanceof Int32Array;
    case 'U8':
      return t.data instanceof Uint8Array;
  }
}

const EXPECTED_ARRAY: Readonly<Record<TensorDType, string>> = {
  F64: 'Float64Array',
  F32: 'Float32Array',
  F16: 'Float32Array (converted to float16 when written)',
  BF16: 'Float32Array (converted to bfloat16 when written)',
  I64: 'BigInt64Array',
  I32: 'Int32Array',
  U8: 'Uint8Array',
};

/** Throws an Error naming the tensor when its dtype, shape or data length is inconsistent. */
export function checkTensor(name: string, t: HostTensor): void {
  if (!(TENSOR_DTYPES as readonly string[]).includes(t.dtype)) {
    throw new Error(`Tensor '${name}': unknown dtype '${String(t.dtype)}'; expected one of ${TENSOR_DTYPES.join(', ')}`);
  }
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`Tensor '${name}': shape [${t.shape.join(', ')}] must hold non-negative integers`);
    }
  }
  if (!arrayMatchesDType(t)) {
    throw new Error(`Tensor '${name}': dtype ${t.dtype} needs its data in a ${EXPECTED_ARRAY[t.dtype]}`);
  }
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new Error(`Tensor '${name}': shape [${t.shape.join(', ')}] has ${n} elements but data has ${t.data.length}`);
  }
}

// The typed array behind each raster dtype (types.ts DType), in one place:
// shards view rasters in place with these constructors, modalities allocate
// like-typed outputs, tests re-encode rasters.
import type { DType, RasterArray } from './types.js';

type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): RasterArray;
  new (length: number): RasterArray;
  readonly BYTES_PER_ELEMENT: number;
};

export const DTYPE_ARRAYS: Readonly<Record<DType, TypedArrayCtor>> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

export const DTYPES = Object.keys(DTYPE_ARRAYS) as DType[];

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.hasOwn(DTYPE_ARRAYS, s);
}

/** The dtype of a raster's typed array, or undefined for an array type shards do not hold. */
export function dtypeOf(values: unknown): DType | undefined {
  // Uint8ClampedArray is not a RasterArray type: treated as unsupported, not as uint8.
  if (values instanceof Uint8Array && !(values instanceof Uint8ClampedArray)) return 'uint8';
  if (values instanceof Int8Array) return 'int8';
  if (values instanceof Uint16Array) return 'uint16';
  if (values instanceof Int16Array) return 'int16';
  if (values instanceof Uint32Array) return 'uint32';
  if (values instanceof Int32Array) return 'int32';
  if (values instanceof Float32Array) return 'float32';
  if (values instanceof Float64Array) return 'float64';
  return undefined;
}

/** A zeroed raster of `n` values in `dtype`. */
export function allocRaster(dtype: DType, n: number): RasterArray {
  return new DTYPE_ARRAYS[dtype](n);
}

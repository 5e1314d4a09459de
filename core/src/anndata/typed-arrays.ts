/** Typed-array constructors by dtype, and empty arrays, shared by the zarr and h5ad stores. */
import type { ArrayData, DType } from './hierarchy.js';

export type NumericArray = Exclude<ArrayData, string[]>;
export type NumericDType = Exclude<DType, 'string'>;

export const TYPED_ARRAYS: Record<NumericDType, new (n: number) => NumericArray> = {
  bool: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

export function makeNumeric(dtype: NumericDType, n: number): NumericArray {
  return new TYPED_ARRAYS[dtype](n);
}

/** An array of `length` fill values ('' for strings, 0 otherwise). */
export function emptyData(dtype: DType, length: number): ArrayData {
  return dtype === 'string' ? new Array<string>(length).fill('') : makeNumeric(dtype, length);
}

/** A zeroed array of the same kind as `data`. */
export function emptyLike(data: ArrayData, length: number): ArrayData {
  if (Array.isArray(data)) return new Array<string>(length).fill('');
  const Ctor = data.constructor as new (n: number) => NumericArray;
  return new Ctor(length);
}

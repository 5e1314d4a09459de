/** Conversions between the typed arrays a store returns and the ones scNym works with. */
import { AnnDataError } from '../errors.js';
import type { ArrayData } from './hierarchy.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function bigToNumber(v: bigint, where: { file: string; element: string }): number {
  if (v > BigInt(MAX_SAFE) || v < -BigInt(MAX_SAFE)) {
    throw new AnnDataError(`value ${v} does not fit a JavaScript number`, {
      ...where,
      hint: 'store this array as int32 or float64',
    });
  }
  return Number(v);
}

/** Any numeric array as Float64Array (int64 checked to be exactly representable). */
export function toFloat64(data: ArrayData, where: { file: string; element: string }): Float64Array {
  if (Array.isArray(data)) {
    throw new AnnDataError('expected numbers but found strings', where);
  }
  if (data instanceof Float64Array) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = bigToNumber(data[i], where);
    return out;
  }
  return Float64Array.from(data as ArrayLike<number>);
}

/** Any numeric array as Float32Array (no copy when it already is one). */
export function toFloat32(data: ArrayData, where: { file: string; element: string }): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array) return Float32Array.from(data);
  return Float32Array.from(toFloat64(data, where));
}

/** Integer indices as Int32Array; values outside int32 are an error. */
export function toInt32(data: ArrayData, where: { file: string; element: string }): Int32Array {
  if (data instanceof Int32Array) return data;
  if (
    data instanceof Int8Array ||
    data instanceof Int16Array ||
    data instanceof Uint8Array ||
    data instanceof Uint16Array
  ) {
    return Int32Array.from(data);
  }
  const f = toFloat64(data, where);
  const out = new Int32Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = f[i];
    if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648) {
      throw new AnnDataError(`index value ${v} is not a 32-bit integer`, where);
    }
    out[i] = v;
  }
  return out;
}

export function toStrings(data: ArrayData, where: { file: string; element: string }): string[] {
  if (Array.isArray(data)) return data;
  throw new AnnDataError('expected strings but found numbers', where);
}

export function isStringData(data: ArrayData): data is string[] {
  return Array.isArray(data);
}

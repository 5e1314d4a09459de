/** New elements as h5py/anndata store them: attribute encodings, array data, chunks, gzip. */
import { AnnDataError } from '../../errors.js';
import type { AttrValue, DType, NewArray } from '../hierarchy.js';
import { product } from './selection.js';
import { makeNumeric, type NumericArray, type NumericDType } from '../typed-arrays.js';

/** Target size of one chunk of a new compressed array. */
const CHUNK_BYTES = 256 * 1024;
export const GZIP_LEVEL = 4; // h5py's default

export const H5_DTYPES: Record<DType, string> = {
  bool: '<b', // h5wasm cannot write h5py's bool enum; int8 0/1 is its storage type
  int8: '<b',
  int16: '<h',
  int32: '<i',
  int64: '<q',
  uint8: '<B',
  uint16: '<H',
  uint32: '<I',
  uint64: '<Q',
  float32: '<f',
  float64: '<d',
  string: 'S', // variable-length UTF-8, as h5py writes str
};

const ITEM_BYTES: Record<NumericDType, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  int64: 8,
  uint64: 8,
  float64: 8,
};

interface EncodedAttr {
  data: string | string[] | number | NumericArray;
  shape: number[];
  dtype: string;
}

function attrError(name: string, problem: string): AnnDataError {
  return new AnnDataError(`attribute '${name}' cannot be stored in HDF5: ${problem}`, {
    hint: 'attributes hold strings, numbers, booleans or flat lists of one of them',
  });
}

/** How an attribute value is stored, the way h5py/anndata store it. */
export function encodeAttr(name: string, value: AttrValue): EncodedAttr {
  if (typeof value === 'string') return { data: value, shape: [], dtype: 'S' };
  if (typeof value === 'boolean') return { data: value ? 1 : 0, shape: [], dtype: '<b' };
  if (typeof value === 'number') {
    if (name === 'ordered') return { data: value ? 1 : 0, shape: [], dtype: '<b' };
    if (Number.isSafeInteger(value))
      return { data: BigInt64Array.of(BigInt(value)), shape: [], dtype: '<q' };
    return { data: value, shape: [], dtype: '<d' };
  }
  if (value === null) throw attrError(name, 'null has no HDF5 form');
  if (!Array.isArray(value)) throw attrError(name, 'mappings are not supported');
  return encodeAttrList(name, value);
}

function encodeAttrList(name: string, list: AttrValue[]): EncodedAttr {
  const shape = [list.length];
  // anndata writes an empty column-order as an empty float64 array
  if (list.length === 0) return { data: new Float64Array(0), shape, dtype: '<d' };
  if (list.every((v) => typeof v === 'string'))
    return { data: list as string[], shape, dtype: 'S' };
  if (list.every((v) => typeof v === 'boolean')) {
    return { data: Int8Array.from(list as boolean[], (v) => (v ? 1 : 0)), shape, dtype: '<b' };
  }
  if (list.every((v) => typeof v === 'number')) {
    const nums = list as number[];
    return nums.every(Number.isSafeInteger)
      ? { data: BigInt64Array.from(nums, (v) => BigInt(v)), shape, dtype: '<q' }
      : { data: Float64Array.from(nums), shape, dtype: '<d' };
  }
  throw attrError(name, 'a list must hold only strings, only numbers or only booleans');
}

export const isBoolAttr = (name: string, value: AttrValue): boolean =>
  typeof value === 'boolean' || (name === 'ordered' && typeof value === 'number');

/** Checks a new array and converts its data to the typed array its dtype stores. */
export function normalizeArray(a: NewArray, where: { file: string; element: string }): NewArray {
  if (!(a.dtype in H5_DTYPES)) throw new AnnDataError(`unknown dtype '${a.dtype}'`, where);
  if (a.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new AnnDataError(`invalid shape [${a.shape.join(', ')}]`, where);
  }
  if (a.data.length !== product(a.shape)) {
    throw new AnnDataError(
      `has ${a.data.length} values, but shape [${a.shape.join(', ')}] needs ${product(a.shape)}`,
      where,
    );
  }
  if (a.dtype === 'string') {
    if (!Array.isArray(a.data)) throw new AnnDataError('string arrays need a string[]', where);
    return a;
  }
  if (Array.isArray(a.data)) {
    throw new AnnDataError(`${a.dtype} arrays need a typed array, not strings`, where);
  }
  return { ...a, data: toTypedArray(a.data, a.dtype, where) };
}

function toTypedArray(
  data: NumericArray,
  dtype: NumericDType,
  where: { file: string; element: string },
): NumericArray {
  if (dtype !== 'bool' && data.constructor === makeNumeric(dtype, 0).constructor) return data;
  const values = data as ArrayLike<number | bigint>;
  const out = dtype === 'bool' ? new Int8Array(data.length) : makeNumeric(dtype, data.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === 'number' && !Number.isInteger(v)) {
        throw new AnnDataError(`${dtype} arrays need integers (value ${v} at ${i})`, where);
      }
      out[i] = BigInt(v);
    }
  } else {
    const dst = out as unknown as { [i: number]: number };
    const bool = dtype === 'bool';
    for (let i = 0; i < values.length; i++) dst[i] = bool ? (values[i] ? 1 : 0) : Number(values[i]);
  }
  return out;
}

/** Chunks and compression for a new array: gzip when the file's X is compressed (any codec). */
export function layoutFor(
  a: NewArray,
  compress: boolean,
): { chunks?: number[]; compression?: 'gzip' } {
  // h5wasm refuses to compress variable-length strings
  if (!compress || a.dtype === 'string' || a.shape.length === 0 || product(a.shape) === 0) {
    return {};
  }
  return { chunks: chunkShape(a), compression: 'gzip' };
}

/** Chunks of about CHUNK_BYTES, whole rows (numeric arrays of rank ≥ 1). */
export function chunkShape(a: NewArray): number[] {
  const rows = Math.min(a.shape[0], Math.max(1, Math.floor(CHUNK_BYTES / rowBytes(a))));
  return [rows, ...a.shape.slice(1)];
}

/** The most bytes of an array handed to h5wasm at once (see writeBlockRows). */
export const WRITE_BLOCK_BYTES = 1 << 26;

/**
 * Rows per write for a numeric array larger than `blockBytes`, or null when it is written whole:
 * h5wasm copies what it writes into its WASM heap, which never shrinks, so a 1M × 256 embedding
 * written whole would keep a second gigabyte in the process.
 */
export function writeBlockRows(a: NewArray, blockBytes = WRITE_BLOCK_BYTES): number | null {
  if (a.dtype === 'string' || a.shape.length === 0 || product(a.shape) === 0) return null;
  const rows = Math.max(1, Math.floor(blockBytes / rowBytes(a)));
  return rows < a.shape[0] ? rows : null;
}

/** Bytes of one row (everything after the first dimension) of a numeric array. */
function rowBytes(a: NewArray): number {
  return product(a.shape.slice(1)) * ITEM_BYTES[a.dtype as NumericDType];
}

/** Metadata documents for new groups and arrays, and consolidated metadata, as zarr writes them. */
import { AnnDataError } from '../../errors.js';
import type { Attrs, DType, NewArray } from '../hierarchy.js';
import type { JsonObject } from './json.js';
import type { NodeMeta } from './meta-index.js';
import { join } from './paths.js';
import { TYPED_ARRAYS } from '../typed-arrays.js';

export type Compressor = JsonObject | null;

const CHUNK_1D = 1_000_000;
const CHUNK_ND = 4_000_000;

export const EMPTY_CONSOLIDATED = { kind: 'inline', must_understand: false, metadata: {} };

const V2_CODES: Record<DType, string> = {
  bool: '|b1',
  int8: '|i1',
  uint8: '|u1',
  int16: '<i2',
  uint16: '<u2',
  int32: '<i4',
  uint32: '<u4',
  int64: '<i8',
  uint64: '<u8',
  float32: '<f4',
  float64: '<f8',
  string: '|O',
};

export function consolidatedV2(nodes: Map<string, NodeMeta>): JsonObject {
  const metadata: JsonObject = {};
  // The root is included too (as '.zgroup' and '.zattrs'): zarr 2 needs it to open the group.
  for (const [path, node] of nodes) {
    metadata[join(path, '.zattrs')] = node.attrs;
    metadata[join(path, node.kind === 'array' ? '.zarray' : '.zgroup')] = node.doc;
  }
  return { zarr_consolidated_format: 1, metadata };
}

export function v3GroupDoc(attrs: Attrs): JsonObject {
  return { zarr_format: 3, node_type: 'group', attributes: attrs };
}

export function checkNewArray(array: NewArray, file: string, path: string): void {
  const bad = (problem: string) => new AnnDataError(problem, { file, element: path });
  if (!array.shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw bad(`invalid shape [${array.shape}]`);
  }
  const size = array.shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== size) {
    throw bad(`${array.data.length} values do not fill shape [${array.shape}]`);
  }
  const ok =
    array.dtype === 'string'
      ? Array.isArray(array.data) && array.data.every((s) => typeof s === 'string')
      : array.data instanceof TYPED_ARRAYS[array.dtype];
  if (!ok) throw bad(`values do not match the data type ${array.dtype}`);
}

/** 1-D: up to 1M values per chunk; n-D: whole rows, up to ~4M values per chunk. */
export function chunkShape(shape: number[]): number[] {
  if (shape.length === 0) return [];
  const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
  const limit =
    shape.length === 1 ? CHUNK_1D : Math.max(1, Math.floor(CHUNK_ND / Math.max(rowSize, 1)));
  return [Math.max(1, Math.min(shape[0], limit)), ...shape.slice(1).map((n) => Math.max(1, n))];
}

export function v2ArrayDoc(array: NewArray, chunks: number[], compressor: Compressor): JsonObject {
  const isString = array.dtype === 'string';
  const scalar = array.shape.length === 0;
  // anndata stores string scalars as fixed-width '<U{n}' (UTF-32), not as objects.
  const width = scalar && isString ? Math.max(1, [...(array.data as string[])[0]].length) : 0;
  return {
    chunks,
    compressor,
    dtype: width ? `<U${width}` : V2_CODES[array.dtype],
    fill_value: width ? '' : array.dtype === 'bool' ? false : 0,
    filters: isString && !width ? [{ id: 'vlen-utf8' }] : null,
    order: 'C',
    shape: array.shape,
    zarr_format: 2,
  };
}

export function v3ArrayDoc(
  array: NewArray,
  chunks: number[],
  compressor: Compressor,
  attrs: Attrs,
): JsonObject {
  const isString = array.dtype === 'string';
  const serializer = isString
    ? { name: 'vlen-utf8', configuration: {} }
    : { name: 'bytes', configuration: { endian: 'little' } };
  return {
    zarr_format: 3,
    node_type: 'array',
    shape: array.shape,
    data_type: array.dtype,
    chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: isString ? '' : array.dtype === 'bool' ? false : 0,
    codecs: compressor ? [serializer, compressor] : [serializer],
    attributes: attrs,
    storage_transformers: [],
  };
}

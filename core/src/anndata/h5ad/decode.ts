/** Decoding HDF5 memory into ArrayData and attribute values. */
import type { Metadata } from 'h5wasm';
import type { ArrayData, AttrValue, DType } from '../hierarchy.js';
import { fromBoolPlaceholder } from './bool-attrs.js';
import {
  STRPAD_SPACE,
  T_ENUM,
  T_FLOAT,
  T_INTEGER,
  T_REFERENCE,
  T_STRING,
  type H5Module,
} from './hdf5.js';
import { makeNumeric, type NumericArray } from '../typed-arrays.js';

function isBoolEnum(md: Metadata): boolean {
  const members = md.enum_type?.members ?? {};
  const names = Object.keys(members);
  return names.length === 2 && members['FALSE'] === 0 && members['TRUE'] === 1;
}

/** Our DType for an HDF5 datatype, or undefined when scNym cannot use it. */
export function dtypeOf(md: Metadata): DType | undefined {
  if (md.type === T_STRING) return 'string';
  if (md.type === T_ENUM && isBoolEnum(md)) return 'bool';
  if (md.type === T_INTEGER || md.type === T_ENUM) {
    if (![1, 2, 4, 8].includes(md.size)) return undefined;
    return `${md.signed ? 'int' : 'uint'}${md.size * 8}` as DType;
  }
  if (md.type === T_FLOAT) {
    return md.size === 4 ? 'float32' : md.size === 8 ? 'float64' : undefined;
  }
  return undefined;
}

const TYPE_NAMES: Record<number, string> = {
  2: 'time',
  4: 'bitfield',
  5: 'opaque',
  6: 'compound',
  7: 'reference',
  8: 'enum',
  9: 'variable-length sequence',
  10: 'array',
};
export function describeType(md: Metadata): string {
  if (md.type === T_FLOAT) return `float${md.size * 8}`;
  return TYPE_NAMES[md.type] ?? `HDF5 type class ${md.type}`;
}

/** Turns bytes H5Dread/H5Aread wrote (n elements of `md`) into JS values. */
export function decodeValues(
  m: H5Module,
  fileId: bigint,
  bytes: Uint8Array,
  md: Metadata,
  n: number,
) {
  if (md.type === T_STRING) return md.vlen ? vlenStrings(m, bytes, n) : fixedStrings(bytes, md, n);
  if (md.type === T_REFERENCE) return referencePaths(m, fileId, bytes, md, n);
  const dtype = dtypeOf(md);
  if (dtype === undefined || dtype === 'string') {
    throw new Error(`unsupported HDF5 datatype (${describeType(md)})`);
  }
  if (dtype === 'bool') return boolValues(bytes, md.size, n);
  const out = makeNumeric(dtype, 0);
  const Ctor = out.constructor as new (b: ArrayBuffer, o: number, n: number) => NumericArray;
  return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
}

function boolValues(bytes: Uint8Array, size: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < size; b++) if (bytes[i * size + b] !== 0) out[i] = 1;
  }
  return out;
}

function vlenStrings(m: H5Module, bytes: Uint8Array, n: number): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<string>(n);
  // wasm32: each element is a 4-byte pointer to a NUL-terminated string (0 for an empty one)
  for (let i = 0; i < n; i++) out[i] = m.UTF8ToString(view.getUint32(i * 4, true));
  return out;
}

export const utf8 = new TextDecoder('utf-8');
function fixedStrings(bytes: Uint8Array, md: Metadata, n: number): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    let cell = bytes.subarray(i * md.size, (i + 1) * md.size);
    const nul = cell.indexOf(0);
    if (nul >= 0) cell = cell.subarray(0, nul);
    const s = utf8.decode(cell);
    out[i] = md.strpad === STRPAD_SPACE ? s.trimEnd() : s;
  }
  return out;
}

/** Object references (anndata 0.7's `categories` attribute) as absolute paths. */
function referencePaths(
  m: H5Module,
  fileId: bigint,
  bytes: Uint8Array,
  md: Metadata,
  n: number,
): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    if (md.ref_type !== 'object') {
      out[i] = '<HDF5 region reference>';
      continue;
    }
    const ref = bytes.slice(i * md.size, (i + 1) * md.size);
    out[i] = resolveReference(m, fileId, ref);
  }
  return out;
}

function resolveReference(m: H5Module, fileId: bigint, ref: Uint8Array): string {
  try {
    return m.get_referenced_name(fileId, ref, true) || '<unresolved HDF5 object reference>';
  } catch {
    return '<unresolved HDF5 object reference>'; // a dangling reference should not hide the rest
  }
}

/** Attribute values as JSON-like values: numbers, booleans, strings (arrays flattened). */
export function toAttrValue(name: string, data: ArrayData, md: Metadata): AttrValue {
  let values: AttrValue[] = Array.isArray(data)
    ? data.map(fromBoolPlaceholder)
    : Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
  if ((md.type === T_ENUM && isBoolEnum(md)) || name === 'ordered') {
    values = values.map((v) => (typeof v === 'number' ? v !== 0 : v));
  }
  return md.shape?.length === 0 ? values[0] : values;
}

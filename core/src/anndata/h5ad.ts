/**
 * The h5ad (HDF5) side of `Hierarchy`, over h5wasm. Platform-neutral: the caller loads h5wasm
 * (Node: `h5wasm/node`; browser: a Worker), opens the `File` and passes it in with the module.
 *
 * What h5wasm 0.10.3 makes us work around:
 * - its high-level reads ignore HDF5's status and hand back uninitialised memory when a read
 *   fails (e.g. a chunk compressed with a filter it lacks), so reads go through the module's
 *   lower-level functions, into zeroed buffers, with the status checked;
 * - HDF5 errors only become exceptions with its throwing error handler (`prepareH5wasm`), and
 *   every such exception leaks a file descriptor inside h5wasm: normal paths never provoke one;
 * - it can neither delete nor rename links, nor write HDF5 enums (h5py's bools). New elements
 *   stay in memory until `flush()`; with `H5adFileAccess` the writer edits the closed file's
 *   bytes for the rest (see "HDF5 file surgery"), without it those operations are refused.
 */
import type { Dataset, File as H5File, Group, Metadata, ready } from 'h5wasm';
import { AnnDataError, ScnymError, WriteConflictError } from './errors.js';
import type {
  ArrayData,
  ArrayMeta,
  ArrayResult,
  Attrs,
  AttrValue,
  DType,
  Hierarchy,
  NewArray,
  NodeKind,
  Range,
  Selection,
  WritableHierarchy,
} from './hierarchy.js';

/** The loaded h5wasm module (`await h5wasm.ready`). */
export type H5Module = Awaited<typeof ready>;

type NumericArray = Exclude<ArrayData, string[]>;
type NumericDType = Exclude<DType, 'string'>;

// HDF5 datatype classes (H5T_class_t).
const T_INTEGER = 0;
const T_FLOAT = 1;
const T_STRING = 3;
const T_REFERENCE = 7;
const T_ENUM = 8;
const STRPAD_SPACE = 2;

const FILTER_NAMES: Record<number, string> = {
  1: 'deflate',
  2: 'shuffle',
  3: 'fletcher32',
  4: 'szip',
  5: 'nbit',
  6: 'scaleoffset',
  307: 'bzip2',
  32000: 'lzf',
  32001: 'blosc',
  32004: 'lz4',
  32008: 'bitshuffle',
  32013: 'zfp',
  32015: 'zstd',
  32026: 'blosc2',
};
/** Filters compiled into h5wasm's HDF5; the others need plugins h5wasm does not ship. */
const BUILT_IN_FILTERS = new Set([1, 2, 3, 5, 6]);
const DEFLATE = 1;

/** Target size of one chunk of a new compressed array. */
const CHUNK_BYTES = 256 * 1024;
const GZIP_LEVEL = 4; // h5py's default

const H5_DTYPES: Record<DType, string> = {
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

// ---------------------------------------------------------------------------------------------
// Setup and errors

const prepared = new WeakSet<object>();

/**
 * Makes HDF5 failures throw instead of printing to stderr and carrying on. Call it once the
 * module is ready and before opening files; `openH5ad` calls it too.
 */
export function prepareH5wasm(module: H5Module): void {
  if (prepared.has(module)) return;
  module.activate_throwing_error_handler();
  prepared.add(module);
}

/** The most specific line of an HDF5 error stack, e.g. "required filter 'lzf' is not registered". */
export function hdf5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const entries = [...text.matchAll(/#\d+: .*? in (\w+)\(\): (.*)/g)].filter(
    (m) => !m[1].startsWith('H5PL'), // plugin-path noise after a missing filter
  );
  const last = entries.at(-1);
  return (last ? last[2] : (text.split('\n')[0] ?? '')).trim() || 'unknown HDF5 error';
}

function hintFor(reason: string): string {
  if (/truncated/i.test(reason)) {
    return 'the file is incomplete (an interrupted download or copy?); copy or download it again';
  }
  if (/signature not found/i.test(reason)) return 'this is not an HDF5 (.h5ad) file';
  if (/filter/i.test(reason)) {
    return 're-save it without the plugin filter, e.g. adata.write_h5ad(path, compression="gzip")';
  }
  return 'the file may be damaged: check that python can read it (anndata.read_h5ad), or save it again';
}

/** Wraps anything thrown by h5wasm into an AnnDataError naming the file and element. */
export function asAnnDataError(
  err: unknown,
  file: string,
  element: string | undefined,
  doing: 'open' | 'read' | 'write',
): ScnymError {
  if (err instanceof ScnymError) return err;
  const reason = hdf5Reason(err);
  return new AnnDataError(`cannot ${doing} the HDF5 data (${reason})`, {
    file,
    element: element || undefined,
    hint: hintFor(reason),
    cause: err,
  });
}

// ---------------------------------------------------------------------------------------------
// Paths, shapes and selections

function normalize(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}
const h5Path = (path: string): string => `/${path}`;
const parentOf = (path: string): string => path.slice(0, Math.max(path.lastIndexOf('/'), 0));
const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const product = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
const isWithin = (path: string, ancestor: string): boolean =>
  path === ancestor || path.startsWith(`${ancestor}/`);

function resolveSelection(
  shape: number[],
  selection: Selection | undefined,
  where: { file: string; element: string },
): Range[] {
  if (selection && selection.length > shape.length) {
    throw new AnnDataError(
      `selection has ${selection.length} dimensions but the array has ${shape.length}`,
      where,
    );
  }
  return shape.map((size, d) => {
    const r = selection?.[d] ?? { start: 0, end: size };
    const ok = Number.isInteger(r.start) && Number.isInteger(r.end);
    if (!ok || r.start < 0 || r.end < r.start || r.end > size) {
      throw new AnnDataError(
        `selection [${r.start}, ${r.end}) is outside dimension ${d} (size ${size})`,
        where,
      );
    }
    return r;
  });
}

/** Copies a rectangular part of a row-major array (used for elements not yet on disk). */
function sliceArray(data: ArrayData, shape: number[], ranges: Range[]): ArrayData {
  const outShape = ranges.map((r) => r.end - r.start);
  const out = emptyLike(data, product(outShape));
  if (out.length === 0) return out;
  if (shape.length === 0) return data.slice() as ArrayData;
  const strides = shape.map((_, d) => product(shape.slice(d + 1)));
  const last = shape.length - 1;
  const run = outShape[last];
  const src = data as unknown as { [i: number]: unknown };
  const dst = out as unknown as { [i: number]: unknown };
  const index = new Array<number>(last).fill(0);
  for (let o = 0; o < out.length; o += run) {
    let s = ranges[last].start;
    for (let d = 0; d < last; d++) s += (ranges[d].start + index[d]) * strides[d];
    for (let k = 0; k < run; k++) dst[o + k] = src[s + k];
    for (let d = last - 1; d >= 0 && ++index[d] === outShape[d]; d--) index[d] = 0;
  }
  return out;
}

function emptyLike(data: ArrayData, n: number): ArrayData {
  if (Array.isArray(data)) return new Array<string>(n).fill('');
  const Ctor = data.constructor as new (n: number) => NumericArray;
  return new Ctor(n);
}

function emptyOf(dtype: DType): ArrayData {
  return dtype === 'string' ? [] : makeNumeric(dtype, 0);
}

function makeNumeric(dtype: NumericDType, n: number): NumericArray {
  switch (dtype) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'uint64':
      return new BigUint64Array(n);
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding HDF5 memory into ArrayData

function isBoolEnum(md: Metadata): boolean {
  const members = md.enum_type?.members ?? {};
  const names = Object.keys(members);
  return names.length === 2 && members['FALSE'] === 0 && members['TRUE'] === 1;
}

/** Our DType for an HDF5 datatype, or undefined when scNym cannot use it. */
function dtypeOf(md: Metadata): DType | undefined {
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
function describeType(md: Metadata): string {
  if (md.type === T_FLOAT) return `float${md.size * 8}`;
  return TYPE_NAMES[md.type] ?? `HDF5 type class ${md.type}`;
}

/** Turns bytes H5Dread/H5Aread wrote (n elements of `md`) into JS values. */
function decodeValues(m: H5Module, fileId: bigint, bytes: Uint8Array, md: Metadata, n: number) {
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

const utf8 = new TextDecoder('utf-8');
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
function toAttrValue(name: string, data: ArrayData, md: Metadata): AttrValue {
  let values: AttrValue[] = Array.isArray(data)
    ? data.map(fromBoolPlaceholder)
    : Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
  if ((md.type === T_ENUM && isBoolEnum(md)) || name === 'ordered') {
    values = values.map((v) => (typeof v === 'number' ? v !== 0 : v));
  }
  return md.shape?.length === 0 ? values[0] : values;
}

// ---------------------------------------------------------------------------------------------
// HDF5 file surgery, done while HDF5 has the file closed
//
// h5wasm can neither create enums nor delete links, so two edits are made on the bytes:
// - h5py stores a bool as an enum {FALSE: 0, TRUE: 1} of int8, and anndata < 0.9 insists on a real
//   bool for a categorical's `ordered`. A bool attribute is first written as a 33-byte fixed-length
//   string holding a unique token: in a version-1 object header (what `libver: 'earliest'` gives)
//   its message is exactly as long as h5py's enum one, so it is rewritten in place.
// - a link is deleted from an old-style group (what h5py writes by default: a B-tree of symbol
//   table nodes sorted by name) by removing its entry from its node. The object itself stays in
//   the file, unreachable (h5repack reclaims the space), as HDF5 does until it is repacked.

/** Random access to the bytes of an HDF5 file; a read past the end returns fewer bytes. */
export interface ByteAccess {
  read(position: number, length: number): Uint8Array;
  write(position: number, data: Uint8Array): void;
}

/** What the writer needs to edit bytes that h5wasm cannot: raw access and a way back in. */
export interface H5adFileAccess {
  /** Opens the file's bytes; called only while HDF5 has the file closed. */
  bytes(): ByteAccess & { close(): void };
  /** Opens the file again with h5wasm, mode 'a' and `libver: ['earliest', 'latest']`. */
  reopen(): H5File;
}

const BOOL_TOKEN = /^scnym-bool:[0-9a-f]{16}:([01])$/;
const PLACEHOLDER_SIZE = 33;
const UNDEFINED_ADDRESS = 0xffffffffffffffffn;
const MSG_NULL = 0x00;
const MSG_LINK_INFO = 0x02;
const MSG_LINK = 0x06;
const MSG_ATTRIBUTE = 0x0c;
const MSG_CONTINUATION = 0x10;
const MSG_SYMBOL_TABLE = 0x11;
const SYMBOL_ENTRY_SIZE = 40;

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
const textEncoder = new TextEncoder();
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u64 = (b: Uint8Array, at: number): bigint => dv(b).getBigUint64(at, true);

function fromBoolPlaceholder(s: string): AttrValue {
  const m = BOOL_TOKEN.exec(s);
  return m ? m[1] === '1' : s;
}

function newBoolToken(value: boolean): string {
  let nonce = '';
  for (let i = 0; i < 16; i++) nonce += Math.floor(Math.random() * 16).toString(16);
  return `scnym-bool:${nonce}:${value ? 1 : 0}`;
}

interface BoolFixup {
  /** Path (ours, no leading slash) of the object holding the attribute. */
  path: string;
  name: string;
  value: boolean;
  token: string;
}

/** Where the superblock is: every address in the file counts from there. */
function superblockBase(io: ByteAccess): number {
  for (let at = 0; ; at = at === 0 ? 512 : at * 2) {
    const head = io.read(at, 16);
    if (head.length < 16) throw new Error('no HDF5 superblock found');
    if (SIGNATURE.every((b, i) => head[i] === b)) {
      const version = head[8];
      const sizes = version < 2 ? [head[13], head[14]] : [head[9], head[10]];
      if (sizes[0] !== 8 || sizes[1] !== 8) throw new Error('HDF5 offsets are not 8 bytes');
      return at;
    }
  }
}
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

interface HeaderMessage {
  type: number;
  /** File position of the message's 8-byte header; its body follows. */
  at: number;
  body: Uint8Array;
}

/** The messages of a version-1 object header, following continuation blocks. */
function v1Messages(io: ByteAccess, base: number, address: number): HeaderMessage[] {
  const prefix = io.read(base + address, 16);
  if (prefix.length < 16 || prefix[0] !== 1) {
    throw new Error('the object header is not version 1 (file written with libver="latest"?)');
  }
  const blocks: [number, number][] = [[base + address + 16, dv(prefix).getUint32(8, true)]];
  const out: HeaderMessage[] = [];
  for (let i = 0; i < blocks.length && i < 256; i++) {
    const [start, size] = blocks[i];
    const bytes = io.read(start, size);
    for (let p = 0; p + 8 <= bytes.length;) {
      const len = dv(bytes).getUint16(p + 2, true);
      const msg = {
        type: dv(bytes).getUint16(p, true),
        at: start + p,
        body: bytes.subarray(p + 8, p + 8 + len),
      };
      if (msg.type === MSG_CONTINUATION) {
        blocks.push([base + Number(u64(msg.body, 0)), Number(u64(msg.body, 8))]);
      }
      out.push(msg);
      p += 8 + len;
    }
  }
  return out;
}

/** Rewrites a placeholder attribute as h5py's scalar bool enum; false if it is not there. */
function patchBoolAttribute(io: ByteAccess, base: number, address: number, fx: BoolFixup): boolean {
  let messages: HeaderMessage[];
  try {
    messages = v1Messages(io, base, address);
  } catch {
    return false; // not a version-1 header
  }
  const msg = messages.find((m) => m.type === MSG_ATTRIBUTE && isPlaceholder(m.body, fx));
  if (msg) io.write(msg.at + 8, enumAttributeMessage(fx.name, fx.value));
  return msg !== undefined;
}

function isPlaceholder(body: Uint8Array, fx: BoolFixup): boolean {
  const name = textEncoder.encode(`${fx.name}\0`);
  const n = pad8(name.length);
  if (body.length !== pad8(8 + n + 8 + 8 + PLACEHOLDER_SIZE) || body[0] !== 1) return false;
  const v = dv(body);
  if (v.getUint16(2, true) !== name.length || v.getUint16(4, true) !== 8) return false;
  if (!name.every((b, i) => body[8 + i] === b)) return false;
  if ((body[8 + n] & 0x0f) !== T_STRING || v.getUint32(12 + n, true) !== PLACEHOLDER_SIZE) {
    return false;
  }
  return textEncoder.encode(fx.token).every((b, i) => body[24 + n + i] === b);
}

/** An h5py-identical version-1 attribute message body: a scalar bool enum. */
function enumAttributeMessage(name: string, value: boolean): Uint8Array {
  const nameBytes = textEncoder.encode(`${name}\0`);
  const n = pad8(nameBytes.length);
  const enumType = [
    ...[0x18, 2, 0, 0, 1, 0, 0, 0], // enum, version 1, 2 members, 1 byte
    ...[0x10, 0x08, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0], // base type: signed 8-bit little-endian
    ...textEncoder.encode('FALSE\0\0\0TRUE\0\0\0\0'),
    ...[0, 1], // member values
  ];
  const out = new Uint8Array(pad8(8 + n + pad8(enumType.length) + 8 + 1));
  const v = dv(out);
  out[0] = 1; // attribute message version 1
  v.setUint16(2, nameBytes.length, true);
  v.setUint16(4, enumType.length, true);
  v.setUint16(6, 8, true); // dataspace size
  out.set(nameBytes, 8);
  out.set(enumType, 8 + n);
  const space = 8 + n + pad8(enumType.length);
  out[space] = 1; // scalar dataspace, version 1
  out[space + 8] = value ? 1 : 0;
  return out;
}

/** Deletes the link `name` from the group whose object header is at `address`. */
function unlinkChild(io: ByteAccess, base: number, address: number, name: string): void {
  const messages = v1Messages(io, base, address);
  const link = messages.find((m) => m.type === MSG_LINK && linkName(m.body) === name);
  if (link) {
    io.write(link.at, Uint8Array.of(MSG_NULL, 0)); // a compact link: its message becomes padding
    return;
  }
  const info = messages.find((m) => m.type === MSG_LINK_INFO);
  if (info && u64(info.body, info.body[1] & 1 ? 10 : 2) !== UNDEFINED_ADDRESS) {
    throw new Error('the group stores its links in dense (fractal heap) form');
  }
  const stab = messages.find((m) => m.type === MSG_SYMBOL_TABLE);
  if (!stab) throw new Error(`no link named '${name}'`);
  const heapData = Number(u64(io.read(base + Number(u64(stab.body, 8)), 32), 24));
  for (const node of groupLeaves(io, base, Number(u64(stab.body, 0)))) {
    if (removeSymbol(io, base + node, (offset) => heapString(io, base + heapData + offset), name)) {
      return;
    }
  }
  throw new Error(`no link named '${name}'`);
}

function linkName(body: Uint8Array): string {
  const flags = body[1];
  let p = 2 + (flags & 0x08 ? 1 : 0) + (flags & 0x04 ? 8 : 0) + (flags & 0x10 ? 1 : 0);
  const width = 1 << (flags & 3);
  const len = Number(
    width === 8
      ? u64(body, p)
      : dv(body)[width === 1 ? 'getUint8' : width === 2 ? 'getUint16' : 'getUint32'](p, true),
  );
  p += width;
  return utf8.decode(body.subarray(p, p + len));
}

/** Symbol table node addresses of a group's version-1 B-tree. */
function groupLeaves(io: ByteAccess, base: number, root: number): number[] {
  const leaves: number[] = [];
  const stack = [root];
  for (let visited = 0; stack.length > 0 && visited < 100000; visited++) {
    const at = base + (stack.pop() as number);
    const head = io.read(at, 24);
    if (utf8.decode(head.subarray(0, 4)) !== 'TREE' || head[4] !== 0) {
      throw new Error('the group B-tree is damaged');
    }
    const entries = dv(head).getUint16(6, true);
    const body = io.read(at + 24, 8 + entries * 16);
    const children = Array.from({ length: entries }, (_, i) => Number(u64(body, 8 + i * 16)));
    (head[5] === 0 ? leaves : stack).push(...children);
  }
  return leaves;
}

/** Removes `name` from one symbol table node, keeping the others in order. */
function removeSymbol(
  io: ByteAccess,
  at: number,
  nameAt: (heapOffset: number) => string,
  name: string,
): boolean {
  const head = io.read(at, 8);
  if (utf8.decode(head.subarray(0, 4)) !== 'SNOD') {
    throw new Error('a group symbol table node is damaged');
  }
  const count = dv(head).getUint16(6, true);
  const entries = io.read(at + 8, count * SYMBOL_ENTRY_SIZE);
  for (let i = 0; i < count; i++) {
    if (nameAt(Number(u64(entries, i * SYMBOL_ENTRY_SIZE))) !== name) continue;
    const rest = new Uint8Array(SYMBOL_ENTRY_SIZE * (count - i)); // later entries, then zeros
    rest.set(entries.subarray((i + 1) * SYMBOL_ENTRY_SIZE));
    io.write(at + 8 + i * SYMBOL_ENTRY_SIZE, rest);
    const newCount = new Uint8Array(2);
    dv(newCount).setUint16(0, count - 1, true);
    io.write(at + 6, newCount);
    return true;
  }
  return false;
}

/** A NUL-terminated UTF-8 string from a local heap. */
function heapString(io: ByteAccess, at: number): string {
  const parts: Uint8Array[] = [];
  for (let pos = at; ; pos += 256) {
    const chunk = io.read(pos, 256);
    const nul = chunk.indexOf(0);
    parts.push(nul >= 0 ? chunk.subarray(0, nul) : chunk);
    if (nul >= 0 || chunk.length < 256) break;
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  return utf8.decode(bytes);
}

// ---------------------------------------------------------------------------------------------
// Reading

class H5adReader implements Hierarchy {
  readonly format = 'h5ad' as const;
  protected closed = false;
  /** Set once HDF5 has thrown: h5wasm then keeps objects open, so the file never fully closes. */
  protected hdf5Failed = false;
  protected fileId: bigint;

  constructor(
    protected file: H5File,
    readonly source: string,
    protected readonly m: H5Module,
  ) {
    prepareH5wasm(m);
    if (file.file_id < 0n) {
      throw new AnnDataError('not an HDF5/h5ad file, or it cannot be opened', {
        file: source,
        hint: 'check that the path names an .h5ad file written by anndata',
      });
    }
    this.fileId = file.file_id;
  }

  kind(path: string): Promise<NodeKind> {
    return this.run(path, 'read', (p) => this.kindOf(p));
  }
  attrs(path: string): Promise<Attrs> {
    return this.run(path, 'read', (p) => this.attrsOf(p));
  }
  children(path: string): Promise<string[]> {
    return this.run(path, 'read', (p) => this.childrenOf(p).sort());
  }
  meta(path: string): Promise<ArrayMeta> {
    return this.run(path, 'read', (p) => this.metaOf(p));
  }
  read(path: string, selection?: Selection): Promise<ArrayResult> {
    return this.run(path, 'read', (p) => this.readOf(p, selection));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.file.close();
    } catch (err) {
      throw asAnnDataError(err, this.source, undefined, 'write');
    }
  }

  /** Runs a synchronous h5wasm operation; whatever it throws comes out as a ScnymError. */
  protected async run<T>(
    path: string,
    doing: 'read' | 'write',
    op: (path: string) => T,
  ): Promise<T> {
    const p = normalize(path);
    if (this.closed) {
      throw new AnnDataError('the file is already closed', { file: this.source, element: p });
    }
    try {
      return op(p);
    } catch (err) {
      if (!(err instanceof ScnymError)) this.hdf5Failed = true;
      throw asAnnDataError(err, this.source, p, doing);
    }
  }

  protected kindOf(path: string): NodeKind {
    if (path === '') return 'group';
    // H5LTpath_valid fails (and h5wasm leaks) when a parent is a dataset: check parents first
    if (this.kindOf(parentOf(path)) !== 'group') return 'missing';
    const t = this.m.get_type(this.fileId, h5Path(path));
    if (t === this.m.H5G_GROUP) return 'group';
    if (t === this.m.H5G_DATASET) return 'array';
    return 'missing';
  }

  protected attrsOf(path: string): Attrs {
    this.require(path, this.kindOf(path));
    const out: Attrs = {};
    const names = this.m.get_attribute_names(this.fileId, h5Path(path)) as string[];
    for (const name of names) out[name] = this.readAttr(h5Path(path), name);
    return out;
  }

  protected childrenOf(path: string): string[] {
    this.require(path, this.kindOf(path), 'group');
    return this.m.get_names(this.fileId, h5Path(path), false);
  }

  protected metaOf(path: string): ArrayMeta {
    this.require(path, this.kindOf(path), 'array');
    const md = this.m.get_dataset_metadata(this.fileId, h5Path(path));
    const meta: ArrayMeta = {
      shape: md.shape ?? [0],
      dtype: this.supportedDType(path, md),
      codecs: this.filters(path).map((f) => f.name),
    };
    if (md.chunks) meta.chunks = md.chunks;
    return meta;
  }

  protected readOf(path: string, selection?: Selection): ArrayResult {
    const meta = this.metaOf(path);
    this.checkFilters(path);
    const ranges = resolveSelection(meta.shape, selection, { file: this.source, element: path });
    const shape = ranges.map((r) => r.end - r.start);
    if (product(shape) === 0) return { data: emptyOf(meta.dtype), shape };
    return { data: this.readDataset(path, ranges), shape };
  }

  /** Throws the AnnDataError for a missing element or one of the wrong kind. */
  protected require(path: string, kind: NodeKind, want?: 'group' | 'array'): void {
    const where = { file: this.source, element: path || '/' };
    if (kind === 'missing') {
      throw new AnnDataError('is not in the file', { ...where, hint: this.siblingsHint(path) });
    }
    if (want && kind !== want) {
      throw new AnnDataError(
        `is ${kind === 'group' ? 'a group' : 'an array'}, not ${want === 'group' ? 'a group' : 'an array'}`,
        where,
      );
    }
  }

  private siblingsHint(path: string): string | undefined {
    const parent = parentOf(path);
    if (this.kindOf(parent) !== 'group') return `'${parent || '/'}' is not in the file either`;
    const names = this.childrenOf(parent).sort();
    const shown = names.slice(0, 12).join(', ') + (names.length > 12 ? ', …' : '');
    return names.length ? `'${parent || '/'}' holds: ${shown}` : `'${parent || '/'}' is empty`;
  }

  private supportedDType(path: string, md: Metadata): DType {
    const dtype = dtypeOf(md);
    if (dtype) return dtype;
    throw new AnnDataError(`has an HDF5 datatype scNym cannot read (${describeType(md)})`, {
      file: this.source,
      element: path,
      hint: 'save the file again with anndata ≥ 0.8 (adata.write_h5ad), which writes plain arrays',
    });
  }

  protected filters(path: string): { id: number; name: string }[] {
    const raw = this.m.get_dataset_filters(this.fileId, h5Path(path));
    return raw.map((f) => ({ id: f.id, name: FILTER_NAMES[f.id] ?? (f.name || `filter ${f.id}`) }));
  }

  private checkFilters(path: string): void {
    const missing = this.filters(path).find((f) => !BUILT_IN_FILTERS.has(f.id));
    if (!missing) return;
    throw new AnnDataError(
      `is compressed with the '${missing.name}' HDF5 filter (id ${missing.id}), which the bundled HDF5 cannot decode`,
      {
        file: this.source,
        element: path,
        hint: 're-save the file with gzip or no compression, e.g. adata.write_h5ad(path, compression="gzip")',
      },
    );
  }

  private readDataset(path: string, ranges: Range[]): ArrayData {
    const h5 = h5Path(path);
    const md = this.m.get_dataset_metadata(this.fileId, h5);
    const count = ranges.map((r) => BigInt(r.end - r.start));
    const n = product(ranges.map((r) => r.end - r.start));
    const slab = ranges.length > 0;
    return this.withBuffer(path, md.size * n, (ptr) => {
      try {
        const status = this.m.get_dataset_data(
          this.fileId,
          h5,
          slab ? count : null,
          slab ? ranges.map((r) => BigInt(r.start)) : null,
          slab ? ranges.map(() => 1n) : null,
          BigInt(ptr),
        );
        if (status < 0) throw new Error(`H5Dread failed (status ${status})`);
        return decodeValues(this.m, this.fileId, this.heap(ptr, md.size * n), md, n);
      } finally {
        if (md.vlen)
          this.reclaim(() =>
            this.m.reclaim_vlen_memory_count(this.fileId, h5, '', BigInt(ptr), count),
          );
      }
    });
  }

  protected readAttr(h5: string, name: string): AttrValue {
    const md = this.m.get_attribute_metadata(this.fileId, h5, name);
    if (!md.shape) return null; // HDF5 null dataspace (h5py.Empty)
    const decodable = md.type === T_STRING || md.type === T_REFERENCE || dtypeOf(md);
    if (!decodable) return null;
    const n = md.total_size;
    const element = `${h5.slice(1) || '/'} (attribute '${name}')`;
    const data = this.withBuffer(element, md.size * n, (ptr) => {
      try {
        const status = this.m.get_attribute_data(this.fileId, h5, name, BigInt(ptr));
        if (status < 0) throw new Error(`H5Aread failed (status ${status})`);
        return decodeValues(this.m, this.fileId, this.heap(ptr, md.size * n), md, n);
      } finally {
        if (md.vlen)
          this.reclaim(() => this.m.reclaim_vlen_memory(this.fileId, h5, name, BigInt(ptr)));
      }
    });
    return toAttrValue(name, data, md);
  }

  /** A zeroed wasm buffer: if a read fails half-way, freeing its strings frees only NULLs. */
  private withBuffer<T>(element: string, nbytes: number, use: (ptr: number) => T): T {
    if (nbytes > this.m.MAXIMUM_MEMORY) {
      throw new AnnDataError(`needs ${nbytes} bytes at once, more than WebAssembly can hold`, {
        file: this.source,
        element,
        hint: 'read it in smaller parts',
      });
    }
    const ptr = this.m._malloc(Math.max(nbytes, 1));
    if (!ptr) {
      throw new AnnDataError(`cannot allocate ${nbytes} bytes`, { file: this.source, element });
    }
    try {
      this.m.HEAPU8.fill(0, ptr, ptr + nbytes);
      return use(ptr);
    } finally {
      this.m._free(ptr);
    }
  }

  private heap(ptr: number, nbytes: number): Uint8Array {
    return this.m.HEAPU8.slice(ptr, ptr + nbytes); // HEAPU8 changes when memory grows
  }

  /** Frees HDF5's string copies; a failure there must not hide the read's own error. */
  private reclaim(free: () => number): void {
    try {
      free();
    } catch {
      // nothing more to do: at worst a small leak inside the wasm heap
    }
  }
}

/** A read-only Hierarchy over an h5wasm File; `close()` closes the file. */
export function openH5ad(file: H5File, source: string, module: H5Module): Hierarchy {
  return new H5adReader(file, source, module);
}

// ---------------------------------------------------------------------------------------------
// Writing

type Pending =
  | { kind: 'group'; attrs: Attrs }
  | { kind: 'array'; array: NewArray & { data: ArrayData }; attrs: Attrs };

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
function encodeAttr(name: string, value: AttrValue): EncodedAttr {
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

const isBoolAttr = (name: string, value: AttrValue): boolean =>
  typeof value === 'boolean' || (name === 'ordered' && typeof value === 'number');

/** Checks a new array and converts its data to the typed array its dtype stores. */
function normalizeArray(a: NewArray, where: { file: string; element: string }): NewArray {
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

/** Chunks and compression for a new array: gzip when the file's X uses deflate. */
function layoutFor(a: NewArray, compress: boolean): { chunks?: number[]; compression?: 'gzip' } {
  // h5wasm refuses to compress variable-length strings
  if (!compress || a.dtype === 'string' || a.shape.length === 0 || product(a.shape) === 0) {
    return {};
  }
  const rowBytes = product(a.shape.slice(1)) * ITEM_BYTES[a.dtype];
  const rows = Math.min(a.shape[0], Math.max(1, Math.floor(CHUNK_BYTES / rowBytes)));
  return { chunks: [rows, ...a.shape.slice(1)], compression: 'gzip' };
}

export interface H5adWriteOptions {
  /**
   * Raw access to the file, for what h5wasm cannot do: with it, bool attributes (a categorical's
   * `ordered`) become h5py's bool enum, which every anndata reads, and `remove`/`move` work on
   * elements already in the file. Without it, bools are stored as int8 0/1 (read by anndata
   * ≥ 0.9) and only new elements can be removed or moved. The file must then be opened with
   * `libver: ['earliest', 'latest']`, as h5py writes.
   */
  access?: H5adFileAccess;
}

class H5adWriter extends H5adReader implements WritableHierarchy {
  /** New elements, in creation order (parents first), written to the file by flush(). */
  private pending = new Map<string, Pending>();
  /** Elements in the file that were removed; unlinked from it by flush(). */
  private removed = new Set<string>();
  private fixups: BoolFixup[] = [];
  private compress?: boolean;

  constructor(
    file: H5File,
    source: string,
    m: H5Module,
    private readonly access: H5adFileAccess | undefined,
  ) {
    super(file, source, m);
  }

  createGroup(path: string, attrs: Attrs = {}): Promise<void> {
    return this.run(path, 'write', (p) => {
      this.assertCreatable(p);
      this.checkAttrs(p, attrs);
      this.pending.set(p, { kind: 'group', attrs: { ...attrs } });
    });
  }

  createArray(path: string, array: NewArray): Promise<void> {
    return this.run(path, 'write', (p) => {
      this.assertCreatable(p);
      const attrs = array.attrs ?? {};
      this.checkAttrs(p, attrs);
      const normalized = normalizeArray(array, { file: this.source, element: p });
      this.pending.set(p, { kind: 'array', array: normalized, attrs: { ...attrs } });
    });
  }

  setAttrs(path: string, attrs: Attrs): Promise<void> {
    return this.run(path, 'write', (p) => {
      this.checkAttrs(p, attrs);
      const node = this.pending.get(p);
      if (node) node.attrs = { ...attrs };
      else this.replaceDiskAttrs(p, attrs);
    });
  }

  remove(path: string): Promise<void> {
    return this.run(path, 'write', (p) => {
      if (p === '')
        throw new AnnDataError('the root group cannot be removed', { file: this.source });
      const onDisk = !this.pending.has(p) && this.kindOf(p) !== 'missing';
      if (onDisk && !this.access) throw this.cannotUnlink(p, 'delete');
      this.dropPending(p);
      this.fixups = this.fixups.filter((f) => !isWithin(f.path, p));
      if (onDisk) this.removed.add(p);
    });
  }

  move(from: string, to: string): Promise<void> {
    return this.run(from, 'write', (p) => {
      const target = normalize(to);
      this.require(p, this.kindOf(p));
      this.assertCreatable(target);
      if (this.pending.has(p)) this.renamePending(p, target);
      else this.moveOnDisk(p, target);
    });
  }

  flush(): Promise<void> {
    return this.run('', 'write', () => {
      this.unlinkRemoved();
      for (const [path, node] of this.pending) {
        this.materialize(path, node);
        this.pending.delete(path);
      }
      this.file.flush();
      this.patchBools();
    });
  }

  /** Elements not yet flushed are discarded. */
  override async close(): Promise<void> {
    this.pending.clear();
    await super.close();
  }

  protected override kindOf(path: string): NodeKind {
    const node = this.pending.get(path);
    if (node) return node.kind;
    if (this.isRemoved(path)) return 'missing';
    return super.kindOf(path);
  }

  protected override attrsOf(path: string): Attrs {
    const node = this.pending.get(path);
    if (node) return { ...node.attrs };
    this.require(path, this.kindOf(path));
    return super.attrsOf(path);
  }

  protected override childrenOf(path: string): string[] {
    const node = this.pending.get(path);
    this.require(path, this.kindOf(path), 'group');
    const onDisk = node ? [] : super.childrenOf(path);
    const kept = onDisk.filter((name) => !this.isRemoved(path ? `${path}/${name}` : name));
    const added = [...this.pending.keys()].filter((k) => parentOf(k) === path).map(nameOf);
    return [...kept, ...added];
  }

  protected override metaOf(path: string): ArrayMeta {
    const array = this.pendingArray(path);
    if (!array) return super.metaOf(path);
    const layout = layoutFor(array, this.compressNew());
    const meta: ArrayMeta = {
      shape: [...array.shape],
      dtype: array.dtype,
      codecs: layout.compression ? ['deflate'] : [],
    };
    if (layout.chunks) meta.chunks = layout.chunks;
    return meta;
  }

  protected override readOf(path: string, selection?: Selection): ArrayResult {
    const array = this.pendingArray(path);
    if (!array) return super.readOf(path, selection);
    const ranges = resolveSelection(array.shape, selection, { file: this.source, element: path });
    return {
      data: sliceArray(array.data, array.shape, ranges),
      shape: ranges.map((r) => r.end - r.start),
    };
  }

  private pendingArray(path: string): (NewArray & { data: ArrayData }) | undefined {
    const node = this.pending.get(path);
    if (!node) {
      this.require(path, this.kindOf(path)); // a removed element reads as missing
      return undefined;
    }
    this.require(path, node.kind, 'array');
    return node.kind === 'array' ? node.array : undefined;
  }

  private isRemoved(path: string): boolean {
    for (let p = path; p !== ''; p = parentOf(p)) if (this.removed.has(p)) return true;
    return false;
  }

  private dropPending(path: string): void {
    for (const key of [...this.pending.keys()]) if (isWithin(key, path)) this.pending.delete(key);
  }

  private renamePending(from: string, to: string): void {
    const renamed = new Map<string, Pending>();
    for (const [key, node] of this.pending) {
      renamed.set(isWithin(key, from) ? to + key.slice(from.length) : key, node);
    }
    this.pending = renamed;
  }

  /** A second (hard) link under the new name now; the old one goes at the next unlink. */
  private moveOnDisk(from: string, to: string): void {
    if (!this.access) throw this.cannotUnlink(from, 'rename');
    this.unlinkRemoved(); // `to` may be a removed element still linked in the file
    this.m.create_hard_link(this.fileId, h5Path(from), h5Path(to));
    this.removed.add(from);
    for (const f of this.fixups)
      if (isWithin(f.path, from)) f.path = to + f.path.slice(from.length);
  }

  private assertCreatable(path: string): void {
    const where = { file: this.source, element: path || '/' };
    if (path === '' || this.kindOf(path) !== 'missing') {
      throw new WriteConflictError('already exists', {
        ...where,
        hint: 'choose another name, or remove the existing element first',
      });
    }
    if (this.kindOf(parentOf(path)) !== 'group') {
      const parent = parentOf(path) || '/';
      throw new AnnDataError(`cannot be created: its parent '${parent}' is not a group`, where);
    }
  }

  private checkAttrs(path: string, attrs: Attrs): void {
    for (const [name, value] of Object.entries(attrs)) {
      try {
        encodeAttr(name, value);
      } catch (err) {
        const e = err as AnnDataError;
        throw new AnnDataError(e.message, { file: this.source, element: path, hint: e.hint });
      }
    }
  }

  private cannotUnlink(path: string, what: 'delete' | 'rename'): AnnDataError {
    const python = what === 'delete' ? `del f["${path}"]` : `f.move("${path}", new_name)`;
    return new AnnDataError(
      `cannot ${what} an element already in the file: h5wasm cannot unlink HDF5 objects`,
      {
        file: this.source,
        element: path,
        hint: `write under a new key, or ${what} it in python: f = h5py.File(path, "a"); ${python}`,
      },
    );
  }

  private compressNew(): boolean {
    if (this.compress === undefined) {
      const x = super.kindOf('X');
      const data = x === 'group' ? 'X/data' : 'X';
      this.compress =
        x !== 'missing' &&
        super.kindOf(data) === 'array' &&
        this.filters(data).some((f) => f.id === DEFLATE);
    }
    return this.compress;
  }

  private materialize(path: string, node: Pending): void {
    if (node.kind === 'group') {
      this.m.create_group(this.fileId, h5Path(path), false);
    } else {
      const { array } = node;
      const { chunks, compression } = layoutFor(array, this.compressNew());
      const parent = this.object(parentOf(path)) as Group;
      parent.create_dataset({
        name: nameOf(path),
        data: array.data as NumericArray | string[],
        shape: array.shape,
        dtype: H5_DTYPES[array.dtype],
        ...(compression ? { chunks, compression, compression_opts: GZIP_LEVEL } : {}),
      });
    }
    const target = this.object(path);
    for (const [name, value] of Object.entries(node.attrs)) {
      this.writeAttr(target, path, name, value);
    }
  }

  /** Replaces the attributes of an element on disk, leaving unchanged ones as they are stored. */
  private replaceDiskAttrs(path: string, attrs: Attrs): void {
    const current = this.attrsOf(path);
    const target = this.object(path);
    const same = (name: string): boolean =>
      name in attrs &&
      name in current &&
      JSON.stringify(attrs[name]) === JSON.stringify(current[name]);
    for (const name of Object.keys(current)) {
      if (same(name)) continue;
      target.delete_attribute(name);
      this.fixups = this.fixups.filter((f) => !(f.path === path && f.name === name));
    }
    for (const [name, value] of Object.entries(attrs)) {
      if (!same(name)) this.writeAttr(target, path, name, value);
    }
  }

  private writeAttr(target: Group | Dataset, path: string, name: string, value: AttrValue): void {
    if (this.access && isBoolAttr(name, value)) {
      const token = newBoolToken(Boolean(value));
      target.create_attribute(name, token, [], `S${PLACEHOLDER_SIZE}`);
      this.fixups.push({ path, name, value: Boolean(value), token });
      return;
    }
    const enc = encodeAttr(name, value);
    target.create_attribute(name, enc.data, enc.shape, enc.dtype);
  }

  /** Deletes the removed elements' links from the file, then checks the file agrees. */
  private unlinkRemoved(): void {
    const targets = [...this.removed].filter((p) => !this.isRemoved(parentOf(p)));
    if (targets.length === 0) return;
    const groups = targets.map((p) => this.headerAddress(parentOf(p)));
    let current = targets[0];
    try {
      this.withFileClosed((io) => {
        const base = superblockBase(io);
        targets.forEach((p, i) => unlinkChild(io, base, groups[i], nameOf((current = p))));
      });
    } catch (err) {
      throw this.cannotRemove(current, err);
    }
    this.removed.clear();
    const left = targets.find((p) => super.kindOf(p) !== 'missing');
    if (left) throw this.cannotRemove(left, new Error('it is still there after unlinking'));
  }

  private cannotRemove(path: string, err: unknown): AnnDataError {
    if (err instanceof AnnDataError) return err;
    return new AnnDataError(`cannot remove it from the file (${hdf5Reason(err)})`, {
      file: this.source,
      element: path,
      hint: `write under a new key, or delete it in python: f = h5py.File(path, "a"); del f["${path}"]`,
      cause: err,
    });
  }

  /** Turns the bool placeholders into enums (or int8 where that is impossible). */
  private patchBools(): void {
    if (this.fixups.length === 0) return;
    const fixups = this.fixups;
    this.fixups = [];
    const addresses = fixups.map((f) => this.headerAddress(f.path));
    const failed = this.withFileClosed((io) => {
      try {
        const base = superblockBase(io);
        return fixups.filter((f, i) => !patchBoolAttribute(io, base, addresses[i], f));
      } catch {
        return fixups; // not the layout h5py's defaults give: keep int8 instead
      }
    });
    for (const f of failed) {
      const target = this.object(f.path);
      if (!(f.name in target.attrs) || target.get_attribute(f.name, false) !== f.token) continue;
      target.delete_attribute(f.name);
      target.create_attribute(f.name, f.value ? 1 : 0, [], '<b');
    }
    if (failed.length > 0) this.file.flush();
  }

  private headerAddress(path: string): number {
    const ref = new Uint8Array(this.object(path).create_reference().ref_data);
    return Number(u64(ref, 0));
  }

  /** Closes the file, edits its bytes, opens it again (even if the edit failed). */
  private withFileClosed<T>(edit: (io: ByteAccess) => T): T {
    const access = this.access as H5adFileAccess;
    if (this.hdf5Failed) {
      throw new AnnDataError('an earlier HDF5 error keeps the file open inside h5wasm', {
        file: this.source,
        hint: 'nothing was changed; fix the earlier error and run the edit again',
      });
    }
    this.file.flush();
    this.file.close();
    try {
      const io = access.bytes();
      try {
        return edit(io);
      } finally {
        io.close();
      }
    } finally {
      this.reopen(access);
    }
  }

  private reopen(access: H5adFileAccess): void {
    try {
      this.file = access.reopen();
      this.fileId = this.file.file_id;
    } catch (err) {
      this.closed = true;
      throw err;
    }
  }

  private object(path: string): Group | Dataset {
    const entity = path === '' ? this.file : this.file.get(h5Path(path));
    if (entity && 'create_attribute' in entity) return entity as Group | Dataset;
    throw new AnnDataError('is not a group or array in the file', {
      file: this.source,
      element: path,
    });
  }
}

/**
 * A WritableHierarchy over an h5wasm File opened with mode 'a'. New elements are written by
 * `flush()`; `close()` without it discards them.
 */
export function openH5adWritable(
  file: H5File,
  source: string,
  module: H5Module,
  options: H5adWriteOptions = {},
): WritableHierarchy {
  return new H5adWriter(file, source, module, options.access);
}

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

import type { File as H5File } from 'h5wasm';
import { PLACEHOLDER_SIZE, type BoolFixup } from './bool-attrs.js';
import { utf8 } from './decode.js';
import { T_STRING } from './hdf5.js';

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
export const u64 = (b: Uint8Array, at: number): bigint => dv(b).getBigUint64(at, true);

/** Where the superblock is: every address in the file counts from there. */
export function superblockBase(io: ByteAccess): number {
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
export function patchBoolAttribute(
  io: ByteAccess,
  base: number,
  address: number,
  fx: BoolFixup,
): boolean {
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
export function unlinkChild(io: ByteAccess, base: number, address: number, name: string): void {
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
    const into = head[5] === 0 ? leaves : stack;
    for (let i = 0; i < entries; i++) into.push(Number(u64(body, 8 + i * 16)));
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

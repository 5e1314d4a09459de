/** Chunks of new arrays as bytes: chunk keys, value encodings and compression. */
import type { ArrayData, DType } from '../hierarchy.js';
import type { JsonObject } from './json.js';
import { emptyLike } from '../typed-arrays.js';

type Encoder = { encode(data: Uint8Array): Uint8Array | Promise<Uint8Array> };
type EncoderClass = { fromConfig(config: JsonObject): Encoder };

/** numcodecs encoders by codec id (zarrita only decodes gzip and zlib). */
export const ENCODERS: Record<string, () => Promise<EncoderClass>> = {
  blosc: () => import('numcodecs/blosc').then((m) => m.default as unknown as EncoderClass),
  zstd: () => import('numcodecs/zstd').then((m) => m.default as unknown as EncoderClass),
  lz4: () => import('numcodecs/lz4').then((m) => m.default as unknown as EncoderClass),
  gzip: () => import('numcodecs').then((m) => m.GZip as unknown as EncoderClass),
  zlib: () => import('numcodecs').then((m) => m.Zlib as unknown as EncoderClass),
};

export function chunkKey(coords: number[], version: 2 | 3): string {
  if (version === 3) return ['c', ...coords].join('/');
  return coords.length === 0 ? '0' : coords.join('.');
}

/** Values [start, end) of `data`, padded to a whole chunk (zarr stores edge chunks whole). */
export function sliceChunk(data: ArrayData, start: number, end: number, length: number): ArrayData {
  if (Array.isArray(data)) {
    const items = data.slice(start, end);
    while (items.length < length) items.push('');
    return items;
  }
  const out = emptyLike(data, length) as Exclude<ArrayData, string[]>;
  (out as Uint8Array).set((data as Uint8Array).subarray(start, end));
  return out;
}

export function encodeValues(
  values: ArrayData,
  dtype: DType,
  version: 2 | 3,
  scalar: boolean,
): Uint8Array {
  if (Array.isArray(values)) {
    return version === 2 && scalar ? encodeUtf32(values[0]) : encodeVlenUtf8(values);
  }
  if (dtype === 'bool') return Uint8Array.from(values as Uint8Array, (v) => (v ? 1 : 0));
  return littleEndianBytes(values);
}

/** numcodecs' vlen-utf8: item count, then per item its byte length and UTF-8 bytes (u32 LE). */
export function encodeVlenUtf8(items: string[]): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = items.map((s) => encoder.encode(s));
  const total = 4 + encoded.reduce((sum, b) => sum + 4 + b.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, items.length, true);
  let pos = 4;
  for (const bytes of encoded) {
    view.setUint32(pos, bytes.length, true);
    out.set(bytes, pos + 4);
    pos += 4 + bytes.length;
  }
  return out;
}

/** numpy's '<U{n}': n UTF-32 LE code points, zero-padded. */
function encodeUtf32(text: string): Uint8Array {
  const points = [...text].map((c) => c.codePointAt(0) as number);
  const out = new Uint8Array(4 * Math.max(1, points.length));
  const view = new DataView(out.buffer);
  points.forEach((p, i) => view.setUint32(4 * i, p, true));
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(values: Exclude<ArrayData, string[]>): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const width = values.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN || width === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) {
    for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j];
  }
  return swapped;
}

export async function compress(
  bytes: Uint8Array,
  compressor: JsonObject,
  version: 2 | 3,
): Promise<Uint8Array> {
  const id = String(version === 2 ? compressor.id : compressor.name);
  const config = version === 2 ? compressor : { ...(compressor.configuration as JsonObject), id };
  const load = ENCODERS[id];
  if (!load) throw new Error(`no encoder for the ${id} codec`);
  const Codec = await load();
  return Codec.fromConfig(config).encode(bytes);
}

import { NOVELTY_CARD_MAX_BYTES, type ModelRecord } from '@scnym/core/vocabulary';

/**
 * The body of `POST /api/save`: core's `Annotations` as JSON, with typed arrays as base64 so a
 * million confidences do not become a million JSON numbers. Platform-neutral (browser and Node).
 */

/** A typed array on the wire. */
export interface WireArray {
  dtype: 'float32' | 'int32';
  /** Little-endian bytes, base64. */
  base64: string;
}

export type WireObs =
  | { kind: 'categorical'; codes: WireArray; categories: string[] }
  | { kind: 'float'; values: WireArray };

export type WireUns = string | number | boolean | string[] | number[] | { [key: string]: WireUns };

export interface SaveRequest {
  /** Always 'scnym.save/1'. */
  schema: 'scnym.save/1';
  obs?: Record<string, WireObs>;
  obsm?: Record<string, { data: WireArray; shape: [number, number] }>;
  uns?: Record<string, WireUns>;
  /**
   * The model that made the predictions, as core's model files (scnym.json, model.json,
   * weights.bin), base64: the server writes it beside the dataset (MODEL_BESIDE_SUFFIX).
   */
  model?: { files: Record<string, string> };
}

export interface SaveResponse {
  ok: true;
  /** The keys written, as 'obs/scNym', 'obsm/X_scnym', … */
  written: string[];
  /** Where the model went (uns scNym_model), when one was sent. */
  model?: ModelRecord;
}

/**
 * `GET /api/saved`: what an earlier save left in the query (uns scNym_train_results,
 * scNym_markers, scNym_model), and whether the recorded model is there to load
 * (`/saved-model/<file>`).
 */
export interface SavedState {
  trainResults: Record<string, unknown> | null;
  markers: Record<string, unknown> | null;
  model: { record: ModelRecord; available: boolean; problem?: string } | null;
}

/**
 * The most bytes a model of `nGenes` inputs, `nClasses` outputs and hidden layers `hidden` wide
 * can need as core's files (scNym's layers: genes × hidden, hidden × hidden twice, hidden ×
 * classes, float32, with room for biases and batch norms; the card's gene and class names, its
 * linear head (genes × classes float32 in base64) and novelty reference; the layers' JSON).
 */
export function maxModelBytes(nGenes: number, nClasses: number, hidden: number): number {
  const weights = 4 * hidden * (nGenes + 3 * hidden + nClasses + 16);
  const card = 128 * nGenes + base64Length(4 * nGenes * nClasses) + NOVELTY_CARD_MAX_BYTES;
  return weights + card + TEXT_BYTES + TEXT_BYTES_PER_CLASS * nClasses;
}

export interface ErrorResponse {
  ok: false;
  error: string;
  hint?: string;
}

/** X_scnym larger than this is left out of a save (the JSON body would be too big). */
export const MAX_EMBEDDING_BYTES = 64 * 1024 * 1024;

/** Whether an nCells × dim X_scnym is small enough to save (float32). */
export function embeddingFits(nCells: number, dim: number): boolean {
  return nCells * dim * 4 <= MAX_EMBEDDING_BYTES;
}

/**
 * The most classes a reference or model picked in the page (not given to the server) can have
 * and still be saved: the server cannot see its shape, so it allows this many.
 */
export const PICKED_MAX_CLASSES = 500;

/** Base64 length of `bytes` bytes. */
const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/** What a save carries besides its arrays (category names, colours, uns): in all, and per class. */
const TEXT_BYTES = 1024 * 1024;
const TEXT_BYTES_PER_CLASS = 1024;

/**
 * The largest body a save of `nObs` cells can need, as the panel builds it (from core's
 * predictionAnnotations): the label codes, the confidences and the novelty scores (4 bytes a cell
 * each), the class probabilities (4 bytes a cell and class), X_scnym (4 bytes a cell and
 * dimension, left out above MAX_EMBEDDING_BYTES), the model of `nGenes` inputs (maxModelBytes;
 * none when 0), all in base64, and the text. The server refuses larger bodies unread.
 */
export function maxSaveBytes(
  nObs: number,
  nClasses: number,
  embeddingDim: number,
  nGenes = 0,
): number {
  const arrays =
    3 * base64Length(4 * nObs) +
    base64Length(4 * nObs * nClasses) +
    base64Length(Math.min(MAX_EMBEDDING_BYTES, 4 * nObs * embeddingDim)) +
    (nGenes > 0 ? base64Length(maxModelBytes(nGenes, nClasses, embeddingDim)) : 0);
  return arrays + TEXT_BYTES + TEXT_BYTES_PER_CLASS * nClasses;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 of bytes without Buffer or btoa (both platforms, any size). */
export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    const n = (a << 16) | (b << 8) | c;
    chunk += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    chunk += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    chunk += i + 2 < bytes.length ? B64[n & 63] : '=';
    if (chunk.length >= 65536) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) LOOKUP[B64.charCodeAt(i)] = i;

/** Decodes base64; throws on characters outside the alphabet. */
export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    const code = clean.charCodeAt(i);
    const v = code < 128 ? LOOKUP[code] : -1;
    if (v < 0) throw new Error(`invalid base64 character at ${i}`);
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, j);
}

export function wireArray(values: Float32Array | Int32Array): WireArray {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { dtype: values instanceof Float32Array ? 'float32' : 'int32', base64: toBase64(bytes) };
}

/** Decodes a wire array; the byte length must be a whole number of elements. */
export function fromWireArray(w: WireArray): Float32Array | Int32Array {
  const bytes = fromBase64(w.base64);
  if (bytes.byteLength % 4 !== 0) throw new Error('array bytes are not a multiple of 4');
  const copy = new Uint8Array(bytes); // aligned, owned buffer
  return w.dtype === 'float32'
    ? new Float32Array(copy.buffer, 0, copy.byteLength / 4)
    : new Int32Array(copy.buffer, 0, copy.byteLength / 4);
}

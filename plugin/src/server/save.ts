/**
 * Turns a `POST /api/save` body into core `Annotations`, refusing anything outside the scNym
 * keys: the server may only ever add or replace scNym's own outputs in the opened dataset.
 */
import {
  MODEL_FORMAT,
  MODEL_JSON,
  SCNYM_JSON,
  WEIGHTS_BIN,
  type Annotations,
  type ObsAnnotation,
  type UnsInput,
} from '@scnym/core';
import { annotationKeys, DEFAULT_KEY_ADDED } from '@scnym/core/vocabulary';
import {
  fromBase64,
  fromWireArray,
  type SaveRequest,
  type WireArray,
  type WireUns,
} from '../shared/save-format.js';

export class SaveRejected extends Error {
  override readonly name = 'SaveRejected';
  constructor(
    message: string,
    readonly status = 400,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const KEYS = annotationKeys(DEFAULT_KEY_ADDED);
const PREFIXED = new RegExp(`^${DEFAULT_KEY_ADDED}(_[A-Za-z0-9]+)*$`);

/** The keys a save may write: `scNym`, `scNym_<word>`, and the embedding `X_scnym`. */
export function isScnymKey(kind: 'obs' | 'obsm' | 'uns', key: string): boolean {
  if (PREFIXED.test(key)) return true;
  return kind === 'obsm' && key === KEYS.embedding;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function array(w: unknown, what: string, dtype: WireArray['dtype']): Float32Array | Int32Array {
  if (!isRecord(w) || w.dtype !== dtype || typeof w.base64 !== 'string') {
    throw new SaveRejected(`${what} must be a ${dtype} array {dtype, base64}`);
  }
  try {
    return fromWireArray(w as unknown as WireArray);
  } catch (err) {
    throw new SaveRejected(`${what}: ${(err as Error).message}`);
  }
}

function checkKey(kind: 'obs' | 'obsm' | 'uns', key: string): void {
  if (!isScnymKey(kind, key)) {
    throw new SaveRejected(
      `refusing to write ${kind}/${key}: the viewer only writes scNym's keys`,
      403,
      `keys must be '${KEYS.label}', '${KEYS.label}_<name>' (or obsm '${KEYS.embedding}')`,
    );
  }
}

function unsValue(v: unknown, path: string, depth = 0): UnsInput {
  if (depth > 8) throw new SaveRejected(`${path} nests too deeply`);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new SaveRejected(`${path} is not a finite number`);
    return v;
  }
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return v as string[];
    if (v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as number[];
    throw new SaveRejected(`${path} must be a list of strings or of finite numbers`);
  }
  if (isRecord(v)) {
    const out: { [key: string]: UnsInput } = {};
    for (const [k, x] of Object.entries(v)) {
      if (!/^[A-Za-z0-9_. -]{1,100}$/.test(k)) throw new SaveRejected(`${path} has a bad key`);
      out[k] = unsValue(x, `${path}/${k}`, depth + 1);
    }
    return out;
  }
  throw new SaveRejected(`${path} has an unsupported value`);
}

/** Validates a parsed body and decodes it into core Annotations (nObs checked by core). */
export function decodeSaveRequest(body: unknown): Annotations {
  if (!isRecord(body) || body.schema !== 'scnym.save/1') {
    throw new SaveRejected("the body must be JSON with schema 'scnym.save/1'");
  }
  const req = body as unknown as SaveRequest;
  for (const k of Object.keys(body)) {
    if (!['schema', 'obs', 'obsm', 'uns', 'model'].includes(k))
      throw new SaveRejected(`unknown field '${k}'`);
  }
  const out: Annotations = {};
  if (req.obs !== undefined) {
    if (!isRecord(req.obs)) throw new SaveRejected('obs must be an object');
    out.obs = {};
    for (const [key, col] of Object.entries(req.obs as Record<string, unknown>)) {
      checkKey('obs', key);
      if (!isRecord(col)) throw new SaveRejected(`obs/${key} must be an object`);
      let value: ObsAnnotation;
      if (col.kind === 'categorical') {
        const cats = col.categories;
        if (!Array.isArray(cats) || !cats.every((c) => typeof c === 'string')) {
          throw new SaveRejected(`obs/${key}: categories must be a list of strings`);
        }
        if (new Set(cats).size !== cats.length) {
          throw new SaveRejected(`obs/${key}: categories must be unique`);
        }
        const codes = array(col.codes, `obs/${key} codes`, 'int32') as Int32Array;
        for (const c of codes) {
          if (c < -1 || c >= cats.length)
            throw new SaveRejected(`obs/${key}: code ${c} out of range`);
        }
        value = { kind: 'categorical', codes, categories: cats as string[] };
      } else if (col.kind === 'float') {
        value = {
          kind: 'float',
          values: array(col.values, `obs/${key}`, 'float32') as Float32Array,
        };
      } else {
        throw new SaveRejected(`obs/${key}: kind must be 'categorical' or 'float'`);
      }
      out.obs[key] = value;
    }
  }
  if (req.obsm !== undefined) {
    if (!isRecord(req.obsm)) throw new SaveRejected('obsm must be an object');
    out.obsm = {};
    for (const [key, m] of Object.entries(req.obsm as Record<string, unknown>)) {
      checkKey('obsm', key);
      if (!isRecord(m) || !Array.isArray(m.shape) || m.shape.length !== 2) {
        throw new SaveRejected(`obsm/${key} must be {data, shape: [rows, cols]}`);
      }
      const [r, c] = m.shape as unknown[];
      if (!Number.isInteger(r) || !Number.isInteger(c) || (r as number) < 0 || (c as number) < 1) {
        throw new SaveRejected(`obsm/${key}: bad shape`);
      }
      const data = array(m.data, `obsm/${key}`, 'float32') as Float32Array;
      if (data.length !== (r as number) * (c as number)) {
        throw new SaveRejected(`obsm/${key}: ${data.length} values for shape ${r}×${c}`);
      }
      out.obsm[key] = { data, shape: [r as number, c as number] };
    }
  }
  if (req.uns !== undefined) {
    if (!isRecord(req.uns)) throw new SaveRejected('uns must be an object');
    out.uns = {};
    for (const [key, v] of Object.entries(req.uns as Record<string, WireUns>)) {
      checkKey('uns', key);
      out.uns[key] = unsValue(v, `uns/${key}`);
    }
  }
  const n = Object.keys(out.obs ?? {}).length + Object.keys(out.obsm ?? {}).length;
  if (n + Object.keys(out.uns ?? {}).length === 0) throw new SaveRejected('nothing to save');
  return out;
}

const MODEL_FILES = [SCNYM_JSON, MODEL_JSON, WEIGHTS_BIN];

/**
 * The body's model as core's model files, or null when it carries none: exactly scnym.json,
 * model.json and weights.bin, with a card core would load (the body's cap bounds their size).
 */
export function decodeSaveModel(body: unknown): Map<string, Uint8Array> | null {
  if (!isRecord(body) || body.model === undefined) return null;
  const files = isRecord(body.model) ? body.model.files : undefined;
  if (!isRecord(files)) throw new SaveRejected('model must be {files: {name: base64}}');
  const names = Object.keys(files).sort();
  if (names.join() !== [...MODEL_FILES].sort().join()) {
    throw new SaveRejected(`model files must be ${MODEL_FILES.join(', ')}`);
  }
  const out = new Map<string, Uint8Array>();
  for (const name of MODEL_FILES) {
    const text = files[name];
    if (typeof text !== 'string') throw new SaveRejected(`model ${name} must be base64`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(text);
    } catch (err) {
      throw new SaveRejected(`model ${name}: ${(err as Error).message}`);
    }
    out.set(name, bytes);
  }
  let card: unknown;
  try {
    card = JSON.parse(new TextDecoder().decode(out.get(SCNYM_JSON)));
  } catch {
    throw new SaveRejected(`model ${SCNYM_JSON} is not JSON`);
  }
  if (!isRecord(card) || card.format !== MODEL_FORMAT) {
    throw new SaveRejected(`model ${SCNYM_JSON} is not an scNym model card`);
  }
  return out;
}

/** 'obs/scNym', … for a response. */
export function writtenKeys(a: Annotations): string[] {
  return [
    ...Object.keys(a.obs ?? {}).map((k) => `obs/${k}`),
    ...Object.keys(a.obsm ?? {}).map((k) => `obsm/${k}`),
    ...Object.keys(a.uns ?? {}).map((k) => `uns/${k}`),
  ];
}

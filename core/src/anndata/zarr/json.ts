/** Zarr's JSON metadata documents: checked parsing, and writing them as zarr-python does. */
import type { Attrs } from '../hierarchy.js';
import { invalidMetadata, messageOf } from './errors.js';

export type JsonObject = { [key: string]: unknown };

export function decodeJson(bytes: Uint8Array, file: string, key: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw invalidMetadata(file, key, `invalid JSON (${messageOf(err)})`, err);
  }
}

export function asObject(value: unknown, file: string, key: string): JsonObject {
  if (!isObject(value)) throw invalidMetadata(file, key, 'expected a JSON object');
  return value;
}

export function asAttrs(value: unknown, file: string, key: string): Attrs {
  return asObject(value, file, key) as Attrs;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON as zarr-python writes it: v2 with sorted keys and 4-space indents, v3 with 2. */
export function encodeJson(value: unknown, version: 2 | 3): Uint8Array {
  const text =
    version === 2 ? JSON.stringify(sortKeys(value), null, 4) : JSON.stringify(value, null, 2);
  return new TextEncoder().encode(text);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const keys = Object.keys(value).sort();
  return Object.fromEntries(keys.map((k) => [k, sortKeys(value[k])]));
}

/**
 * Bool attributes on their way to h5py's bool enum: written as a placeholder string holding a
 * unique token, which `surgery.ts` rewrites in place once HDF5 has the file closed.
 */
import type { AttrValue } from '../hierarchy.js';

const BOOL_TOKEN = /^scnym-bool:[0-9a-f]{16}:([01])$/;
export const PLACEHOLDER_SIZE = 33;

export function fromBoolPlaceholder(s: string): AttrValue {
  const m = BOOL_TOKEN.exec(s);
  return m ? m[1] === '1' : s;
}

export function newBoolToken(value: boolean): string {
  let nonce = '';
  for (let i = 0; i < 16; i++) nonce += Math.floor(Math.random() * 16).toString(16);
  return `scnym-bool:${nonce}:${value ? 1 : 0}`;
}

export interface BoolFixup {
  /** Path (ours, no leading slash) of the object holding the attribute. */
  path: string;
  name: string;
  value: boolean;
  token: string;
}

/** The byte stores a Zarr hierarchy reads and writes, and adapters from zarrita's stores. */
import * as zarr from 'zarrita';
import { AnnDataError } from '../../errors.js';
import { messageOf } from './errors.js';

export type ByteRange = { offset: number; length: number } | { suffixLength: number };

/**
 * A key-value byte store. Keys are '/'-separated paths relative to the store's root, e.g.
 * 'obs/cell_type/codes/.zarray'; a prefix such as 'obs/cell_type' names a "directory".
 */
export interface ZarrStore {
  /** The bytes at `key`, or undefined if there are none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Part of the value at `key` (sharded arrays are read this way); else `get` is used. */
  getRange?(key: string, range: ByteRange): Promise<Uint8Array | undefined>;
  /** Names of the direct children (keys and sub-prefixes) of `prefix` ('' is the root). */
  list?(prefix: string): Promise<string[]>;
  /** Stores `value` at `key`, creating parent prefixes. */
  set?(key: string, value: Uint8Array): Promise<void>;
  /** Removes `prefix` and everything under it; no-op if missing. */
  delete?(prefix: string): Promise<void>;
  /**
   * Moves a key or a whole prefix. `toPrefix` must not exist, except that a single key may be
   * replaced (used to swap a temp file into place).
   */
  rename?(fromPrefix: string, toPrefix: string): Promise<void>;
  /** True when `set` already replaces a value atomically (so no temp key is needed). */
  readonly atomicSet?: boolean;
}

export type WritableZarrStore = ZarrStore & Required<Pick<ZarrStore, 'set' | 'delete' | 'rename'>>;

/** Adapts a zarrita store (keys with a leading '/', e.g. `zarr.FetchStore`) to `ZarrStore`. */
export function fromZarritaStore(store: zarr.AsyncReadable): ZarrStore {
  const getRange = store.getRange?.bind(store);
  return {
    get: (key) => store.get(`/${key}`),
    getRange: getRange && ((key, range) => getRange(`/${key}`, range)),
  };
}

/** A read-only store over HTTP(S), e.g. for a browser. Needs consolidated metadata to list. */
export function fetchZarrStore(url: string | URL): ZarrStore {
  return fromZarritaStore(new zarr.FetchStore(url));
}

export async function readKey(
  store: ZarrStore,
  source: string,
  key: string,
): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key);
  } catch (err) {
    throw new AnnDataError(`cannot read ${key}: ${messageOf(err)}`, {
      file: source,
      hint: 'check that the store is readable (permissions, network)',
      cause: err,
    });
  }
}

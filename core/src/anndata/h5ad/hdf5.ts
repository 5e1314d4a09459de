/** HDF5's own numbers as h5wasm reports them (datatype classes, filter ids), and the module. */
import type { ready } from 'h5wasm';

/** The loaded h5wasm module (`await h5wasm.ready`). */
export type H5Module = Awaited<typeof ready>;

// HDF5 datatype classes (H5T_class_t).
export const T_INTEGER = 0;
export const T_FLOAT = 1;
export const T_STRING = 3;
export const T_REFERENCE = 7;
export const T_ENUM = 8;
export const STRPAD_SPACE = 2;

export const FILTER_NAMES: Record<number, string> = {
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
  32017: 'sz',
  32019: 'jpeg',
  32022: 'bitgroom',
  32023: 'bitround',
  32024: 'sz3',
  32026: 'blosc2',
};
/** Filters compiled into h5wasm's HDF5; the others need plugins (see filters.ts). */
export const BUILT_IN_FILTERS = new Set([1, 2, 3, 5, 6]);
/** Filters that only rearrange or check bytes: a dataset with only these is not compressed. */
export const NOT_COMPRESSING = new Set([2, 3]); // shuffle, fletcher32

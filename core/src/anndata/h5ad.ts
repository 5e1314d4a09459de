/**
 * The h5ad (HDF5) side of `Hierarchy`, over h5wasm. Platform-neutral: the caller loads h5wasm
 * (Node: `h5wasm/node`; browser: a Worker), opens the `File` and passes it in with the module.
 *
 * What h5wasm 0.10.3 makes us work around:
 * - its high-level reads ignore HDF5's status and hand back uninitialised memory when a read
 *   fails (e.g. a chunk compressed with a filter it lacks), so reads go through the module's
 *   lower-level functions, into zeroed buffers, with the status checked;
 * - filters other than deflate/shuffle/fletcher32/nbit/scaleoffset (lzf, blosc, zstd…) need
 *   plugins (Emscripten side modules: ours for lzf, h5wasm-plugins' for the others), which the
 *   caller hands over (`useFilterPlugins`, see `h5ad/filters.ts`);
 * - HDF5 errors only become exceptions with its throwing error handler (`prepareH5wasm`), and
 *   every such exception leaks a file descriptor inside h5wasm: normal paths never provoke one;
 * - it can neither delete nor rename links, nor write HDF5 enums (h5py's bools). New elements
 *   stay in memory until `flush()`; with `H5adFileAccess` the writer edits the closed file's
 *   bytes for the rest (see "HDF5 file surgery" in `h5ad/surgery.ts`), without it those
 *   operations are refused.
 *
 * The public entry point; the code lives in `h5ad/`.
 */
export type { H5Module } from './h5ad/hdf5.js';
export { asAnnDataError, prepareH5wasm } from './h5ad/errors.js';
export type { FilterPlugins } from './h5ad/filters.js';
export { useFilterPlugins } from './h5ad/filters.js';
export type { ByteAccess, H5adFileAccess } from './h5ad/surgery.js';
export { openH5ad } from './h5ad/read.js';
export type { H5adWriteOptions } from './h5ad/write.js';
export { openH5adWritable } from './h5ad/write.js';

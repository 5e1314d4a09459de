/**
 * Zarr v2 and v3 stores as a `Hierarchy`. Reading goes through zarrita (codecs, sharding,
 * selections); writing is done here, because zarrita only writes v3 metadata and cannot encode
 * strings, gzip or zlib. Platform-neutral: the bytes come from an injected `ZarrStore`.
 *
 * The public entry point; the code lives in `zarr/`.
 */
export type { ByteRange, WritableZarrStore, ZarrStore } from './zarr/store.js';
export { fetchZarrStore, fromZarritaStore } from './zarr/store.js';
export { blobZarrStore } from './zarr/blob-store.js';
export { openZarr, openZarrWritable } from './zarr/open.js';
export { encodeVlenUtf8 } from './zarr/encode.js';

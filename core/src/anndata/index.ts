// @scnym/core/anndata: reading and writing AnnData (.zarr, .h5ad) without TensorFlow.js, for the
// viewer's data worker and pages. File-system access lives in '@scnym/core/node'.
export type * from './hierarchy.js';
export type * from './types.js';
export { openAnnData } from './read.js';
export { writeAnnotations } from './write.js';
export type { Annotations, ObsAnnotation, UnsInput, WriteOptions } from './write.js';
export {
  openZarr,
  openZarrWritable,
  fetchZarrStore,
  fromZarritaStore,
  blobZarrStore,
} from './zarr.js';
export type { ZarrStore, WritableZarrStore } from './zarr.js';
export { openH5ad, openH5adWritable, prepareH5wasm, useFilterPlugins } from './h5ad.js';
export type { FilterPlugins } from './h5ad.js';

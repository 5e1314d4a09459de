/**
 * The parts of @scnym/core the browser bundles use. Core's package entry point does not export
 * the workflow functions (annotate.ts, backend.ts, prepare.ts, …) yet, so the bundles import
 * them from core's sources; esbuild bundles them and they stay the exact functions the CLI runs.
 */
export { openAnnData } from '../../../core/src/anndata/read.js';
export { fetchZarrStore, openZarr } from '../../../core/src/anndata/zarr.js';
export { openH5ad, prepareH5wasm } from '../../../core/src/anndata/h5ad.js';
export { ScnymError } from '../../../core/src/errors.js';
export type { AnnData, ObsColumn, ColumnInfo } from '../../../core/src/anndata/types.js';
export {
  trainOnAnnData,
  predictAnnData,
  predictionAnnotations,
  annotationKeys,
} from '../../../core/src/annotate.js';
export { initBackend } from '../../../core/src/backend.js';
export { modelFromFiles, type LoadedModel, type ModelCard } from '../../../core/src/model/files.js';
export { chooseMatrix, readLog1pCpm } from '../../../core/src/prepare.js';
export { alignGenes } from '../../../core/src/preprocess.js';
export { queryGeneNames } from '../../../core/src/genes.js';
export { gatherDense, takeRows, type Csr } from '../../../core/src/csr.js';
export {
  saliencyAnnData,
  vanillaGradient,
  integratedGradients,
  expectedGradients,
  AttributionMean,
  rankGenes,
  type SaliencyMethod,
} from '../../../core/src/interpret/index.js';
export { Rng } from '../../../core/src/random.js';
export { UNKNOWN_LABEL } from '../../../core/src/predict.js';
export type { Annotations } from '../../../core/src/anndata/write.js';

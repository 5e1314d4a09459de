// @scnym/core: platform-neutral entry point. File-system access lives in '@scnym/core/node'.
export * from './errors.js';
export {
  explainSystemError,
  systemErrorCode,
  withSystemErrorExplained,
} from './anndata/system-errors.js';
export type * from './anndata/hierarchy.js';
export type * from './anndata/types.js';
export { openAnnData } from './anndata/read.js';
export { writeAnnotations } from './anndata/write.js';
export type { Annotations, ObsAnnotation, UnsInput, WriteOptions } from './anndata/write.js';
export { openZarr, openZarrWritable, fetchZarrStore, fromZarritaStore } from './anndata/zarr.js';
export type { ZarrStore, WritableZarrStore } from './anndata/zarr.js';
export { openH5ad, openH5adWritable, useFilterPlugins } from './anndata/h5ad.js';
export type { FilterPlugins } from './anndata/h5ad.js';
export { inspect, matrixStats } from './inspect.js';
export type { InspectReport, MatrixSummary, ColumnSummary } from './inspect.js';
export * from './interpret/index.js';
export * from './calibration.js';
export * from './evaluate.js';
// The workflow the CLI, the viewer's worker and the extension share.
export * from './workflow/index.js';
export {
  trainOnAnnData,
  predictAnnData,
  predictionAnnotations,
  queryPredictor,
  samplingOf,
  type QueryPredictor,
  type TrainRequest,
  type TrainResult,
  type PredictRequest,
  type UsableModel,
} from './annotate.js';
export { initBackend, type BackendPreference } from './backend.js';
export {
  modelToFiles,
  modelFromFiles,
  cardBytes,
  MODEL_JSON,
  SCNYM_JSON,
  WEIGHTS_BIN,
  type ModelCard,
  type LoadedModel,
} from './model/files.js';
export { MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model/io.js';
// An untrained network of a given shape (the tests' and benches' models of known genes).
export { createNetwork, type ScnymNetwork } from './model/network.js';
export { DEFAULT_NETWORK } from './model/config.js';
// The prediction threads' one copy of the folded input layer (node/predict-threads.ts).
export { sharedInputLayerOf } from './model/inference.js';
export type { SharedInputLayer } from './model/kernels/shared-input.js';
export {
  chooseMatrix,
  matrixGeneNamings,
  normaliseBlock,
  prepareTraining,
  readLabels,
  type PrepareOptions,
  type QueryLabels,
} from './prepare.js';
export * from './vocabulary.js';
// Hand edits of labels (the viewers' relabel, undo, Save).
export { LabelEdits, labelAnnotations } from './label-edits.js';
// The linear baseline (CellTypist's recipe) the accuracy bench trains beside scNym.
export {
  trainLinear,
  predictLinear,
  LINEAR_DEFAULTS,
  cp10kFromCpm,
  type LinearOptions,
  type LinearModel,
  type LinearPrediction,
} from './linear/softmax.js';
// The linear head a model's card may carry (averaged with the network's probabilities).
export { linearHeadOf, type LinearHead, type LinearHeadCard } from './linear/head.js';
// The novelty score a model's card may carry (distance from the reference's cells).
export {
  fitNovelty,
  noveltyOf,
  scoreNovelty,
  type NoveltyCard,
  type NoveltyReference,
} from './novelty/reference.js';
export { sparsePca, symmetricEigen, type Pca } from './novelty/pca.js';
export { NearestPoints } from './novelty/knn.js';
export type { Prediction } from './predict.js';
export { splitRows, PredictionAssembly, type RowRange, type PartArrays } from './row-ranges.js';
export { resolveOptions, ORIGINAL, PROJECT_DEFAULT, type TrainOptions } from './train/options.js';
export { choosePseudolabels, type PseudolabelChoice } from './train/pseudolabel.js';
// The class-weighted adversary's weights (danClassWeighted).
export { labelShiftWeights } from './train/losses.js';
export { variableGenes } from './train/gene-selection.js';

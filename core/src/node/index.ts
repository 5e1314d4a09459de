// @scnym/core/node: the Node adapter (file system access) over the platform-neutral core.
export { openAnnDataFile, isZarrPath } from './open.js';
export { writeAnnotationsToFile, type FileWriteOptions } from './write-file.js';
export { saveLabelsFile, type LabelsToSave } from './save-labels.js';
export { FileSystemZarrStore, openZarrFile } from './zarr-store.js';
export { openH5adFile, updateH5adAtomically, useH5PluginFolder } from './h5ad-file.js';
export { consolidatedMetadataFile, type ConsolidatedDocument } from './consolidated.js';
export {
  annotateFiles,
  checkOutputs,
  evaluateFile,
  explainFile,
  predictFiles,
  trainFiles,
  type FileOutputs,
  type Written,
} from './workflow.js';
export {
  loadModelDir,
  modelDigest,
  modelDirDigest,
  readModelDirFiles,
  saveModelDir,
  tidyModelDir,
  type SaveModelOptions,
} from './model-dir.js';
export {
  availableCores,
  partsFor,
  predictFileRows,
  predictInThreads,
  resolveThreads,
  type RowsRequest,
  type ThreadCount,
  type ThreadedJob,
} from './predict-threads.js';
export {
  mergeShards,
  predictShard,
  shardFilePath,
  shardRows,
  type MergeResult,
  type ShardResult,
  type ShardSpec,
} from './shards.js';
export { SHARD_EXTENSION, openShardFile, type ShardFile, type ShardHeader } from './shard-file.js';
// The per-dataset lock every writer takes (tests hold it as a live run would).
export { acquireLock, lockPathFor, type Lock } from './lock.js';

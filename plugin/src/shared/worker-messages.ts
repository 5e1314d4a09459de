/**
 * Messages between the viewer and its workers: one discriminated union per direction.
 * Typed arrays travel as transferables.
 */
import type { ColumnInfo, ObsColumn } from '@scnym/core/anndata';

/** Where a worker finds a dataset. `url` is absolute. */
export interface DatasetLocation {
  url: string;
  format: 'zarr' | 'h5ad';
  name: string;
  /** Files picked in the page (read in the worker; `url` is then only a label). */
  files?: PickedFile[];
}

/** A file picked or dropped in the page, with its path inside the picked folder. */
export interface PickedFile {
  path: string;
  file: File;
}

/**
 * An error's text with its hint, said once: core's errors already end with their hint
 * ('… → hint'), and a worker also sends it apart for the UIs that show it separately.
 */
export function withHint(message: string, hint?: string): string {
  return hint && !message.includes(hint) ? `${message} (${hint})` : message;
}

// --- the data worker: reads the shown dataset (zarr lazily, h5ad through h5wasm) -----------

export type DataRequest =
  | { type: 'open'; id: number; dataset: DatasetLocation }
  | { type: 'obsColumn'; id: number; name: string }
  | { type: 'obsm'; id: number; key: string; columns: number[] }
  | { type: 'obsNames'; id: number };

export interface DatasetSummary {
  nObs: number;
  nVars: number;
  columns: ColumnInfo[];
  obsm: { key: string; shape: number[] }[];
  /** var columns of string or categorical values (gene names to match by). */
  varColumns?: string[];
}

export type DataResponse =
  | { type: 'opened'; id: number; summary: DatasetSummary }
  | { type: 'obsColumn'; id: number; column: ObsColumn }
  | { type: 'obsm'; id: number; data: Float32Array; shape: [number, number] }
  | { type: 'obsNames'; id: number; names: string[] }
  | { type: 'error'; id: number; message: string; hint?: string };

// --- the Transfer-labels worker: trains and predicts with core --------------------------------

export type ConfigChoice = 'no_new_identity' | 'new_identity_discovery';

export type TrainSource =
  | { kind: 'reference'; dataset: DatasetLocation; labelKey: string; domainKey?: string }
  | { kind: 'model'; url: string; name: string; files?: PickedFile[] };

export interface AnnotateRequest {
  type: 'annotate';
  query: DatasetLocation;
  source: TrainSource;
  /** Names genes are matched by: 'auto', 'var_names' or a var column (core's genes.ts). */
  geneKey: string;
  config: ConfigChoice;
  /** null = the preset's. */
  epochs: number | null;
  seed: number;
  /** Where the tfjs-backend-wasm .wasm files are served (absolute URL ending in '/'). */
  wasmPaths: string;
  /** 'auto' = WebGL, then WASM, then CPU. */
  backend: 'auto' | 'webgl' | 'wasm' | 'cpu';
  /**
   * Query cells labelled by hand, trained on with the reference's (core's queryLabels):
   * ascending query rows, a code each into `names`. Only with a reference.
   */
  corrections?: { rows: Int32Array; codes: Int32Array; names: string[] };
}

export interface SaliencyRequest {
  type: 'saliency';
  /** Class to explain. */
  className: string;
  /** Cells to explain (query row indices); empty = the cells predicted as the class. */
  cells: number[];
  method: 'gradient' | 'integrated' | 'expected';
  top: number;
}

/**
 * Compare: the labels against a column of known labels, scored in the worker (core's
 * evaluatePredictions; about a second at a million cells). Codes into names, one buffer each.
 */
export interface ScoreRequest {
  type: 'score';
  /** The reply carries it: the page shows the latest request's scores only. */
  id: number;
  truth: { codes: Int32Array; names: string[] };
  labels: { codes: Int32Array; names: string[] };
  confidence: Float32Array;
}

/** Loads a saved model for markers (after a reload: the model an earlier save wrote). */
export interface LoadModelRequest {
  type: 'load-model';
  source: Extract<TrainSource, { kind: 'model' }>;
  query: DatasetLocation;
  geneKey: string;
  wasmPaths: string;
  backend: AnnotateRequest['backend'];
}

export type ToWorker =
  | AnnotateRequest
  | SaliencyRequest
  | LoadModelRequest
  | ScoreRequest
  | ClassMarkersRequest
  /** The model as core's files, for Save (answered by 'model-files'). */
  | { type: 'model-files' }
  | { type: 'cancel' };

/**
 * Marker genes of every class for the dot plot: each class explained (gradient) in the cells
 * given for it (a sample of those predicted as it, chosen by the page, which has the labels).
 */
export interface ClassMarkersRequest {
  type: 'class-markers';
  classes: { className: string; cells: number[] }[];
  top: number;
}

export interface Losses {
  sup: number;
  unsup: number;
  dan: number;
  total: number;
}

export interface AnnotateResult {
  type: 'result';
  backend: string;
  seconds: number;
  classNames: string[];
  /**
   * Predicted label per cell as a code into `categories` (the classes, then 'Unknown' when a
   * cell is below the threshold in discovery mode): codes travel as one buffer, where a
   * million label strings took the page's main thread a long task to receive.
   */
  codes: Int32Array;
  categories: string[];
  confidence: Float32Array;
  /** Each cell's novelty score (obs scNym_novelty); empty when the model has none. */
  novelty: Float32Array;
  /** What Save writes (core's predictionAnnotations, in wire form). */
  save: import('./save-format.js').SaveRequest;
}

export type FromWorker =
  | { type: 'backend'; name: string }
  /** Progress in core's words (vocabulary: describeProgress), training's included. */
  | { type: 'stage'; stage: string; done: number; total: number; detail?: string }
  | { type: 'start'; nEpochs: number; stepsPerEpoch: number }
  | { type: 'progress'; epoch: number; nEpochs: number; step: number; loss: number }
  | {
      type: 'epoch';
      epoch: number;
      nEpochs: number;
      losses: Losses;
      valAccuracy: number;
      valLoss: number;
    }
  | { type: 'warning'; message: string }
  | AnnotateResult
  | {
      type: 'saliency';
      className: string;
      method: SaliencyRequest['method'];
      genes: string[];
      scores: number[];
      /** Cells explained, of the cells that matched (fewer: a random sample of them). */
      nCells: number;
      nMatching: number;
      /** The cells were the lasso selection (else those predicted as the class). */
      selection: boolean;
    }
  | {
      type: 'scores';
      id: number;
      report: import('@scnym/core/scores').EvaluationReport | null;
      /** Why it could not be scored (report null). */
      error?: string;
    }
  | {
      type: 'class-markers';
      /** Each class with cells, in the order asked: its top genes, best first. */
      classes: { className: string; genes: string[]; scores: number[]; nCells: number }[];
    }
  | { type: 'cancelled' }
  | { type: 'model-loaded'; name: string; classNames: string[] }
  /** null: no model (none trained or loaded yet). */
  | { type: 'model-files'; files: Record<string, Uint8Array> | null }
  | { type: 'error'; message: string; hint?: string };

/**
 * Every message that crosses a boundary in the extension, one discriminated union per
 * direction: the extension host ↔ the worker_thread that runs core (jobs and data reads), and
 * the extension host ↔ each webview (results, saliency markers, the scatterplot viewer).
 * Paths are absolute file-system paths; typed arrays travel as they are.
 */
import type { ErrorCode } from '@scnym/core/errors';
import type { ConfigName, PresetName } from '@scnym/core/vocabulary';
import type { DataRequest, DataResponse } from '@scnym/plugin/data-messages';
import type { GeneStatus, GeneValues } from '@scnym/plugin/genes';

/** core's SaliencyMethod (core's root entry is not for the webviews' type-check). */
export type SaliencyMethodName = 'gradient' | 'integrated' | 'expected';

/** The user's settings (`scnym.*`) as one job sees them. */
export interface TrainSettings {
  preset: PresetName;
  config: ConfigName;
  /** null = the preset's. */
  epochs: number | null;
  seed: number;
  /** Names genes are matched by: 'auto' (default), 'var_names' or a var column. */
  geneKey?: string;
}

// --- extension host → worker ----------------------------------------------------------------

export type JobRequest =
  /** The obs columns of a dataset (for the label-column quick pick). */
  | { type: 'columns'; path: string }
  /** Train on the reference (query as unlabelled data), predict the query, write, save the model. */
  | {
      type: 'annotate';
      query: string;
      reference: string;
      labelKey: string;
      domainKey?: string;
      settings: TrainSettings;
      keyAdded: string;
      overwrite: boolean;
      /** Folder the trained model is saved to (for saliency later). */
      modelOut: string;
    }
  | {
      type: 'train';
      reference: string;
      /** Optional unlabelled query used during training. */
      query?: string;
      labelKey: string;
      domainKey?: string;
      settings: TrainSettings;
      modelOut: string;
      overwrite: boolean;
    }
  | {
      type: 'predict';
      query: string;
      model: string;
      keyAdded: string;
      overwrite: boolean;
      /** Names the query's genes are matched to the model's by (default 'auto'). */
      geneKey?: string;
    }
  | {
      type: 'saliency';
      dataset: string;
      model: string;
      method: SaliencyMethodName;
      /** Classes to explain; absent = every class with predicted cells. */
      classes?: string[];
      top: number;
      /** Cells explained per class at most (a seeded subset). */
      maxCells: number;
      /** obs column choosing each class's cells (e.g. the written predictions); else predicted. */
      groupby?: string;
      /** Names the dataset's genes are matched to the model's by (default 'auto'). */
      geneKey?: string;
    }
  /** Scores the predictions already in a dataset against a truth column. */
  | { type: 'evaluate'; dataset: string; truthKey: string; keyAdded: string }
  /** Summarises the predictions already in a dataset (the results webview for a file). */
  | { type: 'results'; dataset: string; keyAdded: string }
  /** Saves the viewer's hand-edited labels into obs[keyAdded] (core's saveLabelsFile). */
  | {
      type: 'saveLabels';
      path: string;
      keyAdded: string;
      /** A code per cell into `categories`; −1: no label. */
      codes: Int32Array;
      categories: string[];
    };

export type ToWorker =
  | { type: 'job'; job: JobRequest }
  | { type: 'cancel' }
  /** The viewer's reads (plugin's data protocol), answered from the file system. */
  | { type: 'data'; request: DataRequest }
  /** The viewer's gene reads (colour by gene) of the dataset at `path`. */
  | { type: 'gene'; path: string; request: GeneRequest };

/** Colour by gene in the viewer: the gene names (status), then one gene's values a request. */
export type GeneRequest =
  { id: number; type: 'status' } | { id: number; type: 'values'; index: number; kind: GeneValues };
export type GeneResponse =
  | { id: number; status: GeneStatus }
  | { id: number; values: Float32Array }
  | { id: number; error: string };

// --- worker → extension host -------------------------------------------------------------------

export interface ColumnChoice {
  name: string;
  kind: 'categorical' | 'numeric' | 'bool' | 'string' | 'other';
  /** Categories (categorical / string columns). */
  nCategories?: number;
}

export interface TrainingInfo {
  backend: string;
  seconds: number;
  epochs: number;
  /** Best validation accuracy on the held-out reference cells (NaN when none). */
  valAccuracy: number;
  classNames: string[];
  nReference: number;
  nGenes: number;
}

export type JobResult =
  | { type: 'columns'; nObs: number; columns: ColumnChoice[] }
  | { type: 'annotate'; written: string; modelDir: string; results: ResultsModel }
  | { type: 'train'; modelDir: string; training: TrainingInfo }
  | { type: 'predict'; written: string; results: ResultsModel }
  | { type: 'saliency'; saliency: SaliencyModel }
  | { type: 'evaluate'; results: ResultsModel }
  | { type: 'results'; results: ResultsModel }
  /** The keys written ('obs/scNym', 'uns/scNym_colors'). */
  | { type: 'saveLabels'; written: string[] };

export type FromWorker =
  | { type: 'progress'; stage: string; done: number; total: number; detail?: string }
  /** Something the user should know about the result (shown as a warning). */
  | { type: 'warning'; message: string }
  /** Something that happened along the way (e.g. cleanup after a killed run): for information. */
  | { type: 'notice'; message: string }
  | { type: 'done'; result: JobResult }
  | { type: 'cancelled' }
  /** core's error: its message (with the hint), stable code, file and element. */
  | {
      type: 'error';
      message: string;
      code?: ErrorCode;
      hint?: string;
      file?: string;
      element?: string;
    }
  | { type: 'data'; response: DataResponse }
  | { type: 'gene'; response: GeneResponse };

// --- what the webviews show ----------------------------------------------------------------

export interface ClassRow {
  label: string;
  /** CSS colour (core's palette, or the dataset's own colours). */
  color: string;
  /** Cells predicted as this label. */
  count: number;
  fraction: number;
  meanConfidence: number;
  /** With truth labels (evaluate): scores of this class as a truth class. */
  precision?: number;
  recall?: number;
  f1?: number;
  /** Truth cells of this class. */
  support?: number;
}

export interface LowConfidenceCell {
  /** Row in the dataset. */
  index: number;
  cell: string;
  label: string;
  confidence: number;
  /** Second most probable class, when probabilities are stored. */
  runnerUp?: string;
}

export interface ResultsModel {
  /** Dataset file name, for display. */
  dataset: string;
  /** Absolute path, for the "Open in Viewer" button. */
  path: string;
  keyAdded: string;
  nCells: number;
  meanConfidence: number;
  /** Per predicted label, largest first. */
  classes: ClassRow[];
  /** Confidence histogram: `counts[i]` cells in [edges[i], edges[i+1]). */
  histogram: { edges: number[]; counts: number[] };
  /** Cells below this confidence are "low confidence". */
  threshold: number;
  nBelow: number;
  /** The least confident cells, lowest first (at most 50). */
  lowConfidence: LowConfidenceCell[];
  training?: TrainingInfo;
  evaluation?: {
    truthKey: string;
    accuracy: number;
    balancedAccuracy: number;
    macroF1: number;
    ece: number;
    nCells: number;
  };
}

export interface SaliencyClass {
  name: string;
  color: string;
  /** Cells predicted as this class / explained. */
  nCells: number;
  nExplained: number;
  /** Top genes, most salient first, and their mean attributions. */
  genes: string[];
  scores: number[];
}

export interface SaliencyModel {
  dataset: string;
  path: string;
  model: string;
  method: SaliencyMethodName;
  classes: SaliencyClass[];
  seconds: number;
}

// --- extension host ↔ webviews -----------------------------------------------------------------

export type ToResultsView = { type: 'show'; results: ResultsModel };
export type FromResultsView = { type: 'ready' } | { type: 'openViewer'; path: string };

export type ToSaliencyView =
  | { type: 'show'; saliency: SaliencyModel }
  | { type: 'busy'; message: string }
  | { type: 'error'; message: string };
export type FromSaliencyView =
  | { type: 'ready' }
  /** Recompute with another method (the host answers with busy, then show or error). */
  | { type: 'method'; method: SaliencyMethodName };

/** The viewer webview: plugin's DataRequest/DataResponse wrapped for the host. */
export type ToViewerView =
  | {
      type: 'init';
      name: string;
      format: 'zarr' | 'h5ad';
      /** The dataset's absolute path (kept in the page's state to restore the tab). */
      path: string;
      /** The obs column relabels edit and Save writes (scnym.keyAdded: the predictions). */
      labelKey: string;
      /** Why the dataset cannot be shown (e.g. it is gone since the tab was open). */
      problem?: string;
      nObs?: number;
    }
  | { type: 'data'; response: DataResponse }
  | { type: 'gene'; response: GeneResponse }
  /** The answer to a 'save': the keys written, or why nothing was. */
  | { type: 'saved'; written: string[] }
  | { type: 'saved'; error: string };
export type FromViewerView =
  | { type: 'ready' }
  | { type: 'data'; request: DataRequest }
  | { type: 'gene'; request: GeneRequest }
  /** Save the labels (obs[labelKey]) into the dataset. */
  | { type: 'save'; codes: Int32Array; categories: string[] }
  /** The hand edits not saved yet (Annotate and Predict ask before replacing them). */
  | { type: 'edits'; unsaved: number };

/** What the viewer page keeps with setState, to come back after a window reload. */
export interface ViewerState {
  path: string;
  name: string;
  format: 'zarr' | 'h5ad';
  /** The column the points were coloured by. */
  colorBy?: string;
}

/**
 * The user-level workflow over AnnData handles, shared by the CLI, the viewer's worker and the
 * VS Code extension: train a model from a labelled reference (and an unlabelled query), predict
 * a query, and turn predictions into the AnnData keys the original scNym writes.
 */
import { ScnymError } from './errors.js';
import type { AnnData, MatrixReader } from './anndata/types.js';
import {
  annotationKeys,
  keyAddedProblem,
  UNKNOWN_LABEL,
  type ConfigName,
  type InputKind,
  type PresetName,
} from './vocabulary.js';
import { categoryColors } from './colors.js';
import { calibrateTemperature, softmaxRows, type TemperatureCalibration } from './calibration.js';
import { takeRows } from './csr.js';
import { networkLogits } from './model/forward.js';
import type { SharedInputLayer } from './model/kernels/shared-input.js';
import type { Annotations } from './anndata/write.js';
import type { ModelCard, LoadedModel } from './model/files.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model/io.js';
import { argMax, predict, type Prediction, type PredictEvent } from './predict.js';
import { accuracy } from './train/metrics.js';
import {
  chooseMatrix,
  log1pCpmBlocks,
  type ChosenMatrix,
  prepareTraining,
  type Control,
  type PreparedData,
  type PrepareOptions,
} from './prepare.js';
import { queryGeneNames } from './genes.js';
import type { RowRange } from './row-ranges.js';
import { CPM_TARGET } from './preprocess.js';
import { train, type TrainEvent, type TrainedModel } from './train/trainer.js';
import { resolveOptions, type TrainOptions } from './train/options.js';
import { selectVariableGenes } from './train/gene-selection.js';
import { trainLinear } from './linear/softmax.js';
import {
  blendLinearHead,
  linearHeadCard,
  linearHeadOf,
  type LinearHead,
  type LinearHeadCard,
} from './linear/head.js';
import { fitNovelty, noveltyOf, type NoveltyReference } from './novelty/reference.js';

export const TOOL_VERSION = '0.1.0';

export interface TrainRequest extends PrepareOptions {
  preset?: PresetName;
  config?: ConfigName;
  /** Changes on top of preset + config (seed, nEpochs, maxSteps, maxReferenceCells, …). */
  overrides?: Partial<TrainOptions>;
  /**
   * Fit a softmax temperature on the model-selection split after training and store it in the
   * card, applied at prediction where it lowers that split's ECE (default true).
   */
  calibrate?: boolean;
}

export interface TrainControl extends Control {
  onTrainEvent?: (event: TrainEvent) => void;
}

export interface TrainResult {
  model: TrainedModel;
  card: ModelCard;
  referenceMatrix: string;
  queryMatrix: string | null;
  /** The names genes were matched by in each file ('var_names' or a var column). */
  geneKeys: PreparedData['geneKeys'];
  /** Temperature scaling on the selection split; null when off or the split is empty. */
  calibration: TemperatureCalibration | null;
}

export async function trainOnAnnData(
  reference: AnnData,
  query: AnnData | null,
  request: TrainRequest,
  control: TrainControl = {},
): Promise<TrainResult> {
  const options = resolveOptions(request.preset, request.config, request.overrides);
  const prepared = await prepareTraining(
    reference,
    query,
    { ...request, sampling: samplingOf(options) },
    control,
  );
  const data = selectVariableGenes(prepared.data, options.topGenes);
  if (data !== prepared.data) {
    control.onNotice?.(
      `training on the ${data.genes.length} most variable of ${prepared.data.genes.length} shared genes`,
    );
  }
  const model = await train(data, options, {
    onEvent: (event) => {
      if (event.type === 'start' && event.budgeted) control.onNotice?.(budgetNotice(event));
      control.onTrainEvent?.(event);
    },
    signal: control.signal,
  });
  const calibration =
    request.calibrate === false || model.split.selection.length === 0
      ? null
      : calibrateTemperature(
          networkLogits(model.network, data.labeled, model.split.selection),
          Int32Array.from(model.split.selection, (r) => data.labels[r]),
          model.classNames.length,
        );
  if (calibration?.atBound) control.onWarning?.(boundWarning(calibration));
  const linear =
    options.linearBlend > 0 ? await fitLinearHead(data, model, options, control) : null;
  if (linear && model.split.heldOut.length > 0) {
    // The held-out accuracy the summary reports is the model's as it predicts: with the head.
    linear.fit.networkHeldOutAccuracy = model.summary.heldOutAccuracy;
    model.summary.heldOutAccuracy = blendedAccuracy(
      data,
      model,
      linear,
      calibration?.temperature ?? 1,
    );
  }
  // Every labelled reference cell: the score does not learn labels, and the more cells it holds
  // the better (a 0.9-point higher AUROC in the bench than the training split alone).
  const novelty = await fitNovelty(data.labeled, options.seed, control.signal);
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    genes: model.genes,
    classNames: model.classNames,
    domainNames: model.domainNames,
    preprocessing: { input: 'log1p-cpm', targetSum: CPM_TARGET, log: 'natural' },
    network: model.network.config,
    ...(calibration ? { temperature: calibration.temperature } : {}),
    ...(linear ? { linear } : {}),
    ...(novelty ? { novelty } : {}),
    training: {
      preset: request.preset ?? 'default',
      config: request.config ?? 'no_new_identity',
      options: model.options,
      summary: model.summary,
      labelKey: request.labelKey,
      domainKey: request.domainKey ?? null,
      calibration,
    },
    provenance: {
      tool: 'scnym-js',
      toolVersion: TOOL_VERSION,
      created: new Date().toISOString(),
      reference: {
        file: reference.source,
        matrix: prepared.referenceMatrix,
        nCells: reference.nObs,
        geneKey: prepared.geneKeys.reference,
      },
      query: query
        ? {
            file: query.source,
            matrix: prepared.queryMatrix,
            nCells: query.nObs,
            geneKey: prepared.geneKeys.query,
          }
        : null,
    },
  };
  return {
    model,
    card,
    referenceMatrix: prepared.referenceMatrix,
    queryMatrix: prepared.queryMatrix,
    geneKeys: prepared.geneKeys,
    calibration,
  };
}

/** The linear head (linear/head.ts) on the network's training split, unscaled. */
async function fitLinearHead(
  data: PreparedData['data'],
  model: TrainedModel,
  options: TrainOptions,
  control: TrainControl,
): Promise<LinearHeadCard> {
  const fitted = await trainLinear(
    data,
    model.split.train,
    { standardize: false },
    {
      signal: control.signal,
      // Converges in tens of iterations of the 1,000 allowed: the bar then jumps to its end.
      onIteration: (iteration, most) => control.onProgress?.('linear', iteration, most),
    },
  );
  control.onProgress?.('linear', 1, 1);
  return linearHeadCard(fitted, options.linearBlend);
}

/** Accuracy on the held-out reference cells of the network (at `temperature`) and its head. */
function blendedAccuracy(
  data: PreparedData['data'],
  model: TrainedModel,
  card: LinearHeadCard,
  temperature: number,
): number {
  const rows = model.split.heldOut;
  const k = model.classNames.length;
  const head = linearHeadOf(card, model.genes.length, k);
  if (typeof head === 'string') throw new Error(`the linear head just fitted: ${head}`);
  const probabilities = softmaxRows(
    networkLogits(model.network, data.labeled, rows),
    k,
    temperature,
  );
  blendLinearHead(head, takeRows(data.labeled, rows), probabilities);
  const codes = new Int32Array(rows.length);
  argMax(probabilities, k, codes, new Float32Array(rows.length));
  return accuracy(
    Int32Array.from(rows, (r) => data.labels[r]),
    codes,
  );
}

/** What prepareTraining reads of large files, from the training options. */
export function samplingOf(o: TrainOptions) {
  return {
    maxReferenceCells: o.maxReferenceCells,
    maxQueryCells: o.maxQueryCells,
    seed: o.seed,
    selectionFraction: o.selectionFraction,
    heldOutFraction: o.heldOutFraction,
  };
}

function budgetNotice(event: Extract<TrainEvent, { type: 'start' }>): string {
  const steps = event.nEpochs * event.stepsPerEpoch;
  return (
    `training for at most ${steps.toLocaleString('en-US')} steps (${event.nEpochs} epochs of ` +
    `${event.stepsPerEpoch}; a whole pass over the ${event.nTrain.toLocaleString('en-US')} ` +
    `training cells is ${event.stepsPerPass} steps): the step budget (--max-steps)`
  );
}

function boundWarning(c: TemperatureCalibration): string {
  const fitted = `the softmax temperature fitted on ${c.nCells} model-selection cells, ${c.fitted.toPrecision(2)},`;
  if (c.fitted < c.range[0]) {
    return (
      `${fitted} is below ${c.range[0]} and is not applied: sharpening that much says those ` +
      'cells were predicted far better than new cells will be (too few, or near-copies of ' +
      'training cells)'
    );
  }
  return c.applied
    ? `${fitted} is above ${c.range[1]}: using ${c.range[1]} (the model is overconfident on them)`
    : `${fitted} is above ${c.range[1]}, and ${c.range[1]} did not lower their ECE: not applied`;
}

export interface PredictRequest {
  /** 'auto' (default), 'X', 'raw/X' or 'layers/<name>'. */
  matrix?: string;
  /** What the matrix holds (default 'auto': decided from its values). */
  input?: InputKind;
  /** Cells below this confidence are labelled 'Unknown'. */
  unknownThreshold?: number;
  /** Return the X_scnym embedding (default true); false saves nCells × 256 floats (1 GB/1M). */
  embedding?: boolean;
  /**
   * Softmax temperature; default the model card's (fitted at training), else 1. Pass 1 for the
   * network's raw confidence.
   */
  temperature?: number;
  /** Feed CSR rows to the sparse input layer, or dense batches (default: see predict.ts). */
  sparseInput?: boolean;
  /** Rows per forward pass (default: see predict's defaultBatchSize). */
  batchSize?: number;
  /** The query's names to match the model's genes by: 'auto' (default), 'var_names' or a var column. */
  geneKey?: string;
  /**
   * Only rows [start, end) of the query (a shard's or a worker thread's part): the prediction
   * then holds those rows, in order. Default: every row.
   */
  rows?: RowRange;
}

export interface PredictControl extends Control {
  onPredictEvent?: (event: PredictEvent) => void;
}

/** A model as prediction needs it: a freshly trained one or one loaded from files. */
export type UsableModel = Pick<LoadedModel, 'network' | 'genes' | 'classNames'> & {
  card?: Partial<Pick<ModelCard, 'temperature' | 'provenance' | 'linear' | 'novelty'>>;
  /** Where the model was loaded from, for messages. */
  source?: string;
};

export async function predictAnnData(
  model: UsableModel,
  query: AnnData,
  request: PredictRequest = {},
  control: PredictControl = {},
): Promise<Prediction> {
  return (await queryPredictor(model, query, request, control)).predict(request.rows);
}

/** A query made ready for prediction once (matrix chosen, genes matched), then predicted by range. */
export interface QueryPredictor {
  /** The matrix the rows are read from (its shape, and where its chunks begin: alignRow). */
  reader: MatrixReader;
  /**
   * Rows [start, end) of the query (default all), as predictAnnData predicts them; with
   * `sharedInput`, the input layer's weights the prediction threads share (see predict.ts).
   */
  predict(rows?: RowRange, sharedInput?: SharedInputLayer): Promise<Prediction>;
}

export async function queryPredictor(
  model: UsableModel,
  query: AnnData,
  request: Omit<PredictRequest, 'rows'> = {},
  control: PredictControl = {},
): Promise<QueryPredictor> {
  const chosen = await chooseMatrix(query, request.matrix, control, request.input);
  const genes = await queryGeneNames(model, query, chosen.reader.name, request.geneKey, control);
  const [nRows] = chosen.reader.shape;
  return {
    reader: chosen.reader,
    predict: (range = { start: 0, end: nRows }, sharedInput) =>
      predictRows(model, query, chosen, genes, range, { ...request, sharedInput }, control),
  };
}

/** The model's linear head, checked against its genes and classes. */
function linearOf(model: UsableModel): LinearHead | undefined {
  const card = model.card?.linear;
  return (
    card &&
    decodedPart(model, 'linear', linearHeadOf(card, model.genes.length, model.classNames.length))
  );
}

/** The model's novelty reference, checked against its genes. */
function noveltyReferenceOf(model: UsableModel): NoveltyReference | undefined {
  const card = model.card?.novelty;
  return card && decodedPart(model, 'novelty', noveltyOf(card, model.genes.length));
}

/** A card entry as its decoder gave it, or the decoder's message as an error naming the entry. */
function decodedPart<T>(model: UsableModel, entry: string, decoded: T | string): T {
  if (typeof decoded !== 'string') return decoded;
  throw new ScnymError(decoded, {
    code: 'bad-model',
    file: model.source,
    element: `scnym.json ${entry}`,
    hint: 'train the model again (scnym train … --model-out DIR)',
  });
}

function predictRows(
  model: UsableModel,
  query: AnnData,
  chosen: ChosenMatrix,
  genes: (string | null)[],
  range: RowRange,
  request: Omit<PredictRequest, 'rows'> & { sharedInput?: SharedInputLayer },
  control: PredictControl,
): Promise<Prediction> {
  // One row block at a time (log1p(CPM) of the reader's block); outputs allocated once.
  const rows = log1pCpmBlocks(chosen, null, chosen.genes.length, 'predict', control, range);
  return predict(
    model,
    rows,
    {
      genes,
      input: 'log1p-cpm',
      nCells: range.end - range.start,
      unknownThreshold: request.unknownThreshold,
      embedding: request.embedding,
      sparseInput: request.sparseInput,
      sharedInput: request.sharedInput,
      batchSize: request.batchSize,
      temperature: request.temperature ?? model.card?.temperature ?? 1,
      linear: linearOf(model),
      novelty: noveltyReferenceOf(model),
      source: { file: query.source, element: 'var' },
    },
    {
      signal: control.signal,
      onEvent: (event) => {
        if (event.type === 'genes' && event.nMissing > 0) {
          control.onWarning?.(
            `${event.nMissing} of the model's ${model.genes.length} genes are not in ${query.source} ` +
              `and are fed as zeros (e.g. ${event.missingExamples.slice(0, 5).join(', ')})`,
          );
        }
        control.onPredictEvent?.(event);
      },
    },
  );
}

export interface AnnotationKeys {
  /** Prefix of every key (the original's key_added, default 'scNym'). */
  keyAdded?: string;
}

/**
 * The original's outputs: obs `scNym` (categorical) and `scNym_confidence` (float32), obsm
 * `X_scnym` and `scNym_probabilities` (with uns `scNym_classes` naming its columns), uns
 * `scNym_colors` and `scNym_train_results`.
 */
export function predictionAnnotations(
  prediction: Prediction,
  card: Pick<ModelCard, 'classNames' | 'training' | 'provenance' | 'genes' | 'temperature'>,
  options: AnnotationKeys = {},
): Annotations {
  const invalid = keyAddedProblem(options.keyAdded ?? 'scNym');
  if (invalid) throw new ScnymError(invalid, { hint: 'choose another prefix (--key-added)' });
  const keys = annotationKeys(options.keyAdded);
  const categories = [...prediction.classNames];
  const hasUnknown = prediction.labels.some((l) => l === UNKNOWN_LABEL);
  if (hasUnknown && !categories.includes(UNKNOWN_LABEL)) categories.push(UNKNOWN_LABEL);
  // Labels are class names (code = the class index) or Unknown.
  const unknownCode = categories.indexOf(UNKNOWN_LABEL);
  const codes = Int32Array.from(prediction.labels, (l, i) =>
    l === UNKNOWN_LABEL ? unknownCode : prediction.codes[i],
  );
  const colors = categoryColors(categories);
  const nClasses = prediction.classNames.length;
  const summary = (card.training.summary ?? {}) as Record<string, number>;
  const annotations: Annotations = {
    obs: {
      [keys.label]: { kind: 'categorical', codes, categories },
      [keys.confidence]: { kind: 'float', values: prediction.confidence },
      ...(prediction.novelty.length > 0
        ? { [keys.novelty]: { kind: 'float' as const, values: prediction.novelty } }
        : {}),
    },
    obsm: {
      [keys.probabilities]: {
        data: prediction.probabilities,
        shape: [prediction.nCells, nClasses],
      },
    },
    uns: {
      [keys.classes]: [...prediction.classNames],
      [keys.colors]: colors,
      [keys.trainResults]: {
        tool: `scnym-js ${TOOL_VERSION}`,
        class_names: [...card.classNames],
        n_genes: card.genes.length,
        n_cell_types: card.classNames.length,
        n_missing_genes: prediction.nMissingGenes,
        preset: String(card.training.preset ?? ''),
        config: String(card.training.config ?? ''),
        final_acc: finiteOr(summary.heldOutAccuracy, -1),
        final_loss: finiteOr(summary.heldOutLoss, -1),
        temperature: card.temperature ?? 1,
        created: String(card.provenance.created),
      },
    },
  };
  if (prediction.embeddingDim > 0) {
    annotations.obsm![keys.embedding] = {
      data: prediction.embedding,
      shape: [prediction.nCells, prediction.embeddingDim],
    };
  }
  return annotations;
}

function finiteOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

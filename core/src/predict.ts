/**
 * Prediction: streams CSR blocks of a query through the trained classifier in eval mode and
 * returns labels, confidence (max softmax), class probabilities and the X_scnym embedding.
 * Memory: one input block and one batch at a time, plus the outputs, allocated once when the
 * cell count is known (`nCells`); `embedding: false` drops the largest of them (nCells × 256) and
 * `onBatch` with `retain: false` keeps none.
 */
import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from './event-loop.js';
import { throwIfAborted } from './errors.js';
import { concatBlocks, remapColumns, sliceRows, type Csr } from './csr.js';
import { batchInput, forward, type ForwardInput } from './model/forward.js';
import { foldClassifier, inferenceForward } from './model/inference.js';
import type { SharedInputLayer } from './model/kernels/shared-input.js';
import type { ScnymNetwork } from './model/network.js';
import {
  alignGenes,
  detectContent,
  toLog1pCpm,
  type ContentReport,
  type MatrixSource,
  type OverlapPolicy,
} from './preprocess.js';

import { UNKNOWN_LABEL } from './vocabulary.js';
import { blendLinearHead, type LinearHead } from './linear/head.js';
import { scoreNovelty, type NoveltyReference } from './novelty/reference.js';

export interface PredictableModel {
  network: ScnymNetwork;
  genes: readonly string[];
  classNames: readonly string[];
}

export interface PredictOptions {
  /**
   * Query gene names (columns of the rows; null = a column no model gene is matched to);
   * default: the model's genes in its order.
   */
  genes?: readonly (string | null)[];
  /**
   * What the rows hold; 'auto' decides from the first block: counts, or log1p of any target sum
   * (renormalised to log1p(CPM) block by block, like counts).
   */
  input?: 'auto' | 'counts' | 'log1p-cpm';
  /** Cells below this confidence are labeled 'Unknown' (new_identity_discovery); off if unset. */
  unknownThreshold?: number;
  /** Softmax temperature: probabilities = softmax(logits / T). Default 1 (none). */
  temperature?: number;
  /** A linear head whose probabilities are averaged with the network's (linear/head.ts). */
  linear?: LinearHead;
  /** Scores each cell's distance from the reference (novelty/reference.ts) into `novelty`. */
  novelty?: NoveltyReference;
  /**
   * Rows per forward pass. Default 1024, fewer on wide data so that a densified batch stays
   * within 2^23 values (32 MB; 419 rows at 20,000 genes).
   */
  batchSize?: number;
  /**
   * Feed CSR rows to the sparse input layer (true) or dense batches (false); default: what
   * forward.ts's batchInput picks for the backend.
   */
  sparseInput?: boolean;
  /**
   * The input layer's folded weights in a memory shared by prediction threads
   * (node/predict-threads.ts): the CSR input layer reads that one copy instead of this thread's.
   */
  sharedInput?: SharedInputLayer;
  /** Return the 256-d embedding (n × nHidden floats). Default true. */
  embedding?: boolean;
  /**
   * How many cells the rows hold, when known (e.g. the AnnData's nObs): every output is then
   * allocated once at its final size. Unknown, the outputs are kept per block and joined at the
   * end (briefly twice their size). More rows than `nCells` are an error; fewer give views of
   * the first cells.
   */
  nCells?: number;
  /**
   * Receives every batch's outputs in row order, as they are computed: a sink for callers that
   * write or aggregate the outputs as they come. With `retain` (the default) the arrays are views
   * of the returned outputs; without, they are fresh and the caller's to keep.
   */
  onBatch?: (batch: PredictionBatch) => void;
  /**
   * Keep the outputs for the returned Prediction (default true). false keeps nothing (use
   * `onBatch`): the Prediction then has nCells and classNames but empty arrays.
   */
  retain?: boolean;
  overlap?: OverlapPolicy;
  /** Where the rows come from, for error messages. */
  source?: MatrixSource;
}

export type PredictEvent =
  | { type: 'genes'; nShared: number; nMissing: number; missingExamples: string[] }
  | { type: 'input'; report: ContentReport }
  | { type: 'progress'; cellsDone: number };

export interface PredictControl {
  onEvent?: (event: PredictEvent) => void;
  signal?: AbortSignal;
}

export interface Prediction {
  nCells: number;
  classNames: string[];
  /** Class name per cell, or 'Unknown' below the threshold (shared strings: one pointer each). */
  labels: string[];
  /** Class index per cell (argmax), regardless of the threshold. */
  codes: Int32Array;
  confidence: Float32Array;
  /** nCells × nClasses softmax probabilities, row-major. */
  probabilities: Float32Array;
  /** nCells × embeddingDim, row-major (empty when not requested). */
  embedding: Float32Array;
  /** Distance from the reference per cell, ~1 for its own cells (empty when the model has none). */
  novelty: Float32Array;
  /** 0 when the embedding was not requested. */
  embeddingDim: number;
  /** Model genes the query lacks (fed as zeros). */
  nMissingGenes: number;
}

/** One forward pass's outputs: cells [start, start + nCells). */
export interface PredictionBatch {
  start: number;
  nCells: number;
  codes: Int32Array;
  confidence: Float32Array;
  /** nCells × nClasses. */
  probabilities: Float32Array;
  /** nCells × embeddingDim; empty when the embedding is off. */
  embedding: Float32Array;
  /** nCells; empty without a novelty reference. */
  novelty: Float32Array;
}

const EMPTY = new Float32Array(0);
const GIVEN_COUNTS: ContentReport = { kind: 'counts', min: 0, max: 0, reason: 'given as counts' };

/** Largest densified batch (values) the default batch size allows: 32 MB of float32. */
const DENSE_BATCH_VALUES = 1 << 23;
const DEFAULT_BATCH_ROWS = 1024;

/** The default rows per forward pass for `nGenes` model genes. */
export function defaultBatchSize(nGenes: number): number {
  return Math.max(64, Math.min(DEFAULT_BATCH_ROWS, Math.floor(DENSE_BATCH_VALUES / nGenes)));
}

export async function predict(
  model: PredictableModel,
  rows: AsyncIterable<Csr> | Iterable<Csr> | Csr,
  options: PredictOptions = {},
  control: PredictControl = {},
): Promise<Prediction> {
  const { onEvent, signal } = control;
  const sparseInput = options.sparseInput;
  const batchSize = options.batchSize ?? defaultBatchSize(model.genes.length);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new RangeError(`batchSize must be a positive integer (got ${batchSize})`);
  }
  const wantEmbedding = options.embedding ?? true;
  const embeddingDim = wantEmbedding ? model.network.config.nHidden : 0;
  const nClasses = model.classNames.length;
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new RangeError(`temperature must be a positive number (got ${temperature})`);
  }
  const expected = options.nCells;
  if (expected !== undefined && !(Number.isInteger(expected) && expected >= 0)) {
    throw new RangeError(`nCells must be a non-negative integer (got ${expected})`);
  }
  const queryGenes = options.genes ?? model.genes;
  const sameGenes =
    queryGenes.length === model.genes.length && queryGenes.every((g, i) => g === model.genes[i]);
  const alignment = sameGenes
    ? null
    : alignGenes(model.genes, queryGenes, options.overlap, options.source);
  onEvent?.({
    type: 'genes',
    nShared: alignment?.nShared ?? model.genes.length,
    nMissing: alignment?.nMissing ?? 0,
    missingExamples: alignment?.missingExamples ?? [],
  });

  // How each block is normalised: fixed by options.input, or by the first block's content
  // ('auto'); null = already log1p(CPM).
  let content: ContentReport | null | undefined =
    options.input === 'counts' ? GIVEN_COUNTS : options.input === 'log1p-cpm' ? null : undefined;
  const retain = options.retain ?? true;
  const widths: OutputWidths = { nClasses, embeddingDim, noveltyDim: options.novelty ? 1 : 0 };
  const outputs = retain ? new Outputs(widths, expected) : null;
  let cellsDone = 0;

  // BatchNorm folded into the Linear layers once for the run (null: residual blocks, unfolded).
  const folded = foldClassifier(model.network);
  const shared = options.sharedInput;
  if (folded && shared && shared.nIn === model.genes.length) {
    const [nIn, h] = folded.hidden[0].kernel.shape;
    if (shared.nIn === nIn && shared.h === h) folded.sharedInput = shared;
  }
  const run = (x: ForwardInput) =>
    folded ? inferenceForward(folded, x) : forward(model.network, x, { training: false });
  try {
    for await (const block of asBlocks(rows)) {
      throwIfAborted(signal);
      if (block.nCols !== queryGenes.length) {
        throw new RangeError(
          `rows have ${block.nCols} columns for ${queryGenes.length} query genes`,
        );
      }
      if (expected !== undefined && cellsDone + block.nRows > expected) {
        throw new RangeError(`the rows hold more than the ${expected} cells given as nCells`);
      }
      let m: Csr = block;
      if (content === undefined) {
        content = detectContent(block);
        onEvent?.({ type: 'input', report: content });
      }
      // Normalise over all query genes first (as the user would before scNym), then align.
      // toLog1pCpm throws on scaled or unrecognised data.
      if (content) m = toLog1pCpm(m, content, options.source);
      if (alignment) m = remapColumns(m, alignment.columnMap, model.genes.length);
      outputs?.reserve(m.nRows);
      for (let start = 0; start < m.nRows; start += batchSize) {
        const n = Math.min(m.nRows - start, batchSize);
        const batch = sliceRows(m, start, start + n);
        let probabilities: Float32Array = EMPTY;
        let embedding: Float32Array = EMPTY;
        // The outputs leave tidy through these variables: a returned object holding typed arrays
        // would be walked element by element by tidy's tensor search (most of the time at 2k genes).
        tf.tidy(() => {
          const x = batchInput(batch, sparseInput);
          const result = run(x);
          const probs = tf.softmax(
            temperature === 1 ? result.logits : tf.div(result.logits, temperature),
          );
          probabilities = probs.dataSync() as Float32Array;
          if (wantEmbedding) embedding = result.preActivation.dataSync() as Float32Array;
        });
        const out: OutputArrays = outputs
          ? outputs.write(n, probabilities, embedding)
          : {
              codes: new Int32Array(n),
              confidence: new Float32Array(n),
              probabilities,
              embedding,
              novelty: new Float32Array(n * widths.noveltyDim),
            };
        if (options.linear) blendLinearHead(options.linear, batch, out.probabilities);
        if (options.novelty) scoreNovelty(options.novelty, batch, out.novelty);
        argMax(out.probabilities, nClasses, out.codes, out.confidence);
        options.onBatch?.({ start: cellsDone + start, nCells: n, ...out });
      }
      cellsDone += m.nRows;
      onEvent?.({ type: 'progress', cellsDone });
      await yieldToEventLoop(); // cancel and progress messages are seen between blocks
    }
  } finally {
    folded?.dispose();
  }

  const kept = outputs?.finish() ?? outputArrays(0, widths);
  const { codes, confidence } = kept;
  const classNames = [...model.classNames];
  return {
    nCells: cellsDone,
    classNames,
    labels: labelCells(codes, confidence, classNames, options.unknownThreshold),
    codes,
    confidence,
    probabilities: kept.probabilities,
    embedding: kept.embedding,
    novelty: kept.novelty,
    embeddingDim,
    nMissingGenes: alignment?.nMissing ?? 0,
  };
}

/** Each cell's class name, or 'Unknown' where its confidence is below `threshold` (if set). */
export function labelCells(
  codes: Int32Array,
  confidence: Float32Array,
  classNames: readonly string[],
  threshold: number | undefined,
): string[] {
  const labels = new Array<string>(codes.length);
  for (let i = 0; i < codes.length; i++) {
    labels[i] =
      threshold !== undefined && confidence[i] < threshold ? UNKNOWN_LABEL : classNames[codes[i]];
  }
  return labels;
}

/** A run of cells' outputs, in row order (a batch's, a part's, a whole prediction's). */
export type OutputArrays = Omit<PredictionBatch, 'start' | 'nCells'>;

/** Values per cell of each output that has more than one: classes, embedding, novelty (0 or 1). */
export interface OutputWidths {
  nClasses: number;
  embeddingDim: number;
  noveltyDim: number;
}

/** Zeroed outputs of `n` cells. */
export function outputArrays(n: number, w: OutputWidths): OutputArrays {
  return {
    codes: new Int32Array(n),
    confidence: new Float32Array(n),
    probabilities: new Float32Array(n * w.nClasses),
    embedding: new Float32Array(n * w.embeddingDim),
    novelty: new Float32Array(n * w.noveltyDim),
  };
}

/** Views of cells [from, to) of `a`. */
export function outputRows(
  a: OutputArrays,
  from: number,
  to: number,
  w: OutputWidths,
): OutputArrays {
  return {
    codes: a.codes.subarray(from, to),
    confidence: a.confidence.subarray(from, to),
    probabilities: a.probabilities.subarray(from * w.nClasses, to * w.nClasses),
    embedding: a.embedding.subarray(from * w.embeddingDim, to * w.embeddingDim),
    novelty: a.novelty.subarray(from * w.noveltyDim, to * w.noveltyDim),
  };
}

/** codes[i] = the first index of row i's largest probability, confidence[i] = that value. */
export function argMax(
  probs: Float32Array,
  nClasses: number,
  codes: Int32Array,
  conf: Float32Array,
) {
  for (let i = 0; i < codes.length; i++) {
    const base = i * nClasses;
    let best = 0;
    let value = probs[base];
    for (let c = 1; c < nClasses; c++) {
      if (probs[base + c] > value) {
        value = probs[base + c];
        best = c;
      }
    }
    codes[i] = best;
    conf[i] = value;
  }
}

/**
 * The retained outputs. With the cell count known they are allocated once at full size; without
 * it, one chunk per input block (so a chunk is never larger than a block), joined by finish().
 */
class Outputs {
  private readonly chunks: OutputArrays[] = [];
  /** Rows in the chunks before the current one, and rows written into the current one. */
  private before = 0;
  private filled = 0;
  private capacity = 0;

  constructor(
    private readonly widths: OutputWidths,
    private readonly nCells: number | undefined,
  ) {
    if (nCells !== undefined) this.allocate(nCells);
  }

  private allocate(rows: number) {
    this.before += this.filled;
    this.filled = 0;
    this.capacity = rows;
    this.chunks.push(outputArrays(rows, this.widths));
  }

  /** Makes room for the next `rows` rows (a new chunk when the cell count is unknown). */
  reserve(rows: number) {
    if (this.nCells === undefined && this.filled + rows > this.capacity) this.allocate(rows);
  }

  /** Copies one batch in; returns views of where its rows went (codes/confidence to fill). */
  write(rows: number, probabilities: Float32Array, embedding: Float32Array): OutputArrays {
    const chunk = this.chunks[this.chunks.length - 1];
    const at = this.filled;
    this.filled += rows;
    const view = outputRows(chunk, at, this.filled, this.widths);
    view.probabilities.set(probabilities);
    view.embedding.set(embedding);
    return view;
  }

  finish(): OutputArrays {
    const n = this.before + this.filled;
    if (this.chunks.length === 0) return outputArrays(0, this.widths);
    if (this.chunks.length === 1) return outputRows(this.chunks[0], 0, this.filled, this.widths);
    const out = outputArrays(n, this.widths);
    let row = 0;
    for (const [i, chunk] of this.chunks.entries()) {
      const rows = i === this.chunks.length - 1 ? this.filled : chunk.codes.length;
      const into = outputRows(out, row, row + rows, this.widths);
      const from = outputRows(chunk, 0, rows, this.widths);
      for (const key of ['codes', 'confidence', 'probabilities', 'embedding', 'novelty'] as const)
        into[key].set(from[key]);
      row += rows;
      this.chunks[i] = outputArrays(0, this.widths); // let the chunk go while the rest is copied
    }
    return out;
  }
}

async function* asBlocks(rows: AsyncIterable<Csr> | Iterable<Csr> | Csr): AsyncGenerator<Csr> {
  if ('indptr' in rows) {
    yield rows;
    return;
  }
  for await (const block of rows) yield block.indptr[0] === 0 ? block : concatBlocks([block]);
}

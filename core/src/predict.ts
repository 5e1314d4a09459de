/**
 * Prediction: streams CSR blocks of a query through the trained classifier in eval mode and
 * returns labels, confidence (max softmax), class probabilities and the X_scnym embedding.
 */
import * as tf from '@tensorflow/tfjs';
import { concatBlocks, remapColumns, sliceRows, type Csr } from './csr.js';
import { batchInput, forward } from './model/forward.js';
import type { ScnymNetwork } from './model/network.js';
import {
  alignGenes,
  detectContent,
  toLog1pCpm,
  type ContentReport,
  type MatrixSource,
  type OverlapPolicy,
} from './preprocess.js';

export const UNKNOWN_LABEL = 'Unknown';
/** The original's find_low_confidence_cells default. */
export const DEFAULT_UNKNOWN_THRESHOLD = 0.5;

export interface PredictableModel {
  network: ScnymNetwork;
  genes: readonly string[];
  classNames: readonly string[];
}

export interface PredictOptions {
  /** Query gene names (columns of the rows); default: the model's genes in its order. */
  genes?: readonly string[];
  /** What the rows hold; 'auto' decides from the first block (counts vs log1p). */
  input?: 'auto' | 'counts' | 'log1p-cpm';
  /** Cells below this confidence are labeled 'Unknown' (new_identity_discovery); off if unset. */
  unknownThreshold?: number;
  /** Softmax temperature: probabilities = softmax(logits / T). Default 1 (none). */
  temperature?: number;
  /** Rows per forward pass. */
  batchSize?: number;
  /** Feed CSR rows to the sparse input layer instead of dense batches (default false). */
  sparseInput?: boolean;
  /** Return the 256-d embedding (n × nHidden floats). Default true. */
  embedding?: boolean;
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
  /** Class name per cell, or 'Unknown' below the threshold. */
  labels: string[];
  /** Class index per cell (argmax), regardless of the threshold. */
  codes: Int32Array;
  confidence: Float32Array;
  /** nCells × nClasses softmax probabilities, row-major. */
  probabilities: Float32Array;
  /** nCells × embeddingDim, row-major (empty when not requested). */
  embedding: Float32Array;
  embeddingDim: number;
  /** Model genes the query lacks (fed as zeros). */
  nMissingGenes: number;
}

export async function predict(
  model: PredictableModel,
  rows: AsyncIterable<Csr> | Iterable<Csr> | Csr,
  options: PredictOptions = {},
  control: PredictControl = {},
): Promise<Prediction> {
  const { onEvent, signal } = control;
  const batchSize = options.batchSize ?? 1024;
  const wantEmbedding = options.embedding ?? true;
  const embeddingDim = model.network.config.nHidden;
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new RangeError(`temperature must be a positive number (got ${temperature})`);
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

  let inputKind = options.input ?? 'auto';
  const codes: Int32Array[] = [];
  const confidences: Float32Array[] = [];
  const probabilities: Float32Array[] = [];
  const embeddings: Float32Array[] = [];
  let cellsDone = 0;

  for await (const block of asBlocks(rows)) {
    if (signal?.aborted) throw abortError();
    if (block.nCols !== queryGenes.length) {
      throw new RangeError(`rows have ${block.nCols} columns for ${queryGenes.length} query genes`);
    }
    let m: Csr = block;
    if (inputKind === 'auto') {
      const report = detectContent(block);
      onEvent?.({ type: 'input', report });
      toLog1pCpm(block, report, options.source); // throws on scaled or unrecognised data
      inputKind = report.kind === 'counts' ? 'counts' : 'log1p-cpm';
    }
    // Normalise over all query genes first (as the user would before scNym), then align.
    if (inputKind === 'counts') m = toLog1pCpm(m, { kind: 'counts', min: 0, max: 0, reason: '' });
    if (alignment) m = remapColumns(m, alignment.columnMap, model.genes.length);
    for (let start = 0; start < m.nRows; start += batchSize) {
      const batch = sliceRows(m, start, Math.min(m.nRows, start + batchSize));
      const out = tf.tidy((): BatchOutput => {
        const x = batchInput(batch, options.sparseInput ?? false);
        const result = forward(model.network, x, { training: false });
        const probs = tf.softmax(
          temperature === 1 ? result.logits : tf.div(result.logits, temperature),
        );
        return {
          codes: tf.argMax(probs, 1).dataSync() as Int32Array,
          confidence: tf.max(probs, 1).dataSync() as Float32Array,
          probabilities: probs.dataSync() as Float32Array,
          embedding: wantEmbedding ? (result.preActivation.dataSync() as Float32Array) : undefined,
        };
      });
      codes.push(Int32Array.from(out.codes));
      confidences.push(Float32Array.from(out.confidence));
      probabilities.push(Float32Array.from(out.probabilities));
      if (out.embedding) embeddings.push(Float32Array.from(out.embedding));
    }
    cellsDone += m.nRows;
    onEvent?.({ type: 'progress', cellsDone });
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  const allCodes = concatTyped(codes, Int32Array);
  const confidence = concatTyped(confidences, Float32Array);
  const threshold = options.unknownThreshold;
  const labels = Array.from(allCodes, (c, i) =>
    threshold !== undefined && confidence[i] < threshold ? UNKNOWN_LABEL : model.classNames[c],
  );
  return {
    nCells: cellsDone,
    classNames: [...model.classNames],
    labels,
    codes: allCodes,
    confidence,
    probabilities: concatTyped(probabilities, Float32Array),
    embedding: concatTyped(embeddings, Float32Array),
    embeddingDim: wantEmbedding ? embeddingDim : 0,
    nMissingGenes: alignment?.nMissing ?? 0,
  };
}

interface BatchOutput {
  [key: string]: Int32Array | Float32Array | undefined;
  codes: Int32Array;
  confidence: Float32Array;
  probabilities: Float32Array;
  embedding?: Float32Array;
}

async function* asBlocks(rows: AsyncIterable<Csr> | Iterable<Csr> | Csr): AsyncGenerator<Csr> {
  if ('indptr' in rows) {
    yield rows;
    return;
  }
  for await (const block of rows) yield block.indptr[0] === 0 ? block : concatBlocks([block]);
}

function concatTyped<T extends Int32Array | Float32Array>(
  parts: T[],
  Ctor: { new (n: number): T },
): T {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function abortError(): Error {
  const error = new Error('prediction aborted');
  error.name = 'AbortError';
  return error;
}

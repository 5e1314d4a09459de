/**
 * Prediction on worker threads, one per core by default: the rows cut into ranges at the store's
 * chunk boundaries (row-ranges.ts) and handed out one at a time to workers (predict-worker.ts)
 * that each load the model and open the query once; their outputs come back transferred, not
 * copied, into arrays allocated once (PredictionAssembly). Every row goes through the same
 * per-row kernels as on one thread, so the outputs are the same to the bit.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { queryPredictor, type PredictControl, type PredictRequest } from '../annotate.js';
import type { AnnData, MatrixReader } from '../anndata/types.js';
import { AbortError, ScnymError, type ErrorCode } from '../errors.js';
import { modelToFiles, type LoadedModel } from '../model/files.js';
import { sharedInputLayerOf } from '../model/inference.js';
import { sparseByDefault } from '../model/sparse.js';
import type { SharedInputLayer } from '../model/kernels/shared-input.js';
import type { Prediction } from '../predict.js';
import {
  PredictionAssembly,
  shrinkingParts,
  type PartArrays,
  type RowRange,
} from '../row-ranges.js';
import {
  predictingControl,
  predictionOutput,
  unknownThresholdOf,
  type PredictionOutput,
  type PredictQueryRequest,
} from '../workflow/annotate.js';
import type { WorkflowControl } from '../workflow/events.js';

/** A number of worker threads, or 'auto': one per core, fewer for small queries. */
export type ThreadCount = number | 'auto';

/** Fewest rows per thread 'auto' starts one for: a worker needs about a second to get ready. */
const AUTO_ROWS_PER_THREAD = 20_000;
/** Fewest rows in a part at scale: about a fifth of a second of one thread's work at 20k genes. */
const MIN_PART_ROWS = 2048;
/** Parts per thread at least, on a query too small for MIN_PART_ROWS to give every thread some. */
const PARTS_PER_THREAD = 4;

/** The cores this process may use: a Slurm task's CPUs when it has them, else the machine's. */
export function availableCores(): number {
  const cores = availableParallelism();
  const slurm = Number(process.env.SLURM_CPUS_PER_TASK);
  return Number.isInteger(slurm) && slurm >= 1 ? Math.min(slurm, cores) : cores;
}

/** How many threads predict `nRows` rows: as asked, 'auto' as above, default 1. */
export function resolveThreads(threads: ThreadCount | undefined, nRows: number): number {
  if (threads === undefined) return 1;
  if (threads === 'auto') {
    return Math.max(1, Math.min(availableCores(), Math.ceil(nRows / AUTO_ROWS_PER_THREAD)));
  }
  if (!(Number.isInteger(threads) && threads >= 1)) {
    throw new RangeError(`threads must be a positive integer or 'auto' (got ${threads})`);
  }
  return threads;
}

/**
 * The parts `threads` threads take `range` in, one after another: shrinking towards the end
 * (row-ranges.ts shrinkingParts) so that the threads finish together, cut at `alignRow`.
 */
export function partsFor(
  range: RowRange,
  threads: number,
  alignRow?: (row: number) => number,
): RowRange[] {
  if (threads === 1) return [range];
  const n = range.end - range.start;
  const fewest = Math.min(MIN_PART_ROWS, Math.ceil(n / (threads * PARTS_PER_THREAD)));
  return shrinkingParts(range, threads, Math.max(1, fewest), alignRow);
}

/** What a worker is started with (workerData). */
export interface WorkerSetup {
  modelFiles: [string, Uint8Array][];
  modelSource: string;
  queryPath: string;
  request: Omit<PredictRequest, 'rows' | 'unknownThreshold'>;
  backend: string;
  /** The input layer's weights in a shared memory, read by every thread (one copy in cache). */
  sharedInput?: SharedInputLayer;
}

export type ToWorker =
  { type: 'predict'; id: number; start: number; end: number } | { type: 'close' };

export type ToMain =
  | { type: 'progress'; id: number; done: number }
  | { type: 'warning'; message: string }
  | { type: 'notice'; message: string }
  | { type: 'done'; id: number; nMissingGenes: number; arrays: PartArrays }
  | { type: 'error'; error: ErrorMessage };

interface ErrorMessage {
  message: string;
  name?: string;
  code?: ErrorCode;
  file?: string;
  element?: string;
  hint?: string;
  stack?: string;
}

/** An error as a worker sends it (its class does not survive the message). */
export function errorMessage(err: unknown): ErrorMessage {
  if (!(err instanceof Error)) return { message: String(err) };
  const { message, name, stack } = err;
  const e = err as Partial<ScnymError>;
  return { message, name, stack, code: e.code, file: e.file, element: e.element, hint: e.hint };
}

/** The worker's error again: a ScnymError with its code, file and hint, or a plain Error. */
function rebuild(m: ErrorMessage): Error {
  if (m.name === 'AbortError') return new AbortError(m.message);
  const err =
    m.code === undefined
      ? new Error(m.message)
      : new ScnymError('', { code: m.code, file: m.file, element: m.element, hint: m.hint });
  err.message = m.message;
  if (m.name) Object.defineProperty(err, 'name', { value: m.name });
  if (m.stack) err.stack = m.stack;
  return err;
}

/** The worker's module: compiled JavaScript, or (tests, benchmarks) TypeScript run through tsx. */
function startWorker(setup: WorkerSetup): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./predict-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(url, { workerData: setup });
  // Node 20 does not run --import hooks in workers: register tsx there before the module.
  const tsx = import.meta.resolve('tsx/esm/api');
  const code =
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); ` +
    `return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true, workerData: setup });
}

export interface ThreadedJob {
  setup: WorkerSetup;
  classNames: readonly string[];
  embeddingDim: number;
  /** 1 when the model scores novelty, 0 when not. */
  noveltyDim: number;
  /** The rows to predict, and the parts they are handed out in (covering them once). */
  range: RowRange;
  parts: RowRange[];
  /** Threads in all: this one and threads − 1 workers. */
  threads: number;
  unknownThreshold: number | undefined;
  /**
   * Predicts a part on this thread (which has the model and the query open already), telling
   * `onRows` the rows done so far: this thread works too while the workers start.
   */
  here: (part: RowRange, onRows: (done: number) => void) => Promise<Prediction>;
}

/** Ranges a worker holds at a time: the next one is there as soon as it finishes one. */
const WORKER_QUEUE = 2;

/**
 * Predicts `job.range` on this thread and `job.threads − 1` worker threads, each taking the next
 * part as it finishes one; the outputs as one Prediction of those rows.
 */
export function predictInThreads(
  job: ThreadedJob,
  control: PredictControl & { onNotice?: (message: string) => void } = {},
): Promise<Prediction> {
  const { range, parts } = job;
  const assembly = new PredictionAssembly(range, job.classNames, job.embeddingDim, job.noveltyDim);
  const total = range.end - range.start;
  const queue = parts.map((r, id) => ({ ...r, id })).filter((r) => r.end > r.start);
  let remaining = queue.length;
  const workers: Worker[] = [];
  /** Rows done of the parts being predicted, and of the parts finished. */
  const progress = new Map<number, number>();
  let doneRows = 0;
  let nMissingGenes = 0;

  return new Promise<Prediction>((resolve, reject) => {
    let settled = false;
    const settle = (err: unknown, result?: Prediction) => {
      if (settled) return;
      settled = true;
      control.signal?.removeEventListener('abort', onAbort);
      for (const w of workers) {
        if (err) void w.terminate();
        else w.postMessage({ type: 'close' } satisfies ToWorker);
      }
      if (err) reject(err);
      else resolve(result!);
    };
    const onAbort = () => settle(new AbortError());
    if (control.signal?.aborted) return onAbort();
    control.signal?.addEventListener('abort', onAbort);

    const report = () => {
      let done = doneRows;
      for (const v of progress.values()) done += v;
      control.onProgress?.('predict', done, total);
    };
    const finished = (id: number, arrays: PartArrays, missingGenes: number) => {
      const part = parts[id];
      assembly.add(part, arrays);
      nMissingGenes = missingGenes;
      progress.delete(id);
      doneRows += part.end - part.start;
      report();
      if (--remaining === 0) settle(null, assembly.finish(job.unknownThreshold, nMissingGenes));
    };
    const handOut = (w: Worker) => {
      const next = queue.shift();
      if (next) w.postMessage({ type: 'predict', ...next } satisfies ToWorker);
    };
    const onMessage = (w: Worker, m: ToMain) => {
      if (m.type === 'progress') {
        progress.set(m.id, m.done);
        report();
      } else if (m.type === 'warning') control.onWarning?.(m.message);
      else if (m.type === 'notice') control.onNotice?.(m.message);
      else if (m.type === 'error') settle(rebuild(m.error));
      else if (m.type === 'done') {
        finished(m.id, m.arrays, m.nMissingGenes);
        if (!settled) handOut(w);
      }
    };

    if (remaining === 0) return settle(null, assembly.finish(job.unknownThreshold, 0));
    for (let i = 0; i < Math.min(job.threads - 1, queue.length - 1); i++) {
      const w = startWorker(job.setup);
      workers.push(w);
      w.on('error', (err) => settle(err));
      w.on('exit', (code) => {
        if (code !== 0) settle(new Error(`a prediction thread stopped (exit code ${code})`));
      });
      w.on('message', (m: ToMain) => {
        if (settled) return;
        try {
          onMessage(w, m);
        } catch (err) {
          settle(err);
        }
      });
      // Its first parts at once (they wait in its queue while it starts): every worker has
      // work, whatever this thread gets done meanwhile.
      for (let k = 0; k < WORKER_QUEUE; k++) handOut(w);
    }
    // This thread takes parts too, between the workers' messages (predict yields per block).
    void (async () => {
      for (let next = queue.shift(); next && !settled; next = queue.shift()) {
        const { id } = next;
        const p = await job.here(next, (done) => {
          progress.set(id, done);
          report();
        });
        if (!settled) finished(id, p, p.nMissingGenes);
      }
    })().catch((err: unknown) => settle(err));
  });
}

/** Which rows of what a prediction of rows covers, and the threshold its labels used. */
export interface RowsOutput {
  rows: RowRange;
  /** The matrix read ('X', 'layers/counts', …) and its rows. */
  matrix: string;
  nObs: number;
  unknownThreshold: number | undefined;
}

export interface RowsRequest extends PredictQueryRequest {
  /** Worker threads (default 1: this thread; 'auto': one per core, fewer for small queries). */
  threads?: ThreadCount;
  /**
   * On several threads, read the input layer's weights from one shared copy (default true);
   * false: each thread its own copy, as before (benchmarks compare the two).
   */
  shareInputLayer?: boolean;
}

/**
 * Predicts rows of an open query file, all of them or those `pick` chooses from the chosen
 * matrix (a shard's), on this thread or on `request.threads` worker threads. `modelFiles`: the
 * model as files, when the caller has them already (the workers load it from them).
 */
export async function predictFileRows(
  model: LoadedModel & { source?: string },
  query: AnnData,
  queryPath: string,
  request: RowsRequest,
  control: WorkflowControl = {},
  pick?: (reader: MatrixReader) => RowRange,
  modelFiles?: Map<string, Uint8Array>,
): Promise<PredictionOutput & RowsOutput> {
  const unknownThreshold = unknownThresholdOf(model, request);
  // The same words once, whether this thread or every worker says them.
  const layers = predictingControl(control);
  const told = new Set<string>();
  const once = (say?: (message: string) => void) => (message: string) => {
    if (told.has(message)) return;
    told.add(message);
    say?.(message);
  };
  // This thread's progress goes where the caller says (the whole, or one part of it).
  let onProgress = layers.onProgress;
  const ctl = {
    ...layers,
    onProgress: (stage: string, done: number, total: number) => onProgress?.(stage, done, total),
    onWarning: once(layers.onWarning),
    onNotice: once(layers.onNotice),
  };
  const base = {
    matrix: request.matrix,
    input: request.input,
    geneKey: request.geneKey,
    embedding: request.embedding,
    temperature: request.temperature,
    sparseInput: request.sparseInput,
    batchSize: request.batchSize,
  };
  const predictor = await queryPredictor(model, query, { ...base, unknownThreshold }, ctl);
  const { reader } = predictor;
  const range = pick?.(reader) ?? request.rows ?? { start: 0, end: reader.shape[0] };
  const threads = resolveThreads(request.threads, range.end - range.start);
  let prediction: Prediction;
  if (threads === 1) {
    prediction = await predictor.predict(range);
  } else {
    const files = modelFiles ?? (await modelToFiles(model.network, model.card));
    // One copy of the input layer for all threads (two of a 20k-gene layer outgrow the L3 the
    // cores share); the same kernel on the same floats, so the same bits.
    // Only where the heap kernel runs too (WASM SIMD, CSR input): other paths round otherwise.
    const share =
      sparseByDefault() && request.sparseInput !== false && request.shareInputLayer !== false;
    const sharedInput = share ? (sharedInputLayerOf(model.network) ?? undefined) : undefined;
    prediction = await predictInThreads(
      {
        setup: {
          modelFiles: [...files],
          modelSource: model.source ?? 'model',
          queryPath,
          request: { ...base, matrix: reader.name },
          backend: tf.getBackend(),
          sharedInput,
        },
        classNames: model.classNames,
        embeddingDim: request.embedding === false ? 0 : model.network.config.nHidden,
        noveltyDim: model.card?.novelty ? 1 : 0,
        range,
        parts: partsFor(range, threads, reader.alignRow?.bind(reader)),
        threads,
        unknownThreshold,
        here: (part, onRows) => {
          onProgress = (_stage, done) => onRows(done);
          return predictor.predict(part, sharedInput);
        },
      },
      { ...ctl, onProgress: layers.onProgress },
    );
  }
  return {
    ...predictionOutput(prediction, model, request),
    rows: range,
    matrix: reader.name,
    nObs: reader.shape[0],
    unknownThreshold,
  };
}

/**
 * The Transfer-labels worker: core's workflow in a Web Worker. Annotate trains scNym on the
 * reference (the query as unlabelled data) and predicts the query (core's annotate), or predicts
 * it with a saved model (predictQuery); markers explain a class over its predicted cells or a
 * lasso selection (explain). Events and cancellation are core's; this file only relays them.
 */
import {
  annotate,
  explain,
  initBackend,
  isAbortError,
  modelFromFiles,
  modelToFiles,
  predictQuery,
  type Annotations,
  type ModelCard,
  type ScnymNetwork,
  type WorkflowControl,
  type WorkflowEvent,
} from '@scnym/core';
import { openDatasetOverHttp } from '../../shared/open-dataset.js';
import { embeddingFits, wireArray, type SaveRequest } from '../../shared/save-format.js';
import type {
  AnnotateRequest,
  ClassMarkersRequest,
  FromWorker,
  LoadModelRequest,
  SaliencyRequest,
  ToWorker,
} from '../../shared/worker-messages.js';
import { CompareScorer } from './compare-scores.js';
import { LABEL } from './keys.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

/**
 * scNym's hidden width, the X_scnym dimensions of a model trained here; the embedding is only
 * computed when a save can carry it (1 GB at a million cells otherwise).
 */
const SCNYM_HIDDEN = 256;

let controller: AbortController | null = null;
let backend: string | null = null;

/** What markers need after a run: the model and where the query is. */
interface LastRun {
  network: ScnymNetwork;
  genes: string[];
  classNames: string[];
  card: ModelCard;
  query: AnnotateRequest['query'];
  /** The names the query's genes were matched to the model's by. */
  geneKey: string;
}
let last: LastRun | null = null;
/** Compare's scoring: not one of the runs, it answers between a run's steps too. */
const scorer = new CompareScorer(post);

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'cancel') controller?.abort();
  else if (msg.type === 'annotate') {
    // A new run stops the explanation under way (the dot plot's, found after every result) and
    // drops those waiting: they explain the model it replaces. They end without a word.
    generation++;
    if (explaining) controller?.abort();
    queue(() => annotateQuery(msg), false);
  }
  // Explanations wait their turn: the dot plot's markers are asked for as a result arrives
  // (before that run has closed its files), and a class's markers may be asked for meanwhile.
  else if (msg.type === 'saliency') queue(() => markers(msg), true);
  else if (msg.type === 'class-markers') queue(() => classMarkers(msg), true);
  else if (msg.type === 'load-model') queue(() => loadModel(msg), false);
  else if (msg.type === 'model-files') void modelFiles();
  else if (msg.type === 'score') scorer.request(msg);
};

/** The tasks, each after the one before it: one at a time, never interleaved. */
let tasks: Promise<void> = Promise.resolve();

/** The task under way is an explanation (saliency or the dot plot's markers). */
let explaining = false;
/** Annotate requests so far: an explanation asked for before the last one is dropped. */
let generation = 0;

function queue(task: () => Promise<void>, explanation: boolean): void {
  const asked = generation;
  const dropped = () => explanation && asked !== generation;
  tasks = tasks.then(async () => {
    if (dropped()) return;
    explaining = explanation;
    try {
      await task();
    } catch (err) {
      const e = err as Error & { hint?: string };
      if (dropped()) return;
      if (isAbortError(err) || controller?.signal.aborted) post({ type: 'cancelled' });
      else post({ type: 'error', message: e.message, hint: e.hint });
    } finally {
      controller = null;
    }
  });
}

/** Core's workflow events as the panel's messages. */
function relay(signal: AbortSignal): WorkflowControl {
  let nEpochs = 0;
  let stepsPerEpoch = 1;
  const onEvent = (event: WorkflowEvent) => {
    if (event.type === 'progress') {
      const { stage, done, total, detail } = event;
      post({ type: 'stage', stage, done, total, detail });
    } else if (event.type === 'warning' || event.type === 'notice') {
      post({ type: 'warning', message: event.message });
    } else {
      const t = event.event;
      if (t.type === 'start') {
        nEpochs = t.nEpochs;
        stepsPerEpoch = t.stepsPerEpoch;
        post({ type: 'start', nEpochs, stepsPerEpoch });
      } else if (t.type === 'step') {
        post({
          type: 'progress',
          epoch: t.epoch,
          nEpochs,
          step: t.epoch * stepsPerEpoch + t.stepInEpoch + 1,
          loss: t.loss,
        });
      } else {
        post({
          type: 'epoch',
          epoch: t.epoch,
          nEpochs: t.nEpochs,
          losses: t.losses,
          valAccuracy: t.valAccuracy,
          valLoss: t.valLoss,
        });
      }
    }
  };
  return { signal, onEvent };
}

/** WebGL unless it is a software rasteriser (then WASM is much faster), then WASM, then CPU. */
async function startBackend(req: Pick<AnnotateRequest, 'backend' | 'wasmPaths'>): Promise<string> {
  if (backend) return backend;
  let preference = req.backend;
  if (preference === 'auto' && softwareWebGl()) preference = 'wasm';
  try {
    backend = await initBackend(preference, { wasmPaths: req.wasmPaths });
  } catch {
    backend = await initBackend('auto', { wasmPaths: req.wasmPaths });
  }
  post({ type: 'backend', name: backend });
  return backend;
}

function softwareWebGl(): boolean {
  try {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as
      WebGL2RenderingContext | WebGLRenderingContext | null;
    if (!gl) return true;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(
      info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
    );
    return /swiftshader|llvmpipe|software|basic render/i.test(renderer);
  } catch {
    return true;
  }
}

async function annotateQuery(req: AnnotateRequest): Promise<void> {
  controller = new AbortController();
  const control = relay(controller.signal);
  const t0 = performance.now();
  const name = await startBackend(req);
  last?.network.dispose();
  last = null;

  const query = await openDatasetOverHttp(req.query);
  try {
    let model: LastRun;
    let output;
    if (req.source.kind === 'reference') {
      const reference = await openDatasetOverHttp(req.source.dataset);
      try {
        const result = await annotate(
          reference,
          query,
          {
            labelKey: req.source.labelKey,
            domainKey: req.source.domainKey,
            geneKey: req.geneKey,
            config: req.config,
            overrides: req.epochs ? { seed: req.seed, nEpochs: req.epochs } : { seed: req.seed },
            embedding: embeddingFits(query.nObs, SCNYM_HIDDEN),
            queryLabels: req.corrections,
          },
          control,
        );
        output = result;
        model = {
          ...result.model,
          card: result.card,
          query: req.query,
          // The query's genes as training matched them.
          geneKey: result.geneKeys.query ?? req.geneKey,
        };
      } finally {
        await reference.close();
      }
    } else {
      if (req.corrections) throw new Error('retraining needs a reference: choose one, not a model');
      const loaded = await modelFromFiles(modelReader(req.source), req.source.name);
      model = { ...loaded, query: req.query, geneKey: req.geneKey };
      const embedding = embeddingFits(query.nObs, loaded.network.config.nHidden);
      output = await predictQuery(loaded, query, { geneKey: req.geneKey, embedding }, control);
    }
    const { prediction, annotations } = output;
    last = model;
    const label = annotations.obs?.[LABEL];
    if (label?.kind !== 'categorical') throw new Error(`the prediction has no ${LABEL} column`);
    const save = toWire(annotations);
    // The codes and confidences move to the page (the save holds them as base64 already).
    post(
      {
        type: 'result',
        backend: name,
        seconds: (performance.now() - t0) / 1000,
        classNames: prediction.classNames,
        codes: label.codes,
        categories: label.categories,
        confidence: prediction.confidence,
        novelty: prediction.novelty,
        save,
      },
      [label.codes.buffer, prediction.confidence.buffer, prediction.novelty.buffer],
    );
  } finally {
    await query.close();
  }
}

/** A saved model, loaded to explain the predictions it made (markers) after a reload. */
async function loadModel(req: LoadModelRequest): Promise<void> {
  await startBackend(req);
  const loaded = await modelFromFiles(modelReader(req.source), req.source.name);
  last?.network.dispose();
  last = { ...loaded, query: req.query, geneKey: req.geneKey };
  post({ type: 'model-loaded', name: req.source.name, classNames: loaded.classNames });
}

/** The model markers explain, as core's files (for Save to write beside the dataset). */
async function modelFiles(): Promise<void> {
  const files = last ? await modelToFiles(last.network, last.card) : null;
  post({ type: 'model-files', files: files && Object.fromEntries(files) });
}

/** A model folder's files: picked in the page, else fetched from the server. */
function modelReader(source: Extract<AnnotateRequest['source'], { kind: 'model' }>) {
  const picked = source.files;
  if (picked) {
    return async (file: string) => {
      const blob = picked.find((f) => f.path === file)?.file;
      return blob && new Uint8Array(await blob.arrayBuffer());
    };
  }
  const base = source.url.endsWith('/') ? source.url : `${source.url}/`;
  return async (file: string) => {
    const r = await fetch(new URL(file, base));
    return r.ok ? new Uint8Array(await r.arrayBuffer()) : undefined;
  };
}

/** Core annotations → the save endpoint's JSON (typed arrays as base64). */
function toWire(a: Annotations): SaveRequest {
  const out: SaveRequest = { schema: 'scnym.save/1', obs: {}, obsm: {}, uns: {} };
  for (const [k, v] of Object.entries(a.obs ?? {})) {
    out.obs![k] =
      v.kind === 'categorical'
        ? { kind: 'categorical', codes: wireArray(v.codes), categories: v.categories }
        : { kind: 'float', values: wireArray(v.values) };
  }
  for (const [k, v] of Object.entries(a.obsm ?? {})) {
    out.obsm![k] = { data: wireArray(v.data), shape: v.shape };
  }
  out.uns = a.uns as SaveRequest['uns'];
  return out;
}

/** Keeps saliency interactive in a browser: fewer cells, draws and path steps than the CLI. */
const VIEWER_SALIENCY = { maxCells: 200, samples: 20, steps: 20, referenceCells: 500 };

/** Marker genes for a class: over the cells predicted as it, or over a lasso selection. */
async function markers(req: SaliencyRequest): Promise<void> {
  if (!last) throw new Error('annotate first: saliency explains the trained model');
  controller = new AbortController();
  const state = last;
  const query = await openDatasetOverHttp(state.query);
  try {
    const result = await explain(
      state,
      query,
      {
        className: req.className,
        method: req.method,
        top: req.top,
        geneKey: state.geneKey,
        cells: req.cells.length > 0 ? req.cells : undefined,
        ...VIEWER_SALIENCY,
      },
      relay(controller.signal),
    );
    post({
      type: 'saliency',
      className: req.className,
      method: req.method,
      genes: result.top.map((g) => g.gene),
      scores: result.top.map((g) => g.score),
      nCells: result.cells.nExplained,
      nMatching: result.cells.nMatching,
      selection: result.cells.by === 'selection',
    });
  } finally {
    await query.close();
  }
}

/**
 * The top genes of every class (gradient, in the cells the page chose for each), for the dot
 * plot; progress is one step per class.
 */
async function classMarkers(req: ClassMarkersRequest): Promise<void> {
  if (!last) throw new Error('annotate first: saliency explains the trained model');
  controller = new AbortController();
  const signal = controller.signal;
  const state = last;
  const query = await openDatasetOverHttp(state.query);
  const out: Extract<FromWorker, { type: 'class-markers' }>['classes'] = [];
  try {
    for (const [i, { className, cells }] of req.classes.entries()) {
      post({
        type: 'stage',
        stage: 'saliency',
        done: i,
        total: req.classes.length,
        detail: className,
      });
      if (cells.length === 0) continue;
      const result = await explain(
        state,
        query,
        {
          className,
          method: 'gradient',
          top: req.top,
          geneKey: state.geneKey,
          cells,
          ...VIEWER_SALIENCY,
        },
        { signal },
      );
      out.push({
        className,
        genes: result.top.map((g) => g.gene),
        scores: result.top.map((g) => g.score),
        nCells: result.cells.nExplained,
      });
    }
    post({ type: 'class-markers', classes: out });
  } finally {
    await query.close();
  }
}

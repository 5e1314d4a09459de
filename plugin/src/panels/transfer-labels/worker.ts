/**
 * The Transfer-labels worker: trains scNym on the reference (the query as unlabelled data) or
 * loads a saved model, predicts the query, and explains classes. Every step is core's own
 * function (trainOnAnnData, predictAnnData, predictionAnnotations), as in the CLI.
 */
import {
  alignGenes,
  chooseMatrix,
  gatherDense,
  initBackend,
  modelFromFiles,
  predictAnnData,
  predictionAnnotations,
  queryGeneNames,
  readLog1pCpm,
  trainOnAnnData,
  type AnnData,
  type Annotations,
  type Csr,
  type ModelCard,
  saliencyAnnData,
  vanillaGradient,
  integratedGradients,
  expectedGradients,
  AttributionMean,
  rankGenes,
  takeRows,
  Rng,
} from '../../shared/core.js';
import { openDatasetOverHttp } from '../../shared/open-dataset.js';
import { wireArray, type SaveRequest } from '../../shared/save-format.js';
import type {
  AnnotateRequest,
  FromWorker,
  SaliencyRequest,
  ToWorker,
} from '../../shared/worker-messages.js';
import type { ScnymNetwork } from '../../../../core/src/model/network.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let controller: AbortController | null = null;
let backend: string | null = null;

/** What saliency needs after a run: the model and the query in the model's gene order. */
let last: {
  network: ScnymNetwork;
  genes: string[];
  classNames: string[];
  codes: Int32Array;
  query: AnnotateRequest['query'];
  /** The names the query's genes were matched to the model's by. */
  geneKey: string;
  rows?: Csr;
} | null = null;

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'cancel') controller?.abort();
  else if (msg.type === 'annotate') void run(() => annotate(msg));
  else if (msg.type === 'saliency') void run(() => saliency(msg));
};

let busy = false;

/** One task at a time: a second request while one runs is refused, not interleaved. */
async function run(task: () => Promise<void>): Promise<void> {
  if (busy) {
    post({ type: 'error', message: 'busy: wait for the current run to finish, or cancel it' });
    return;
  }
  busy = true;
  try {
    await task();
  } catch (err) {
    const e = err as Error & { hint?: string };
    if (e.name === 'AbortError' || controller?.signal.aborted) post({ type: 'cancelled' });
    else post({ type: 'error', message: e.message, hint: e.hint });
  } finally {
    controller = null;
    busy = false;
  }
}

/** WebGL unless it is a software rasteriser (then WASM is much faster), then WASM, then CPU. */
async function startBackend(req: AnnotateRequest): Promise<string> {
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

async function annotate(req: AnnotateRequest): Promise<void> {
  controller = new AbortController();
  const signal = controller.signal;
  const t0 = performance.now();
  const name = await startBackend(req);
  const onProgress = (stage: string, done: number, total: number) =>
    post({ type: 'stage', stage, done, total });
  const onWarning = (message: string) => post({ type: 'warning', message });
  last?.network.dispose();
  last = null;

  const query = await openDatasetOverHttp(req.query);
  let reference: AnnData | null = null;
  try {
    let network: ScnymNetwork;
    let genes: string[];
    let classNames: string[];
    let card: Pick<ModelCard, 'classNames' | 'training' | 'provenance' | 'genes' | 'temperature'>;
    let geneKey = req.geneKey;
    if (req.source.kind === 'reference') {
      reference = await openDatasetOverHttp(req.source.dataset);
      let nEpochs = req.epochs ?? 0;
      let stepsPerEpoch = 1;
      const result = await trainOnAnnData(
        reference,
        query,
        {
          labelKey: req.source.labelKey,
          domainKey: req.source.domainKey,
          geneKey: req.geneKey,
          config: req.config,
          overrides: req.epochs ? { seed: req.seed, nEpochs: req.epochs } : { seed: req.seed },
        },
        {
          signal,
          onProgress,
          onWarning,
          onTrainEvent: (event) => {
            if (event.type === 'start') {
              nEpochs = event.nEpochs;
              stepsPerEpoch = event.stepsPerEpoch;
              post({ type: 'start', nEpochs, stepsPerEpoch });
            } else if (event.type === 'step') {
              post({
                type: 'progress',
                epoch: event.epoch,
                nEpochs,
                step: event.epoch * stepsPerEpoch + event.stepInEpoch + 1,
                loss: event.loss,
              });
            } else {
              post({
                type: 'epoch',
                epoch: event.epoch,
                nEpochs: event.nEpochs,
                losses: event.losses,
                valAccuracy: event.valAccuracy,
                valLoss: event.valLoss,
              });
            }
          },
        },
      );
      network = result.model.network;
      genes = result.model.genes;
      classNames = result.model.classNames;
      card = result.card;
      geneKey = result.geneKeys.query ?? geneKey; // the query's genes as training matched them
    } else {
      const base = req.source.url.endsWith('/') ? req.source.url : `${req.source.url}/`;
      const loaded = await modelFromFiles(async (file) => {
        const r = await fetch(new URL(file, base));
        return r.ok ? new Uint8Array(await r.arrayBuffer()) : undefined;
      }, req.source.name);
      network = loaded.network;
      genes = loaded.genes;
      classNames = loaded.classNames;
      card = loaded.card;
    }
    signal.throwIfAborted();
    const prediction = await predictAnnData(
      { network, genes, classNames, card },
      query,
      { unknownThreshold: req.config === 'new_identity_discovery' ? 0.5 : undefined, geneKey },
      { signal, onWarning, onProgress: (_s, done, total) => onProgress('predicting', done, total) },
    );
    const annotations = predictionAnnotations(prediction, card);
    last = { network, genes, classNames, codes: prediction.codes, query: req.query, geneKey };
    const save = toWire(annotations);
    post(
      {
        type: 'result',
        backend: name,
        seconds: (performance.now() - t0) / 1000,
        classNames: prediction.classNames,
        labels: prediction.labels,
        confidence: prediction.confidence,
        probabilities: prediction.probabilities,
        embedding: prediction.embedding,
        embeddingDim: prediction.embeddingDim,
        save,
      },
      [prediction.embedding.buffer],
    );
  } finally {
    await reference?.close();
    await query.close();
  }
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
const VIEWER_SALIENCY = { maxCells: 200, samples: 20, steps: 20 };

/**
 * Marker genes for a class: core's saliency over the cells predicted as the class
 * (saliencyAnnData), or over a lasso selection (core's gradient functions on those rows).
 */
async function saliency(req: SaliencyRequest): Promise<void> {
  if (!last) throw new Error('annotate first: saliency explains the trained model');
  controller = new AbortController();
  const signal = controller.signal;
  const state = last;
  const target = state.classNames.indexOf(req.className);
  if (target < 0) throw new Error(`unknown class '${req.className}'`);
  const model = { network: state.network, genes: state.genes, classNames: state.classNames };
  const onProgress = (stage: string, done: number, total: number) =>
    post({ type: 'stage', stage, done, total });
  let scores: Float32Array;
  let nCells: number;
  if (req.cells.length === 0) {
    const query = await openDatasetOverHttp(state.query);
    try {
      const result = await saliencyAnnData(
        model,
        query,
        {
          className: req.className,
          method: req.method,
          top: req.top,
          geneKey: state.geneKey,
          ...VIEWER_SALIENCY,
        },
        { signal, onProgress },
      );
      scores = result.scores;
      nCells = result.cells.nExplained;
    } finally {
      await query.close();
    }
  } else {
    if (!state.rows) {
      const query = await openDatasetOverHttp(state.query);
      try {
        const chosen = await chooseMatrix(query, undefined, { signal });
        const names = await queryGeneNames(state, query, chosen.reader.name, state.geneKey);
        const alignment = alignGenes(state.genes, names);
        state.rows = await readLog1pCpm(
          chosen,
          alignment.columnMap,
          state.genes.length,
          'saliency',
          {
            signal,
            onProgress,
          },
        );
      } finally {
        await query.close();
      }
    }
    const rows = state.rows;
    const rng = new Rng(0);
    const cells = req.cells.slice(0, VIEWER_SALIENCY.maxCells);
    const inSelection = new Set(req.cells);
    const others = Array.from({ length: rows.nRows }, (_, i) => i).filter(
      (i) => !inSelection.has(i),
    );
    const references = takeRows(
      rows,
      others.filter((_, i) => i % Math.ceil(others.length / 500 || 1) === 0),
    );
    const mean = new AttributionMean(state.genes.length);
    for (let start = 0; start < cells.length; start += 32) {
      signal.throwIfAborted();
      const part = cells.slice(start, start + 32);
      const dense = {
        values: gatherDense(rows, part),
        nRows: part.length,
        nGenes: state.genes.length,
      };
      const objective = { target };
      mean.add(
        req.method === 'gradient'
          ? vanillaGradient(state.network, dense, objective)
          : req.method === 'integrated'
            ? integratedGradients(state.network, dense, objective, { steps: VIEWER_SALIENCY.steps })
                .attributions
            : expectedGradients(state.network, dense, references, objective, rng, {
                samples: VIEWER_SALIENCY.samples,
              }),
      );
      onProgress('saliency', Math.min(cells.length, start + 32), cells.length);
    }
    scores = mean.mean();
    nCells = cells.length;
  }
  const top = rankGenes(scores, state.genes, req.top);
  post({
    type: 'saliency',
    className: req.className,
    method: req.method,
    genes: top.map((g) => g.gene),
    scores: top.map((g) => g.score),
    nCells,
  });
}

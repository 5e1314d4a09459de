/**
 * One worker thread of predict-threads.ts: readies the backend, loads the model from the files it
 * was sent and opens the query once, then predicts each row range it is handed and sends the
 * outputs back (their buffers transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { queryPredictor, type QueryPredictor } from '../annotate.js';
import type { AnnData } from '../anndata/types.js';
import { initBackend, type BackendPreference } from '../backend.js';
import { modelFromFiles, type LoadedModel } from '../model/files.js';
import { openAnnDataFile } from './open.js';
import { errorMessage, type ToMain, type ToWorker, type WorkerSetup } from './predict-threads.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;
const send = (message: ToMain, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

let model: LoadedModel | undefined;
let query: AnnData | undefined;
/** The range being predicted, for its progress messages. */
let current = -1;

async function start(): Promise<QueryPredictor> {
  await initBackend(setup.backend as BackendPreference);
  const files = new Map(setup.modelFiles);
  model = await modelFromFiles(async (name) => files.get(name), setup.modelSource);
  query = await openAnnDataFile(setup.queryPath, {
    onNotice: (message) => send({ type: 'notice', message }),
  });
  return queryPredictor({ ...model, source: setup.modelSource }, query, setup.request, {
    onProgress: (_stage, done) => send({ type: 'progress', id: current, done }),
    onWarning: (message) => send({ type: 'warning', message }),
  });
}

async function close(): Promise<void> {
  model?.network.dispose();
  await query?.close();
  port.close();
}

const ready = start();

/** The ranges are predicted one after another, in the order they came. */
let work: Promise<unknown> = ready.catch(() => undefined);

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    work = work.then(close, close);
    return;
  }
  work = work.then(async () => {
    try {
      const predictor = await ready;
      current = message.id;
      const range = { start: message.start, end: message.end };
      const p = await predictor.predict(range, setup.sharedInput);
      const arrays = {
        codes: p.codes,
        confidence: p.confidence,
        probabilities: p.probabilities,
        embedding: p.embedding,
        novelty: p.novelty,
      };
      const buffers = new Set(
        Object.values(arrays)
          .map((a) => a.buffer as ArrayBuffer)
          .filter((b) => b.byteLength > 0),
      );
      send({ type: 'done', id: message.id, nMissingGenes: p.nMissingGenes, arrays }, [...buffers]);
    } catch (err) {
      send({ type: 'error', error: errorMessage(err) });
    }
  });
});

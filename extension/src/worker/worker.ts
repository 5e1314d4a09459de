/**
 * The worker_thread behind the extension: runs core (TensorFlow.js WASM backend, AnnData I/O)
 * off the extension host's thread. One job at a time; viewer data reads are answered at any
 * time. Everything in and out is a typed message (../messages.ts).
 */
import { parentPort } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, isAbortError, isScnymError, type WorkflowEvent } from '@scnym/core';
import { useH5PluginFolder } from '@scnym/core/node';
import type { FromWorker, ToWorker } from '../messages.js';
import { answerData } from './data.js';
import { GeneReader } from './genes.js';
import { runJob } from './jobs.js';

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

// dist/worker.mjs → dist/wasm/ (build.mjs copies tfjs-backend-wasm's .wasm files there).
const wasmDir = join(dirname(fileURLToPath(import.meta.url)), 'wasm') + '/';
// …and the HDF5 filter plugins (lzf, blosc…) to dist/h5plugins/: the .vsix has no node_modules.
useH5PluginFolder(join(dirname(fileURLToPath(import.meta.url)), 'h5plugins'));
let backend: Promise<string> | null = null;
let controller: AbortController | null = null;
/** The viewer's gene reads (one dataset per viewer, so per worker). */
let genes: GeneReader | null = null;

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') controller?.abort();
  else if (msg.type === 'data') {
    void answerData(msg.request).then(({ response, transfer }) =>
      post({ type: 'data', response }, transfer),
    );
  } else if (msg.type === 'gene') void gene(msg);
  else if (msg.type === 'job') void job(msg.job);
});

async function gene({ path, request }: Extract<ToWorker, { type: 'gene' }>): Promise<void> {
  if (genes?.path !== path) {
    void genes?.close();
    genes = new GeneReader(path);
  }
  const { id } = request;
  try {
    if (request.type === 'status')
      post({ type: 'gene', response: { id, status: await genes.status() } });
    else {
      const values = await genes.values(request.index, request.kind);
      post({ type: 'gene', response: { id, values } }, [values.buffer as ArrayBuffer]);
    }
  } catch (err) {
    post({
      type: 'gene',
      response: { id, error: err instanceof Error ? err.message : String(err) },
    });
  }
}

async function job(request: Extract<ToWorker, { type: 'job' }>['job']): Promise<void> {
  if (controller) {
    post({ type: 'error', message: 'a job is already running in this worker', code: 'busy' });
    return;
  }
  controller = new AbortController();
  const signal = controller.signal;
  try {
    // Reading columns or stored results, or saving labels, needs no TensorFlow.js.
    const needsModel = !['columns', 'results', 'evaluate', 'saveLabels'].includes(request.type);
    if (needsModel) backend ??= initBackend('wasm', { wasmPaths: wasmDir });
    const name = needsModel ? await backend! : 'none';
    const result = await runJob(request, { signal, backend: name, onEvent: relay });
    if (signal.aborted) post({ type: 'cancelled' });
    else post({ type: 'done', result });
  } catch (err) {
    if (signal.aborted || isAbortError(err)) post({ type: 'cancelled' });
    else post({ type: 'error', ...describeError(err) });
  } finally {
    controller = null;
  }
}

/** The workflow's events, as the host shows them (training's own events feed no chart here). */
function relay(event: WorkflowEvent): void {
  if (event.type === 'progress') {
    const { stage, done, total, detail } = event;
    post({ type: 'progress', stage, done, total, detail });
  } else if (event.type === 'warning' || event.type === 'notice') {
    post({ type: event.type, message: event.message });
  }
}

/** An error as it crosses to the host: core's message with its code, hint, file and element. */
function describeError(err: unknown): Omit<Extract<FromWorker, { type: 'error' }>, 'type'> {
  if (isScnymError(err)) {
    const { message, code, hint, file, element } = err;
    return { message, code, hint, file, element };
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

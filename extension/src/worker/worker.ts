/**
 * The worker_thread behind the extension: runs core (TensorFlow.js WASM backend, AnnData I/O)
 * off the extension host's thread. One job at a time; viewer data reads are answered at any
 * time. Everything in and out is a typed message (../messages.ts).
 */
import { parentPort } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../../core/src/backend.js';
import { useH5PluginFolder } from '../../../core/src/node/h5ad-file.js';
import type { FromWorker, ToWorker } from '../messages.js';
import { answerData } from './data.js';
import { runJob } from './jobs.js';

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

// dist/worker.mjs → dist/wasm/ (build.mjs copies tfjs-backend-wasm's .wasm files there).
const wasmDir = join(dirname(fileURLToPath(import.meta.url)), 'wasm') + '/';
// …and the HDF5 filter plugins (lzf, blosc…) to dist/h5plugins/: the .vsix has no node_modules.
useH5PluginFolder(join(dirname(fileURLToPath(import.meta.url)), 'h5plugins'));
let backend: Promise<string> | null = null;
let controller: AbortController | null = null;

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') controller?.abort();
  else if (msg.type === 'data') {
    void answerData(msg.request).then(({ response, transfer }) =>
      post({ type: 'data', response }, transfer),
    );
  } else if (msg.type === 'job') void job(msg.job);
});

async function job(request: Extract<ToWorker, { type: 'job' }>['job']): Promise<void> {
  if (controller) {
    post({ type: 'error', message: 'a job is already running in this worker' });
    return;
  }
  controller = new AbortController();
  const signal = controller.signal;
  try {
    // Reading columns or stored results needs no TensorFlow.js.
    const needsModel = !['columns', 'results', 'evaluate'].includes(request.type);
    if (needsModel) backend ??= initBackend('wasm', { wasmPaths: wasmDir });
    const name = needsModel ? await backend! : 'none';
    const result = await runJob(request, {
      signal,
      backend: name,
      progress: (stage, done, total, detail) =>
        post({ type: 'progress', stage, done, total, detail }),
      warn: (message) => post({ type: 'warning', message }),
    });
    if (signal.aborted) post({ type: 'cancelled' });
    else post({ type: 'done', result });
  } catch (err) {
    const e = err as Error & { hint?: string; file?: string };
    if (signal.aborted || e.name === 'AbortError') post({ type: 'cancelled' });
    else post({ type: 'error', message: e.message, hint: e.hint });
  } finally {
    controller = null;
  }
}

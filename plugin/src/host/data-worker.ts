/**
 * The data worker: opens the shown dataset over HTTP with core's reader and answers the host's
 * reads (DataService). Keeps h5wasm and decoding off the UI thread.
 */
import { DataService } from '../shared/data-service.js';
import { openDatasetOverHttp } from '../shared/open-dataset.js';
import type { DataRequest, DataResponse } from '../shared/worker-messages.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent<DataRequest>) => void) | null;
  postMessage(message: DataResponse, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

const service = new DataService(openDatasetOverHttp);

scope.onmessage = (e) =>
  void service
    .answer(e.data)
    .then(({ response, transfer }) => scope.postMessage(response, transfer));

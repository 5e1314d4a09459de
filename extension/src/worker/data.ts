/**
 * The viewer's reads in the extension's worker_thread: the plugin's DataService over core's
 * Node reader, so the webview gets the same DataResponse messages the browser's data worker
 * posts. `DatasetLocation.url` holds the absolute file-system path here.
 */
import { openAnnDataFile } from '@scnym/core/node';
import type { DataRequest } from '@scnym/plugin/data-messages';
import { DataService, type DataAnswer } from '@scnym/plugin/data-service';

// One per worker: each viewer panel has its own worker, so its own open dataset.
const service = new DataService((where) => openAnnDataFile(where.url));

/** Answers one request; failures come back as `{type: 'error'}` responses, never as throws. */
export function answerData(request: DataRequest): Promise<DataAnswer> {
  return service.answer(request);
}

/** Closes the open dataset (before the worker exits, or to let a writer replace the file). */
export function closeData(): Promise<void> {
  return service.close();
}

/**
 * The "Transfer labels" panel: a plugin on the viewer interface. Choose a reference (or a saved
 * model), click Annotate (training runs in a Web Worker), then look at the predictions, their
 * confidence and marker genes, relabel a lasso selection by hand, and Save. The controller
 * (controller.ts) holds the state and the worker; a view module draws each section.
 */
import type { PanelDefinition } from '../../host/api.js';
import { TransferLabels } from './controller.js';

export interface TransferLabelsOptions {
  /** URL of the worker bundle (panels/transfer-labels/worker.ts built). */
  workerUrl: string;
  /** URL of the data-worker bundle, to list the reference's columns. */
  dataWorkerUrl: string;
  /** Absolute URL of the folder holding tfjs-backend-wasm's .wasm files. */
  wasmPaths: string;
  /** The per-run token Save sends (read from the page). */
  token: string | null;
}

export function transferLabelsPanel(options: TransferLabelsOptions): PanelDefinition {
  return {
    id: 'transfer-labels',
    title: 'Transfer labels',
    mount: ({ element, api }) => new TransferLabels(element, api, options).render(),
  };
}

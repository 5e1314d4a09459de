/**
 * The scatterplot viewer webview: the plugin's Viewer (scatterplot, colour-by, legend,
 * lasso, tooltips) with its DataClient talking to the extension host through postMessage
 * instead of a browser worker. The host forwards the reads to a worker_thread that reads the
 * file with core. No Transfer-labels panel here (annotation runs from VS Code commands), but a
 * Relabel panel that corrects the predictions and saves them (viewer-relabel.ts). The page keeps
 * its dataset and colour column with setState, so the tab comes back after a window reload.
 */
import { DataClient, type MessageEndpoint } from '@scnym/plugin/data-client';
import { GeneSource, type GeneReads } from '@scnym/plugin/gene-search';
import { Viewer, type ViewerOptions } from '@scnym/plugin/viewer';
import type {
  FromViewerView,
  GeneRequest,
  GeneResponse,
  ToViewerView,
  ViewerState,
} from '../messages.js';
import { ViewerRelabel } from './viewer-relabel.js';

interface VsCodeApi {
  postMessage(message: FromViewerView): void;
  getState(): unknown;
  setState(state: ViewerState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app') ?? document.body;

/** DataClient's endpoint over the webview channel (responses arrive as window messages). */
const endpoint: MessageEndpoint = {
  postMessage: (request) => vscode.postMessage({ type: 'data', request }),
  onmessage: null,
  onerror: null,
};
const client = new DataClient(endpoint);

/** Gene reads through the host to the viewer's worker (worker/genes.ts), matched by id. */
const pendingGenes = new Map<number, (r: GeneResponse) => void>();
let geneId = 0;
type GeneAsk = { type: 'status' } | Omit<Extract<GeneRequest, { type: 'values' }>, 'id'>;
function askGene(request: GeneAsk): Promise<GeneResponse> {
  const id = ++geneId;
  return new Promise((answer) => {
    pendingGenes.set(id, answer);
    vscode.postMessage({ type: 'gene', request: { ...request, id } as GeneRequest });
  });
}
const geneReads: GeneReads = {
  status: async () => {
    const r = await askGene({ type: 'status' });
    if ('status' in r) return r.status;
    throw new Error('error' in r ? r.error : 'no gene status');
  },
  values: async (index, kind) => {
    const r = await askGene({ type: 'values', index, kind });
    if ('values' in r) return r.values;
    throw new Error('error' in r ? r.error : 'no gene values');
  },
};

let started = false;
let relabel: ViewerRelabel | null = null;

window.addEventListener('message', (event: MessageEvent<ToViewerView>) => {
  const msg = event.data;
  if (msg?.type === 'data') endpoint.onmessage?.({ data: msg.response });
  else if (msg?.type === 'gene') {
    pendingGenes.get(msg.response.id)?.(msg.response);
    pendingGenes.delete(msg.response.id);
  } else if (msg?.type === 'saved') relabel?.saved(msg);
  else if (msg?.type === 'init' && !started) {
    // One viewer per page: the host reloads the whole page to show a changed file.
    started = true;
    start(msg).catch(fail);
  }
});
vscode.postMessage({ type: 'ready' });

async function start(init: Extract<ToViewerView, { type: 'init' }>): Promise<void> {
  const previous = vscode.getState() as Partial<ViewerState> | undefined;
  const state: ViewerState = { path: init.path, name: init.name, format: init.format };
  // The colour column is kept only for the same dataset.
  if (previous?.path === init.path && previous.colorBy) state.colorBy = previous.colorBy;
  vscode.setState(state);
  if (init.problem) throw new Error(init.problem);
  document.body.dataset.state = 'loading';
  // The host knows the file's path; the webview only names the dataset (the `open` request's
  // location is replaced by the host, so a webview cannot ask for other files).
  const dataset = { url: init.name, format: init.format, name: init.name };
  const config: ViewerOptions['config'] = {
    query: { ...dataset, writable: false },
    reference: null,
    model: null,
    labelKey: null,
    epochs: null,
  };
  const viewer = new Viewer({
    root,
    config,
    dataset,
    client,
    background: themeBackground(),
    genes: new GeneSource(geneReads),
  });
  await viewer.start();
  (window as unknown as { scnymViewer: Viewer }).scnymViewer = viewer;
  viewer.registerPanel({
    id: 'relabel',
    title: 'Relabel',
    mount: ({ element, api }) => {
      relabel = new ViewerRelabel(api, init.labelKey, init.name, (m) => vscode.postMessage(m));
      element.append(relabel.element);
    },
  });
  await relabel!.start();
  // Back to the colour column of before the reload (if the dataset still has it).
  if (state.colorBy && state.colorBy !== viewer.currentColorBy()) {
    await viewer.colorBy(state.colorBy).catch(() => undefined);
  }
  viewer.on((e) => {
    if (e.type === 'colorBy') vscode.setState({ ...state, colorBy: e.column });
  });
  document.body.dataset.state = 'ready';
}

function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  root.textContent = `The viewer could not open the dataset: ${message}`;
  root.className = 'fatal';
  document.body.dataset.state = 'error';
  document.body.dataset.error = message;
  console.error(err);
}

/**
 * The editor background as '#rrggbb' (the scatterplot fills the canvas with it), or
 * undefined outside VS Code. Any CSS colour is normalised by letting the browser compute it.
 */
function themeBackground(): string | undefined {
  const value = getComputedStyle(document.documentElement)
    .getPropertyValue('--vscode-editor-background')
    .trim();
  if (!value) return undefined;
  const probe = document.createElement('span');
  probe.style.color = value;
  document.body.append(probe);
  const computed = getComputedStyle(probe).color;
  probe.remove();
  const rgb = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(computed);
  if (!rgb) return undefined;
  return `#${rgb
    .slice(1, 4)
    .map((c) => Number(c).toString(16).padStart(2, '0'))
    .join('')}`;
}

/**
 * The scatterplot viewer webview: the plugin's Viewer (scatterplot, colour-by, legend,
 * lasso, tooltips) with its DataClient talking to the extension host through postMessage
 * instead of a browser worker. The host forwards the reads to a worker_thread that reads the
 * file with core. No Transfer-labels panel here: annotation runs from VS Code commands.
 */
import { DataClient, type MessageEndpoint } from '@scnym/plugin/data-client';
import { Viewer, type ViewerOptions } from '@scnym/plugin/viewer';
import type { FromViewerView, ToViewerView } from '../messages.js';

interface VsCodeApi {
  postMessage(message: FromViewerView): void;
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
let started = false;

window.addEventListener('message', (event: MessageEvent<ToViewerView>) => {
  const msg = event.data;
  if (msg?.type === 'data') endpoint.onmessage?.({ data: msg.response });
  else if (msg?.type === 'init' && !started) {
    // One viewer per page: the host reloads the whole page to show a changed file.
    started = true;
    start(msg).catch(fail);
  }
});
vscode.postMessage({ type: 'ready' });

async function start(init: Extract<ToViewerView, { type: 'init' }>): Promise<void> {
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
  const viewer = new Viewer({ root, config, dataset, client, background: themeBackground() });
  await viewer.start();
  (window as unknown as { scnymViewer: Viewer }).scnymViewer = viewer;
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

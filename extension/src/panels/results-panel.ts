/**
 * The results webview: one panel per dataset (showing results again for the same file updates
 * and reveals it). The page keeps its model in the webview state, so it redraws at once when a
 * hidden tab comes back, and the serializer below restores the panel after a window reload.
 */
import * as vscode from 'vscode';
import type { FromResultsView, ResultsModel, ToResultsView } from '../messages.js';
import { webviewHtml, webviewOptions } from './webview-html.js';

export const RESULTS_VIEW_TYPE = 'scnym.results';

export interface ResultsDeps {
  openViewer(path: string): void;
}

interface Entry {
  panel: vscode.WebviewPanel;
  results: ResultsModel;
  deps: ResultsDeps;
}

/** Open panels by dataset path. */
const panels = new Map<string, Entry>();

function title(results: ResultsModel): string {
  return `scNym results — ${results.dataset}`;
}

function post(entry: Entry): void {
  const message: ToResultsView = { type: 'show', results: entry.results };
  // A hidden webview drops messages; it reloads when shown and asks again with 'ready'.
  void entry.panel.webview.postMessage(message);
}

export function showResults(
  context: vscode.ExtensionContext,
  results: ResultsModel,
  deps: ResultsDeps,
): vscode.WebviewPanel {
  const open = panels.get(results.path);
  if (open) {
    open.results = results;
    open.deps = deps;
    open.panel.title = title(results);
    open.panel.reveal();
    post(open);
    return open.panel;
  }
  const panel = vscode.window.createWebviewPanel(
    RESULTS_VIEW_TYPE,
    title(results),
    vscode.ViewColumn.Active,
    webviewOptions(context.extensionUri),
  );
  attach(context, panel, results, deps);
  return panel;
}

function attach(
  context: vscode.ExtensionContext,
  panel: vscode.WebviewPanel,
  results: ResultsModel,
  deps: ResultsDeps,
): void {
  const entry: Entry = { panel, results, deps };
  // A restored panel may stand for a dataset whose panel is already open; the newer one wins.
  panels.set(results.path, entry);
  panel.title = title(results);
  panel.webview.options = webviewOptions(context.extensionUri);
  panel.webview.html = webviewHtml({
    webview: panel.webview,
    extensionUri: context.extensionUri,
    title: title(results),
    script: 'results.js',
  });
  const listener = panel.webview.onDidReceiveMessage((message: FromResultsView) => {
    if (message?.type === 'ready') post(entry);
    // The page may only open the dataset it shows, whatever path it sends.
    else if (message?.type === 'openViewer') entry.deps.openViewer(entry.results.path);
  });
  panel.onDidDispose(() => {
    listener.dispose();
    if (panels.get(entry.results.path) === entry) panels.delete(entry.results.path);
  });
}

/** What the results page stores with setState (see webview/results.ts). */
function savedResults(state: unknown): ResultsModel | undefined {
  const results = (state as { results?: Partial<ResultsModel> } | undefined)?.results;
  return results &&
    typeof results.path === 'string' &&
    typeof results.dataset === 'string' &&
    Array.isArray(results.classes)
    ? (results as ResultsModel)
    : undefined;
}

/**
 * Restores results panels after a window reload from the state their page saved. Needs the
 * activation event `onWebviewPanel:scnym.results` so VS Code activates the extension for it.
 */
export function registerResultsSerializer(
  context: vscode.ExtensionContext,
  deps: ResultsDeps,
): vscode.Disposable {
  const registration = vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, {
    async deserializeWebviewPanel(panel, state) {
      const results = savedResults(state);
      // Nothing to show without a saved model (e.g. closed before it rendered).
      if (!results) panel.dispose();
      else attach(context, panel, results, deps);
    },
  });
  context.subscriptions.push(registration);
  return registration;
}

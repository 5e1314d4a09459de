/**
 * The scatterplot viewer in VS Code: a webview running the plugin's Viewer, whose reads go
 * through the extension host to a worker_thread of its own (core's Node reader answers with the
 * plugin's DataResponse messages). Opened by the "Open in Viewer" command (any .h5ad or .zarr)
 * or as the default read-only editor of .h5ad files; a panel comes back after a window reload
 * (its page keeps the dataset's path with setState). The page's relabels are saved into the
 * dataset by the same worker, through core's saveLabelsFile.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import * as vscode from 'vscode';
import type { DatasetLocation } from '@scnym/plugin/data-messages';
import { log } from '../commands/run-job.js';
import type { FromViewerView, ToViewerView, ViewerState } from '../messages.js';
import { webviewHtml, webviewOptions } from '../panels/webview-html.js';
import { keyAdded } from '../settings.js';
import { WorkerClient } from '../worker-client.js';
import {
  hostRequest,
  VIEWER_BODY,
  VIEWER_CSP,
  VIEWER_SCRIPT,
  VIEWER_STYLES,
  viewerTitle,
} from './viewer-page.js';

const PANEL_VIEW_TYPE = 'scnym.viewer';
const EDITOR_VIEW_TYPE = 'scnym.h5adViewer';

interface Session {
  /** Absolute path of the dataset. */
  path: string;
  panel: vscode.WebviewPanel;
  /** Hand edits in the page not saved yet. */
  unsaved: number;
  /** Re-reads the dataset: a fresh worker and a fresh page. */
  reload(): void;
}

/** Every open viewer (command panels and .h5ad editors). */
const sessions = new Set<Session>();

/** Opens (or reveals) the viewer of an .h5ad file or a .zarr folder. */
export function openViewer(context: vscode.ExtensionContext, path: string): vscode.WebviewPanel {
  const full = resolve(path);
  const open = [...sessions].find((s) => s.path === full);
  if (open) {
    open.panel.reveal();
    return open.panel;
  }
  const panel = vscode.window.createWebviewPanel(
    PANEL_VIEW_TYPE,
    viewerTitle(basename(full)),
    vscode.ViewColumn.Active,
    // The scatterplot's WebGL state (and the reads behind it) cannot be serialised, so the
    // page is kept alive while hidden rather than rebuilt from the file on every tab switch.
    { ...webviewOptions(context.extensionUri), retainContextWhenHidden: true },
  );
  wireViewer(context, panel, full);
  return panel;
}

/** Makes the viewer the (default) read-only editor of .h5ad files (package.json's customEditors). */
export function registerH5adEditor(context: vscode.ExtensionContext): vscode.Disposable {
  const provider: vscode.CustomReadonlyEditorProvider = {
    openCustomDocument: (uri) => ({ uri, dispose: () => undefined }),
    resolveCustomEditor: (document, panel) => {
      panel.webview.options = webviewOptions(context.extensionUri);
      wireViewer(
        context,
        panel,
        resolve(document.uri.fsPath),
        document.uri.scheme === 'file'
          ? undefined
          : `only files on disk can be viewed (${document.uri.scheme}: is not)`,
      );
    },
  };
  return vscode.window.registerCustomEditorProvider(EDITOR_VIEW_TYPE, provider, {
    // As for the panels: WebGL state cannot be serialised.
    webviewOptions: { retainContextWhenHidden: true },
    supportsMultipleEditorsPerDocument: false,
  });
}

/** Re-reads the dataset in every viewer showing it (e.g. after scNym columns were written). */
export function reloadViewers(path: string): void {
  const full = resolve(path);
  for (const s of sessions) if (s.path === full) s.reload();
}

/** Hand edits not saved in the viewers of a dataset (a run that rewrites it would lose them). */
export function unsavedEdits(path: string): number {
  const full = resolve(path);
  let n = 0;
  for (const s of sessions) if (s.path === full) n += s.unsaved;
  return n;
}

/** What a viewer page saved with setState (see webview/viewer.ts). */
function savedViewer(state: unknown): ViewerState | undefined {
  const s = state as Partial<ViewerState> | undefined;
  return s && typeof s.path === 'string' && s.path !== '' ? (s as ViewerState) : undefined;
}

/**
 * Restores viewer panels after a window reload, on the dataset their page saved; a dataset that
 * is gone is said so in the tab. Needs the activation event `onWebviewPanel:scnym.viewer`.
 */
export function registerViewerSerializer(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
    async deserializeWebviewPanel(panel, state) {
      const saved = savedViewer(state);
      // Closed before the page started: nothing to show.
      if (!saved) {
        panel.dispose();
        return;
      }
      const full = resolve(saved.path);
      panel.title = viewerTitle(basename(full));
      panel.webview.options = webviewOptions(context.extensionUri);
      wireViewer(
        context,
        panel,
        full,
        existsSync(full)
          ? undefined
          : `${full} is no longer there (moved, renamed or deleted): open the dataset again ` +
              'with “scNym: Open in Viewer”',
      );
    },
  });
}

/**
 * Connects a webview to a fresh worker: the webview's data requests go to the worker, its
 * answers come back as ToViewerView 'data' messages, and its Save runs there as a job. The
 * worker ends with the panel. `unsupported`: why the dataset cannot be shown (the page says so).
 */
function wireViewer(
  context: vscode.ExtensionContext,
  panel: vscode.WebviewPanel,
  path: string,
  unsupported?: string,
): Session {
  const name = basename(path);
  const dataset: DatasetLocation = { url: path, format: isZarr(path) ? 'zarr' : 'h5ad', name };
  const post = (m: ToViewerView) => void panel.webview.postMessage(m);
  let worker: WorkerClient | null = null;

  const startWorker = () => {
    worker?.dispose();
    const w = new WorkerClient(context.asAbsolutePath('dist/worker.mjs'));
    // Answers of a replaced worker belong to a page that no longer exists.
    w.onData((response) => {
      if (w === worker) post({ type: 'data', response });
    });
    w.onGene((response) => {
      if (w === worker) post({ type: 'gene', response });
    });
    worker = w;
  };
  const render = () => {
    panel.webview.html = webviewHtml({
      webview: panel.webview,
      extensionUri: context.extensionUri,
      title: viewerTitle(name),
      script: VIEWER_SCRIPT,
      styles: VIEWER_STYLES,
      ...VIEWER_CSP,
      body: VIEWER_BODY,
    });
  };

  // The column the page edits, fixed per page (the setting may change while it is open).
  let labelKey = keyAdded();
  const workerProblem = () =>
    unsupported ?? (worker?.alive ? null : 'the scNym worker stopped; close and reopen the viewer');
  const save = async (m: Extract<FromViewerView, { type: 'save' }>) => {
    const problem = workerProblem();
    if (problem) return post({ type: 'saved', error: problem });
    log.appendLine(`${new Date().toISOString()} saving the viewer's labels into ${path}`);
    try {
      const result = await worker!.run(
        { type: 'saveLabels', path, keyAdded: labelKey, ...labelsOf(m) },
        (e) => {
          if (e.type !== 'progress') log.appendLine(`  ${e.message}`);
        },
      );
      if (result.type !== 'saveLabels') throw new Error(`unexpected answer '${result.type}'`);
      log.appendLine(`  wrote ${result.written.join(', ')}`);
      post({ type: 'saved', written: result.written });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.appendLine(`  error: ${message}`);
      post({ type: 'saved', error: message });
      void vscode.window.showErrorMessage(
        `scNym: saving the labels into ${name} failed: ${message}`,
      );
    }
  };
  const received = panel.webview.onDidReceiveMessage((m: FromViewerView) => {
    if (m.type === 'ready') {
      labelKey = keyAdded();
      post({ type: 'init', name, format: dataset.format, path, labelKey, problem: unsupported });
    } else if (m.type === 'data') {
      const problem = workerProblem();
      if (problem)
        post({ type: 'data', response: { type: 'error', id: m.request.id, message: problem } });
      else worker!.postData(hostRequest(m.request, dataset));
    } else if (m.type === 'gene') {
      const problem = workerProblem();
      if (problem) post({ type: 'gene', response: { id: m.request.id, error: problem } });
      else worker!.postGene(path, m.request);
    } else if (m.type === 'save') void save(m);
    else if (m.type === 'edits') session.unsaved = Math.max(0, Number(m.unsaved) || 0);
  });
  const session: Session = {
    path,
    panel,
    unsaved: 0,
    reload: () => {
      session.unsaved = 0;
      // A new page (new nonce, so VS Code reloads it) opens the file again in a new worker.
      if (!unsupported) startWorker();
      render();
    },
  };
  sessions.add(session);
  panel.onDidDispose(() => {
    sessions.delete(session);
    received.dispose();
    worker?.dispose();
    worker = null;
  });
  session.reload();
  return session;
}

/**
 * The labels a page sent, as typed arrays: VS Code passes typed arrays through, but a plain
 * array or an index-keyed object is taken too (core checks the codes against the cells).
 */
function labelsOf(m: { codes: unknown; categories: unknown }): {
  codes: Int32Array;
  categories: string[];
} {
  const c = m.codes;
  const codes =
    c instanceof Int32Array
      ? c
      : Int32Array.from(
          ArrayBuffer.isView(c) || Array.isArray(c)
            ? (c as ArrayLike<number>)
            : Object.values((c ?? {}) as Record<string, number>),
        );
  const categories = Array.isArray(m.categories) ? m.categories.map(String) : [];
  return { codes, categories };
}

/** A .zarr store is a folder (core's reader decides the same way). */
function isZarr(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return /\.zarr\/?$/i.test(path);
  }
}

/**
 * The scatterplot viewer in VS Code: a webview running the plugin's Viewer, whose reads go
 * through the extension host to a worker_thread of its own (core's Node reader answers with the
 * plugin's DataResponse messages). Opened by the "Open in Viewer" command (any .h5ad or .zarr)
 * or as the default read-only editor of .h5ad files.
 */
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import * as vscode from 'vscode';
import type { DatasetLocation } from '@scnym/plugin/data-messages';
import type { FromViewerView, ToViewerView } from '../messages.js';
import { webviewHtml, webviewOptions } from '../panels/webview-html.js';
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

/**
 * Connects a webview to a fresh worker: the webview's data requests go to the worker, its
 * answers come back as ToViewerView 'data' messages. The worker ends with the panel.
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

  const received = panel.webview.onDidReceiveMessage((m: FromViewerView) => {
    if (m.type === 'ready') post({ type: 'init', name, format: dataset.format });
    else if (m.type === 'data') {
      const problem =
        unsupported ??
        (worker?.alive ? null : 'the scNym worker stopped; close and reopen the viewer');
      if (problem)
        post({ type: 'data', response: { type: 'error', id: m.request.id, message: problem } });
      else worker!.postData(hostRequest(m.request, dataset));
    }
  });
  const session: Session = {
    path,
    panel,
    reload: () => {
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

/** A .zarr store is a folder (core's reader decides the same way). */
function isZarr(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return /\.zarr\/?$/i.test(path);
  }
}

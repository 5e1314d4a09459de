/**
 * The saliency (marker genes) webview: one panel per dataset. Switching the attribution method
 * in the page asks the host to recompute (busy, then show or error). The page keeps the last
 * model in its webview state, so the serializer can restore the panel after a window reload;
 * recomputing then needs a `recompute` the caller can rebuild from the saved model, or the page
 * is told to run the command again.
 */
import * as vscode from 'vscode';
import type {
  FromSaliencyView,
  SaliencyMethodName,
  SaliencyModel,
  ToSaliencyView,
} from '../messages.js';
import { webviewHtml, webviewOptions } from './webview-html.js';

export const SALIENCY_VIEW_TYPE = 'scnym.saliency';

export interface SaliencyDeps {
  recompute(method: SaliencyMethodName): Promise<SaliencyModel>;
}

/** For restored panels: recompute from the saved model (its dataset and model paths). */
export interface SaliencyRestoreDeps {
  recompute?(previous: SaliencyModel, method: SaliencyMethodName): Promise<SaliencyModel>;
}

const METHODS: Record<SaliencyMethodName, string> = {
  gradient: 'vanilla gradient',
  integrated: 'integrated gradients',
  expected: 'expected gradients',
};

interface Entry {
  panel: vscode.WebviewPanel;
  saliency: SaliencyModel;
  deps?: SaliencyDeps;
  /** The message of the recomputation under way. */
  busy?: string;
  /** Bumped per request, so only the latest recomputation's answer is shown. */
  generation: number;
  disposed: boolean;
}

/** Open panels by dataset path. */
const panels = new Map<string, Entry>();

function title(saliency: SaliencyModel): string {
  return `scNym markers — ${saliency.dataset}`;
}

function send(entry: Entry, message: ToSaliencyView): void {
  // A hidden webview drops messages; it reloads when shown and asks again with 'ready'.
  if (!entry.disposed) void entry.panel.webview.postMessage(message);
}

export function showSaliency(
  context: vscode.ExtensionContext,
  saliency: SaliencyModel,
  deps: SaliencyDeps,
): vscode.WebviewPanel {
  const open = panels.get(saliency.path);
  if (open) {
    open.saliency = saliency;
    open.deps = deps;
    // A newer model supersedes any recomputation still running.
    open.generation++;
    open.busy = undefined;
    open.panel.title = title(saliency);
    open.panel.reveal();
    send(open, { type: 'show', saliency });
    return open.panel;
  }
  const panel = vscode.window.createWebviewPanel(
    SALIENCY_VIEW_TYPE,
    title(saliency),
    vscode.ViewColumn.Active,
    webviewOptions(context.extensionUri),
  );
  attach(context, panel, saliency, deps);
  return panel;
}

function attach(
  context: vscode.ExtensionContext,
  panel: vscode.WebviewPanel,
  saliency: SaliencyModel,
  deps: SaliencyDeps | undefined,
): void {
  const entry: Entry = { panel, saliency, deps, generation: 0, disposed: false };
  panels.set(saliency.path, entry);
  panel.title = title(saliency);
  panel.webview.options = webviewOptions(context.extensionUri);
  panel.webview.html = webviewHtml({
    webview: panel.webview,
    extensionUri: context.extensionUri,
    title: title(saliency),
    script: 'saliency.js',
  });
  const listener = panel.webview.onDidReceiveMessage((message: FromSaliencyView) => {
    if (message?.type === 'ready') {
      send(entry, { type: 'show', saliency: entry.saliency });
      if (entry.busy) send(entry, { type: 'busy', message: entry.busy });
    } else if (message?.type === 'method' && Object.hasOwn(METHODS, message.method)) {
      void switchMethod(entry, message.method);
    }
  });
  panel.onDidDispose(() => {
    entry.disposed = true;
    listener.dispose();
    if (panels.get(entry.saliency.path) === entry) panels.delete(entry.saliency.path);
  });
}

async function switchMethod(entry: Entry, method: SaliencyMethodName): Promise<void> {
  if (!entry.deps) {
    send(entry, {
      type: 'error',
      message:
        'This view was restored after a reload and cannot recompute. Run “scNym: Show Saliency ' +
        'Markers…” on the dataset again to switch methods.',
    });
    return;
  }
  const generation = ++entry.generation;
  entry.busy = `Computing ${METHODS[method]} saliency…`;
  send(entry, { type: 'busy', message: entry.busy });
  try {
    const saliency = await entry.deps.recompute(method);
    if (generation !== entry.generation) return;
    entry.saliency = saliency;
    entry.busy = undefined;
    send(entry, { type: 'show', saliency });
  } catch (err) {
    if (generation !== entry.generation) return;
    entry.busy = undefined;
    send(entry, { type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}

/** What the saliency page stores with setState (see webview/saliency.ts). */
function savedSaliency(state: unknown): SaliencyModel | undefined {
  const saliency = (state as { saliency?: Partial<SaliencyModel> } | undefined)?.saliency;
  return saliency &&
    typeof saliency.path === 'string' &&
    typeof saliency.dataset === 'string' &&
    Array.isArray(saliency.classes)
    ? (saliency as SaliencyModel)
    : undefined;
}

/**
 * Restores saliency panels after a window reload. Needs the activation event
 * `onWebviewPanel:scnym.saliency`. Without `deps.recompute` a restored panel shows its saved
 * chart but answers a method switch with an error asking to run the command again.
 */
export function registerSaliencySerializer(
  context: vscode.ExtensionContext,
  deps: SaliencyRestoreDeps = {},
): vscode.Disposable {
  const registration = vscode.window.registerWebviewPanelSerializer(SALIENCY_VIEW_TYPE, {
    async deserializeWebviewPanel(panel, state) {
      const saliency = savedSaliency(state);
      if (!saliency) {
        panel.dispose();
        return;
      }
      const recompute = deps.recompute;
      attach(
        context,
        panel,
        saliency,
        recompute ? { recompute: (method) => recompute(saliency, method) } : undefined,
      );
    },
  });
  context.subscriptions.push(registration);
  return registration;
}

/**
 * The scNym extension: palette and Explorer commands over core's workflow, which runs in a
 * worker_thread (worker/worker.ts), and webviews for results, saliency markers and the
 * scatterplot viewer. This file only wires; each command and panel lives in its own module.
 */
import * as vscode from 'vscode';
import { annotateCommand } from './commands/annotate.js';
import { evaluateCommand } from './commands/evaluate.js';
import { openViewerCommand } from './commands/open-viewer.js';
import type { Panels } from './commands/panels.js';
import { predictCommand } from './commands/predict.js';
import { saliencyCommand } from './commands/saliency.js';
import { trainCommand } from './commands/train.js';
import { log } from './commands/run-job.js';
import { registerResultsSerializer, showResults } from './panels/results-panel.js';
import { registerSaliencySerializer, showSaliency } from './panels/saliency-panel.js';
import {
  openViewer,
  registerH5adEditor,
  registerViewerSerializer,
  reloadViewers,
  unsavedEdits,
} from './viewer/viewer-panel.js';

export function activate(context: vscode.ExtensionContext): void {
  const viewer = (path: string) => void openViewer(context, path);
  const panels: Panels = {
    showResults: (results) => showResults(context, results, { openViewer: viewer }),
    showSaliency: (saliency, recompute) => showSaliency(context, saliency, { recompute }),
    openViewer: viewer,
    reloadViewers,
    unsavedEdits,
  };
  const command = (id: string, run: (arg?: unknown) => Promise<void>) =>
    vscode.commands.registerCommand(id, (arg?: unknown) =>
      run(arg).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        log.appendLine(`${id} failed: ${message}`);
        void vscode.window.showErrorMessage(`scNym: ${message}`);
      }),
    );
  context.subscriptions.push(
    log,
    command('scnym.annotate', (arg) => annotateCommand(context, panels, arg)),
    command('scnym.train', (arg) => trainCommand(context, arg)),
    command('scnym.predict', (arg) => predictCommand(context, panels, arg)),
    command('scnym.saliency', (arg) => saliencyCommand(context, panels, arg)),
    command('scnym.evaluate', (arg) => evaluateCommand(context, panels, arg)),
    command('scnym.openViewer', (arg) => openViewerCommand(context, panels, arg)),
    registerH5adEditor(context),
    registerResultsSerializer(context, { openViewer: viewer }),
    registerSaliencySerializer(context),
    registerViewerSerializer(context),
  );
}

export function deactivate(): void {}

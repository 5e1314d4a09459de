/**
 * Runs one job in a fresh worker_thread behind a cancellable progress notification. Cancel
 * aborts the job (core stops between steps and before any write, so the user's files are left
 * as they were); errors are shown with the file, the element and the fix core put in them.
 */
import * as vscode from 'vscode';
import { isAbortError } from '@scnym/core/errors';
import { describeProgress } from '@scnym/core/vocabulary';
import type { JobRequest, JobResult } from '../messages.js';
import { WorkerClient } from '../worker-client.js';

export const log = vscode.window.createOutputChannel('scNym');

export function workerScript(context: vscode.ExtensionContext): string {
  return context.asAbsolutePath('dist/worker.mjs');
}

/** Resolves with the result, or undefined when cancelled or failed (already reported). */
export async function runJob<T extends JobResult['type']>(
  context: vscode.ExtensionContext,
  title: string,
  job: JobRequest & { type: T },
  options: { quiet?: boolean } = {},
): Promise<Extract<JobResult, { type: T }> | undefined> {
  const started = Date.now();
  log.appendLine(`${new Date().toISOString()} ${title}: ${JSON.stringify(job)}`);
  const work = (
    progress: vscode.Progress<{ message?: string; increment?: number }>,
    token: vscode.CancellationToken,
  ) => {
    const client = new WorkerClient(workerScript(context));
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    let reported = 0;
    let lastLogged = '';
    return client
      .run(
        job,
        (event) => {
          if (event.type === 'warning') {
            log.appendLine(`warning: ${event.message}`);
            void vscode.window.showWarningMessage(`scNym: ${event.message}`);
            return;
          }
          if (event.type === 'notice') {
            log.appendLine(`  ${event.message}`);
            void vscode.window.showInformationMessage(`scNym: ${event.message}`);
            return;
          }
          const { message, fraction } = describeProgress(event);
          const increment = Math.max(0, 100 * fraction - reported);
          reported += increment;
          progress.report({ message, increment });
          // One log line per stage change or epoch, not per step.
          const key = message.replace(/ loss .*$/, '');
          if (key !== lastLogged) log.appendLine(`  ${message}`);
          lastLogged = key;
        },
        controller.signal,
      )
      .finally(() => client.dispose());
  };
  try {
    const result = options.quiet
      ? await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title }, (p) =>
          work(p, new vscode.CancellationTokenSource().token),
        )
      : await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title, cancellable: true },
          work,
        );
    log.appendLine(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result as Extract<JobResult, { type: T }>;
  } catch (err) {
    if (isAbortError(err)) {
      log.appendLine('  cancelled');
      void vscode.window.showInformationMessage(`${title}: cancelled. Nothing was written.`);
      return undefined;
    }
    const message = err instanceof Error ? err.message : String(err);
    log.appendLine(`  error: ${message}`);
    void vscode.window.showErrorMessage(`${title} failed: ${message}`, 'Show Log').then((b) => {
      if (b) log.show();
    });
    return undefined;
  }
}

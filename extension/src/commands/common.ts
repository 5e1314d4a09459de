/** What the commands share: the dataset a command was invoked on, column reads, overwrite prompts. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasetKind } from '../choices.js';
import type { ColumnChoice } from '../messages.js';
import { runJob } from './run-job.js';

/** The dataset the Explorer context menu passed, if any. */
export function invokedOn(arg: unknown): string | undefined {
  return arg instanceof vscode.Uri && datasetKind(arg.fsPath) ? arg.fsPath : undefined;
}

export async function readColumns(
  context: vscode.ExtensionContext,
  dataset: string,
): Promise<ColumnChoice[] | undefined> {
  const r = await runJob(
    context,
    `scNym: reading ${path.basename(dataset)}`,
    { type: 'columns', path: dataset },
    { quiet: true },
  );
  return r?.columns;
}

/**
 * true = write (replacing existing predictions if the user agreed), false = write nothing.
 * Existing keys are never replaced without asking, nor hand edits in the viewer (`unsaved`)
 * thrown away: the run reloads the viewers of the dataset.
 */
export async function confirmOverwrite(
  columns: ColumnChoice[],
  dataset: string,
  key: string,
  unsaved = 0,
): Promise<{ proceed: boolean; overwrite: boolean }> {
  const exists = columns.some((c) => c.name === key);
  if (!exists && unsaved === 0) return { proceed: true, overwrite: false };
  const name = path.basename(dataset);
  const edits =
    unsaved > 0
      ? ` The viewer of ${name} has ${unsaved.toLocaleString('en-US')} hand edits not saved, which this run throws away.`
      : '';
  const replace = 'Replace';
  const answer = await vscode.window.showWarningMessage(
    exists
      ? `${name} already has scNym predictions in obs['${key}'].${edits} Replace them?`
      : `${edits.trim()} Go on?`,
    { modal: true, detail: 'Or set scnym.keyAdded to write under another prefix.' },
    replace,
  );
  return { proceed: answer === replace, overwrite: exists && answer === replace };
}

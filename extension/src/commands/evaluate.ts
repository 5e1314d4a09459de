/** scNym: Evaluate Against Labels… — score a dataset's predictions against known labels. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { annotationKeys } from '@scnym/core/vocabulary';
import { keyAdded } from '../settings.js';
import { invokedOn, readColumns } from './common.js';
import { pickColumn, pickDataset } from './pick.js';
import type { Panels } from './panels.js';
import { runJob } from './run-job.js';

export async function evaluateCommand(
  context: vscode.ExtensionContext,
  panels: Panels,
  arg?: unknown,
): Promise<void> {
  const dataset =
    invokedOn(arg) ??
    (await pickDataset(context, {
      title: 'scNym: annotated dataset (1/2)',
      placeHolder: 'a dataset holding scNym predictions and known labels',
      memory: 'scnym.query',
    }));
  if (!dataset) return;
  const key = keyAdded();
  const columns = await readColumns(context, dataset);
  if (!columns) return;
  if (!columns.some((c) => c.name === key)) {
    void vscode.window.showErrorMessage(
      `scNym: ${path.basename(dataset)} has no obs['${key}'] predictions. Run "scNym: Annotate Dataset…" or "scNym: Predict with Model…" first (or set scnym.keyAdded to the prefix used).`,
    );
    return;
  }
  // Not the predictions themselves.
  const keys = annotationKeys(key);
  const truthKey = await pickColumn(context, columns, {
    title: `scNym: known labels in ${path.basename(dataset)} (2/2)`,
    placeHolder: 'the obs column to compare the predictions with',
    memory: 'scnym.truthKey',
    exclude: [keys.label, keys.confidence],
  });
  if (!truthKey) return;
  const result = await runJob(context, `scNym: evaluating ${path.basename(dataset)}`, {
    type: 'evaluate',
    dataset,
    truthKey,
    keyAdded: key,
  });
  if (!result) return;
  panels.showResults(result.results);
  const e = result.results.evaluation;
  if (e) {
    void vscode.window.showInformationMessage(
      `scNym: accuracy ${(100 * e.accuracy).toFixed(1)}%, balanced ${(100 * e.balancedAccuracy).toFixed(1)}%, ECE ${e.ece.toFixed(3)} against obs['${truthKey}'].`,
    );
  }
}

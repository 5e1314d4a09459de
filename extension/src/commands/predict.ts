/** scNym: Predict with Model… — label a dataset with a saved model. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { geneKey, keyAdded } from '../settings.js';
import { confirmOverwrite, invokedOn, readColumns } from './common.js';
import { savedModels } from './models.js';
import { pickDataset, pickModel } from './pick.js';
import type { Panels } from './panels.js';
import { runJob } from './run-job.js';

export async function predictCommand(
  context: vscode.ExtensionContext,
  panels: Panels,
  arg?: unknown,
): Promise<void> {
  const query =
    invokedOn(arg) ??
    (await pickDataset(context, {
      title: 'scNym: dataset to label (1/2)',
      placeHolder: 'the dataset whose cells get labels',
      memory: 'scnym.query',
    }));
  if (!query) return;
  const model = await pickModel(savedModels(context), { title: 'scNym: model (2/2)' });
  if (!model) return;
  const key = keyAdded();
  const columns = await readColumns(context, query);
  if (!columns) return;
  const { proceed, overwrite } = await confirmOverwrite(
    columns,
    query,
    key,
    panels.unsavedEdits(query),
  );
  if (!proceed) return;
  const name = path.basename(query);
  const result = await runJob(context, `scNym: predicting ${name}`, {
    type: 'predict',
    query,
    model,
    keyAdded: key,
    overwrite,
    geneKey: geneKey(),
  });
  if (!result) return;
  panels.reloadViewers(query);
  panels.showResults(result.results);
  void vscode.window.showInformationMessage(
    `scNym: labelled ${result.results.nCells.toLocaleString('en-US')} cells of ${name} (mean confidence ${result.results.meanConfidence.toFixed(2)}).`,
  );
}

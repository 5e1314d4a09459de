/** scNym: Annotate Dataset… — train on a reference with the query unlabelled, predict, write. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { keyAdded, trainSettings } from '../settings.js';
import { confirmOverwrite, invokedOn, readColumns } from './common.js';
import { newModelDir, recordModel } from './models.js';
import { pickColumn, pickDataset } from './pick.js';
import { runJob } from './run-job.js';
import type { Panels } from './panels.js';

export async function annotateCommand(
  context: vscode.ExtensionContext,
  panels: Panels,
  arg?: unknown,
): Promise<void> {
  const query =
    invokedOn(arg) ??
    (await pickDataset(context, {
      title: 'scNym: query to annotate (1/3)',
      placeHolder: 'the dataset whose cells get labels',
      memory: 'scnym.query',
    }));
  if (!query) return;
  const reference = await pickDataset(context, {
    title: 'scNym: labelled reference (2/3)',
    placeHolder: 'a dataset with known cell types',
    exclude: [query],
    memory: 'scnym.reference',
  });
  if (!reference) return;
  const refColumns = await readColumns(context, reference);
  if (!refColumns) return;
  const labelKey = await pickColumn(context, refColumns, {
    title: `scNym: label column of ${path.basename(reference)} (3/3)`,
    placeHolder: 'the obs column holding the cell types',
    memory: 'scnym.labelKey',
  });
  if (!labelKey) return;
  const key = keyAdded();
  const queryColumns = await readColumns(context, query);
  if (!queryColumns) return;
  const { proceed, overwrite } = await confirmOverwrite(
    queryColumns,
    query,
    key,
    panels.unsavedEdits(query),
  );
  if (!proceed) return;

  const name = path.basename(query);
  const modelOut = newModelDir(context, query);
  const result = await runJob(context, `scNym: annotating ${name}`, {
    type: 'annotate',
    query,
    reference,
    labelKey,
    settings: trainSettings(),
    keyAdded: key,
    overwrite,
    modelOut,
  });
  if (!result) return;
  await recordModel(context, {
    dir: result.modelDir,
    label: `${path.basename(reference)} → ${name}`,
    query,
    reference,
    created: Date.now(),
  });
  panels.reloadViewers(query);
  panels.showResults(result.results);
  const r = result.results;
  void vscode.window
    .showInformationMessage(
      `scNym: annotated ${r.nCells.toLocaleString('en-US')} cells of ${name} (mean confidence ${r.meanConfidence.toFixed(2)}); wrote obs['${key}'] and obs['${key}_confidence'].`,
      'Open in Viewer',
      'Show Saliency Markers',
    )
    .then((choice) => {
      if (choice === 'Open in Viewer') panels.openViewer(query);
      else if (choice === 'Show Saliency Markers')
        void vscode.commands.executeCommand('scnym.saliency', vscode.Uri.file(query));
    });
}

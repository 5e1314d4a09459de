/** scNym: Train Model… — train on a reference (optionally with a query) and save the model. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { trainSettings } from '../settings.js';
import { invokedOn, readColumns } from './common.js';
import { recordModel } from './models.js';
import { pickColumn, pickDataset } from './pick.js';
import { runJob } from './run-job.js';

export async function trainCommand(context: vscode.ExtensionContext, arg?: unknown): Promise<void> {
  const reference =
    invokedOn(arg) ??
    (await pickDataset(context, {
      title: 'scNym: labelled reference to train on (1/3)',
      placeHolder: 'a dataset with known cell types',
      memory: 'scnym.reference',
    }));
  if (!reference) return;
  const columns = await readColumns(context, reference);
  if (!columns) return;
  const labelKey = await pickColumn(context, columns, {
    title: `scNym: label column of ${path.basename(reference)} (2/3)`,
    placeHolder: 'the obs column holding the cell types',
    memory: 'scnym.labelKey',
  });
  if (!labelKey) return;
  const base = reference.replace(/[\\/]+$/, '').replace(/\.(zarr|h5ad)$/i, '');
  const modelOut = await vscode.window.showInputBox({
    title: 'scNym: folder to save the model in (3/3)',
    value: `${base}-scnym-model`,
    prompt:
      'A new folder (model.json, weights.bin, scnym.json); scnym predict and this extension load it',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'a folder path is needed'),
  });
  if (!modelOut) return;
  let overwrite = false;
  try {
    await vscode.workspace.fs.stat(vscode.Uri.file(modelOut));
    const replace = 'Replace';
    const answer = await vscode.window.showWarningMessage(
      `${modelOut} already exists. Replace it?`,
      { modal: true },
      replace,
    );
    if (answer !== replace) return;
    overwrite = true;
  } catch {
    // Does not exist yet: the normal case.
  }
  const result = await runJob(context, `scNym: training on ${path.basename(reference)}`, {
    type: 'train',
    reference,
    labelKey,
    settings: trainSettings(),
    modelOut: modelOut.trim(),
    overwrite,
  });
  if (!result) return;
  await recordModel(context, {
    dir: result.modelDir,
    label: `trained on ${path.basename(reference)}`,
    reference,
    created: Date.now(),
  });
  const t = result.training;
  const acc = Number.isFinite(t.valAccuracy)
    ? `, held-out accuracy ${(100 * t.valAccuracy).toFixed(1)}%`
    : '';
  void vscode.window
    .showInformationMessage(
      `scNym: trained ${t.classNames.length} classes on ${t.nGenes} genes in ${t.seconds.toFixed(0)} s${acc}; saved to ${result.modelDir}.`,
      'Predict with It…',
    )
    .then((b) => {
      if (b) void vscode.commands.executeCommand('scnym.predict');
    });
}

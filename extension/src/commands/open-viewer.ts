/** scNym: Open in Viewer — the scatterplot viewer in a webview. */
import * as vscode from 'vscode';
import { invokedOn } from './common.js';
import { pickDataset } from './pick.js';
import type { Panels } from './panels.js';

export async function openViewerCommand(
  context: vscode.ExtensionContext,
  panels: Panels,
  arg?: unknown,
): Promise<void> {
  const dataset =
    invokedOn(arg) ??
    (await pickDataset(context, {
      title: 'scNym: dataset to view',
      placeHolder: 'an .h5ad file or a .zarr folder',
      memory: 'scnym.viewed',
    }));
  if (dataset) panels.openViewer(dataset);
}

/** scNym: Show Saliency Markers… — the genes that drive each class, in a chart webview. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SaliencyMethodName } from '../messages.js';
import { geneKey, keyAdded } from '../settings.js';
import { invokedOn } from './common.js';
import { savedModels } from './models.js';
import { pickDataset, pickModel } from './pick.js';
import type { Panels } from './panels.js';
import { runJob } from './run-job.js';

/** Interactive defaults: fast enough to switch methods, enough cells for stable rankings. */
const TOP = 20;
const MAX_CELLS = 200;

export async function saliencyCommand(
  context: vscode.ExtensionContext,
  panels: Panels,
  arg?: unknown,
): Promise<void> {
  const dataset =
    invokedOn(arg) ??
    (await pickDataset(context, {
      title: 'scNym: dataset to explain (1/2)',
      placeHolder: 'usually the annotated query',
      memory: 'scnym.query',
    }));
  if (!dataset) return;
  const model = await pickModel(savedModels(context, dataset), {
    title: 'scNym: model to explain (2/2)',
    dataset,
  });
  if (!model) return;
  const compute = async (method: SaliencyMethodName) => {
    const r = await runJob(
      context,
      `scNym: marker genes of ${path.basename(dataset)} (${method})`,
      {
        type: 'saliency',
        dataset,
        model,
        method,
        top: TOP,
        maxCells: MAX_CELLS,
        groupby: keyAdded(),
        geneKey: geneKey(),
      },
    );
    if (!r) throw new Error('the computation was cancelled or failed (see the notification)');
    return r.saliency;
  };
  let first;
  try {
    first = await compute('gradient');
  } catch {
    return;
  }
  panels.showSaliency(first, compute);
}

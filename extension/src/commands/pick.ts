/**
 * The quick picks the commands share: a dataset of the workspace (or Browse…), an obs column
 * read from the file, a saved model. Choices are remembered per workspace.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { rankLabelColumns } from '@scnym/core/vocabulary';
import type { ColumnChoice } from '../messages.js';
import { datasetKind, plural, type ModelRecord } from '../choices.js';

const BROWSE = 'Browse…';

/** AnnData datasets in the workspace: *.h5ad files and *.zarr folders (found by their root metadata). */
export async function findDatasets(): Promise<vscode.Uri[]> {
  const exclude = '**/node_modules/**';
  const [h5ad, zarrRoots] = await Promise.all([
    vscode.workspace.findFiles('**/*.h5ad', exclude, 500),
    vscode.workspace.findFiles('**/*.zarr/{.zgroup,zarr.json}', exclude, 500),
  ]);
  const folders = zarrRoots.map((u) => vscode.Uri.file(path.dirname(u.fsPath)));
  const unique = new Map([...h5ad, ...folders].map((u) => [u.fsPath, u]));
  return [...unique.values()].sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

function relative(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false);
}

export interface DatasetPickOptions {
  title: string;
  placeHolder: string;
  exclude?: string[];
  /** workspaceState key of the remembered choice. */
  memory: string;
}

export async function pickDataset(
  context: vscode.ExtensionContext,
  options: DatasetPickOptions,
): Promise<string | undefined> {
  const remembered = context.workspaceState.get<string>(options.memory);
  const found = (await findDatasets()).filter((u) => !options.exclude?.includes(u.fsPath));
  found.sort((a, b) => Number(b.fsPath === remembered) - Number(a.fsPath === remembered));
  type Item = vscode.QuickPickItem & { fsPath?: string };
  const items: Item[] = found.map((u) => ({
    label: relative(u),
    description: `${datasetKind(u.fsPath)}${u.fsPath === remembered ? ' · last used' : ''}`,
    fsPath: u.fsPath,
  }));
  items.push({ label: BROWSE, description: 'an .h5ad file or a .zarr folder elsewhere' });
  const choice = await vscode.window.showQuickPick(items, {
    title: options.title,
    placeHolder: options.placeHolder,
    ignoreFocusOut: true,
    matchOnDescription: true,
  });
  if (!choice) return undefined;
  let chosen = choice.fsPath;
  if (!chosen) {
    const picked = await vscode.window.showOpenDialog({
      title: options.title,
      canSelectFiles: true,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Use this dataset',
    });
    chosen = picked?.[0]?.fsPath;
    if (chosen && !datasetKind(chosen)) {
      void vscode.window.showErrorMessage(
        `scNym: ${chosen} is not an AnnData dataset; choose an .h5ad file or a .zarr folder.`,
      );
      return undefined;
    }
  }
  if (chosen) await context.workspaceState.update(options.memory, chosen);
  return chosen;
}

export async function pickColumn(
  context: vscode.ExtensionContext,
  columns: ColumnChoice[],
  options: { title: string; placeHolder: string; memory: string; exclude?: string[] },
): Promise<string | undefined> {
  const remembered = context.workspaceState.get<string>(options.memory);
  // Label columns are categorical (or strings); other kinds are not offered.
  const usable = columns.filter(
    (c) => (c.kind === 'categorical' || c.kind === 'string') && !options.exclude?.includes(c.name),
  );
  if (usable.length === 0) {
    void vscode.window.showErrorMessage(
      `scNym: the dataset has no categorical obs column to use (${columns.map((c) => c.name).join(', ') || 'no columns'}).`,
    );
    return undefined;
  }
  const choice = await vscode.window.showQuickPick(
    rankLabelColumns(usable, remembered).map((c) => ({
      label: c.name,
      description: [
        c.nCategories !== undefined ? plural(c.nCategories, 'category', 'categories') : c.kind,
        c.name === remembered ? 'last used' : '',
      ]
        .filter(Boolean)
        .join(' · '),
    })),
    { title: options.title, placeHolder: options.placeHolder, ignoreFocusOut: true },
  );
  if (choice) await context.workspaceState.update(options.memory, choice.label);
  return choice?.label;
}

/** Saved models: those this workspace trained (newest first, the dataset's own on top) and Browse…. */
export async function pickModel(
  models: ModelRecord[],
  options: { title: string; dataset?: string },
): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { dir?: string };
  const items: Item[] = models.map((m) => ({
    label:
      m.query && m.query === options.dataset
        ? `Model from the last annotation of ${path.basename(m.query)}`
        : m.label,
    description: new Date(m.created).toLocaleString(),
    detail: m.dir,
    dir: m.dir,
  }));
  items.push({
    label: 'Browse for a model folder…',
    description: 'saved by scnym train or --model-out',
  });
  const choice = await vscode.window.showQuickPick(items, {
    title: options.title,
    placeHolder: 'the model that labelled the dataset',
    ignoreFocusOut: true,
  });
  if (!choice) return undefined;
  if (choice.dir) return choice.dir;
  const picked = await vscode.window.showOpenDialog({
    title: options.title,
    canSelectFiles: false,
    canSelectFolders: true,
    openLabel: 'Use this model',
  });
  return picked?.[0]?.fsPath;
}

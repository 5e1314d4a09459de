/** The models this workspace trained, newest first (workspace state). */
import * as vscode from 'vscode';
import { modelFolderName, modelsFor, rememberModel, type ModelRecord } from '../choices.js';

const KEY = 'scnym.models';

export function savedModels(context: vscode.ExtensionContext, dataset?: string): ModelRecord[] {
  return modelsFor(context.workspaceState.get<ModelRecord[]>(KEY, []), dataset);
}

export async function recordModel(
  context: vscode.ExtensionContext,
  record: ModelRecord,
): Promise<void> {
  const models = context.workspaceState.get<ModelRecord[]>(KEY, []);
  await context.workspaceState.update(KEY, rememberModel(models, record));
}

/** A new folder in the extension's storage for a model trained for `dataset`. */
export function newModelDir(context: vscode.ExtensionContext, dataset: string): string {
  return vscode.Uri.joinPath(
    context.globalStorageUri,
    'models',
    modelFolderName(dataset, new Date()),
  ).fsPath;
}

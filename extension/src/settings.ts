/** The user's `scnym.*` settings, read fresh for each job. */
import * as vscode from 'vscode';
import {
  DEFAULT_KEY_ADDED,
  keyAddedProblem,
  type ConfigName,
  type PresetName,
} from '@scnym/core/vocabulary';
import type { TrainSettings } from './messages.js';

export function trainSettings(): TrainSettings {
  const c = vscode.workspace.getConfiguration('scnym');
  const epochs = c.get<number | null>('epochs', null);
  return {
    preset: c.get<PresetName>('preset', 'default'),
    config: c.get<ConfigName>('config', 'no_new_identity'),
    epochs: typeof epochs === 'number' && epochs >= 1 ? Math.floor(epochs) : null,
    seed: Math.max(0, Math.floor(c.get<number>('seed', 0))),
    geneKey: geneKey(),
  };
}

/** `scnym.geneKey`: the names genes are matched by ('auto', 'var_names' or a var column). */
export function geneKey(): string {
  return vscode.workspace.getConfiguration('scnym').get<string>('geneKey', 'auto').trim() || 'auto';
}

/** The `scnym.keyAdded` prefix; one core refuses is reported and replaced by the default. */
export function keyAdded(): string {
  const key = vscode.workspace
    .getConfiguration('scnym')
    .get<string>('keyAdded', DEFAULT_KEY_ADDED)
    .trim();
  const problem = keyAddedProblem(key);
  if (!problem) return key;
  void vscode.window.showWarningMessage(
    `scnym.keyAdded: ${problem}. Using ${DEFAULT_KEY_ADDED} instead.`,
  );
  return DEFAULT_KEY_ADDED;
}

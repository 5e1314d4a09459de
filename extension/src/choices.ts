/**
 * The extension's pure decisions, kept apart from the `vscode` API so they are unit-tested:
 * what a path is, which models to offer first, how progress reads in a notification.
 */
import type { JobEvent } from './worker-client.js';

/** 'zarr' | 'h5ad' from the name, '' for anything else. */
export function datasetKind(path: string): 'zarr' | 'h5ad' | '' {
  const p = path.replace(/[\\/]+$/, '').toLowerCase();
  if (p.endsWith('.zarr')) return 'zarr';
  if (p.endsWith('.h5ad')) return 'h5ad';
  return '';
}

/** A model this workspace trained (annotate or train), remembered in workspace state. */
export interface ModelRecord {
  dir: string;
  label: string;
  /** The query it annotated, when it came from an annotation. */
  query?: string;
  reference: string;
  created: number;
}

export const MAX_MODELS = 20;

/** Adds a record (replacing one for the same folder), newest first, at most MAX_MODELS. */
export function rememberModel(models: readonly ModelRecord[], record: ModelRecord): ModelRecord[] {
  return [record, ...models.filter((m) => m.dir !== record.dir)].slice(0, MAX_MODELS);
}

/** The models to offer for a dataset: the newest one that annotated it first, then the rest. */
export function modelsFor(models: readonly ModelRecord[], dataset?: string): ModelRecord[] {
  const sorted = [...models].sort((a, b) => b.created - a.created);
  const own = sorted.findIndex((m) => m.query === dataset);
  if (own <= 0) return sorted;
  return [sorted[own], ...sorted.slice(0, own), ...sorted.slice(own + 1)];
}

/** A folder name for a model trained for `query` at `date` (no characters paths dislike). */
export function modelFolderName(query: string, date: Date): string {
  const base = query
    .replace(/[\\/]+$/, '')
    .split(/[\\/]/)
    .pop()!
    .replace(/\.(zarr|h5ad)$/i, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '_');
  const stamp = date.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return `${base || 'model'}-${stamp}`;
}

/**
 * Progress as a notification line, and the share of the whole job it stands for (0–1):
 * training is most of an annotation, reading and predicting the rest.
 */
export function describeProgress(event: Extract<JobEvent, { type: 'progress' }>): {
  message: string;
  fraction: number;
} {
  const { stage, done, total, detail } = event;
  const part = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const [start, width] = stage.startsWith('reading')
    ? [0, 0.05]
    : stage === 'training'
      ? [0.05, 0.85]
      : stage === 'predicting'
        ? [0.9, 0.08]
        : stage === 'saving'
          ? [0.98, 0.02]
          : [0, 1];
  const count = total > 1 ? ` ${done}/${total}` : '';
  const message = detail ? `${stage}: ${detail.trim()}` : `${stage}${count}`;
  return { message, fraction: start + width * part };
}

/** Every obs key a prediction run writes under `keyAdded` (not offered as "known labels"). */
export function annotationKeysOf(keyAdded: string): string[] {
  return [keyAdded, `${keyAdded}_confidence`];
}

/** Names that usually hold cell types, tried in this order. */
const LABEL_HINTS = [/^cell_?type$/i, /cell_?type/i, /label|annotation|cluster/i, /type/i];

/**
 * Label columns to offer, likeliest first: the remembered one, then names that look like cell
 * types, then the rest; columns with a single category cannot train a classifier and go last.
 */
export function rankLabelColumns<T extends { name: string; nCategories?: number }>(
  columns: readonly T[],
  remembered?: string,
): T[] {
  const score = (c: T) => {
    if (c.name === remembered) return -1;
    if (c.nCategories !== undefined && c.nCategories < 2) return LABEL_HINTS.length + 1;
    const hint = LABEL_HINTS.findIndex((re) => re.test(c.name));
    return hint < 0 ? LABEL_HINTS.length : hint;
  };
  return columns
    .map((c, i) => ({ c, i, s: score(c) }))
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .map((x) => x.c);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

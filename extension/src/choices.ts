/**
 * The extension's own pure decisions, kept apart from the `vscode` API so they are unit-tested:
 * what a path is, which models to offer first, where a new model goes. (How progress reads and
 * which label columns come first are core's: @scnym/core/vocabulary.)
 */

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

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

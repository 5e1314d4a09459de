/**
 * Predictions saved into the query by an earlier Save (or by `scnym annotate`: the same keys),
 * found on load: the labels and confidences from obs, what uns says of the run (train results,
 * markers) and of the model that made them (`GET /api/saved`), as the panel's current result.
 */
import { UNKNOWN_LABEL } from '@scnym/core/vocabulary';
import type { DataAccess } from '../../host/api.js';
import { markersFromRecord, type ClassMarkers } from '../../shared/markers-record.js';
import type { SavedState } from '../../shared/save-format.js';
import type { AnnotateResult } from '../../shared/worker-messages.js';
import { CONFIDENCE, LABEL } from './keys.js';

export interface Restored {
  result: AnnotateResult;
  /** Where the predictions came from, in words. */
  from: string;
  markers: ClassMarkers[] | null;
  model: SavedState['model'];
}

/** The query's saved predictions, or null when it holds none (obs scNym and scNym_confidence). */
export async function savedPredictions(data: DataAccess): Promise<Restored | null> {
  const columns = data.columns();
  const has = (name: string, kind: string) =>
    columns.some((c) => c.name === name && c.kind === kind);
  if (!has(LABEL, 'categorical') || !has(CONFIDENCE, 'numeric')) return null;
  const [label, confidence, state] = await Promise.all([
    data.obsColumn(LABEL),
    data.obsColumn(CONFIDENCE),
    fetchSaved(),
  ]);
  if (label.kind !== 'categorical' || confidence.kind !== 'numeric') return null;
  const results = state?.trainResults ?? {};
  const named = results.class_names;
  const classNames =
    Array.isArray(named) && named.every((c) => typeof c === 'string')
      ? (named as string[])
      : label.categories.filter((c) => c !== UNKNOWN_LABEL);
  const result: AnnotateResult = {
    type: 'result',
    backend: 'saved',
    seconds: 0,
    classNames,
    codes: Int32Array.from(label.codes),
    categories: [...label.categories],
    confidence: Float32Array.from(confidence.values),
    // The file's obs scNym_novelty, if any, is a column of the dataset already.
    novelty: new Float32Array(0),
    // What is in the file already (probabilities, X_scnym, train results) stays there: a save
    // of restored predictions writes the labels with their edits, and the markers and model.
    save: { schema: 'scnym.save/1', obs: {}, uns: {} },
  };
  return {
    result,
    from: describeRun(results),
    markers: state ? markersFromRecord(state.markers) : null,
    model: state?.model ?? null,
  };
}

async function fetchSaved(): Promise<SavedState | null> {
  const response = await fetch('/api/saved').catch(() => null);
  if (!response?.ok) return null;
  return (await response.json()) as SavedState;
}

/** "saved predictions (no_new_identity, scnym-js 0.1.0, trained 2026-12-07 15:50)". */
function describeRun(results: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof results.config === 'string' && results.config) parts.push(results.config);
  if (typeof results.tool === 'string') parts.push(results.tool);
  if (typeof results.created === 'string' && results.created) {
    parts.push(`trained ${results.created.replace('T', ' ').slice(0, 16)}`);
  }
  return `saved predictions${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

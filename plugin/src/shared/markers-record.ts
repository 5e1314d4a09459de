/**
 * The marker genes the panel showed, per class, as uns `scNym_markers` holds them (core's
 * MarkersRecord: flat lists, so class names of any spelling are values, never keys), and back.
 */
import type { MarkersRecord } from '@scnym/core/vocabulary';

/** One class's markers: its top genes and their scores, and how they were found. */
export interface ClassMarkers {
  className: string;
  method: string;
  nCells: number;
  genes: string[];
  scores: number[];
}

/** The record of these markers (null when there are none: nothing to write). */
export function markersRecord(markers: readonly ClassMarkers[]): MarkersRecord | null {
  if (markers.length === 0) return null;
  const record: MarkersRecord = {
    classes: [],
    methods: [],
    n_cells: [],
    n_genes: [],
    genes: [],
    scores: [],
  };
  for (const m of markers) {
    record.classes.push(m.className);
    record.methods.push(m.method);
    record.n_cells.push(m.nCells);
    record.n_genes.push(m.genes.length);
    for (let i = 0; i < m.genes.length; i++) {
      record.genes.push(m.genes[i]);
      record.scores.push(m.scores[i]);
    }
  }
  return record;
}

const strings = (v: unknown): string[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
const numbers = (v: unknown): number[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : null;

/**
 * The markers in a record read back from uns; null when it is not one (then the chart starts
 * empty rather than from a half-understood record). A list of one string may come back as a
 * string, and an empty list as nothing.
 */
export function markersFromRecord(value: unknown): ClassMarkers[] | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const one = (x: unknown) => (typeof x === 'string' || typeof x === 'number' ? [x] : x);
  const classes = strings(one(v.classes));
  const methods = strings(one(v.methods));
  const nCells = numbers(one(v.n_cells));
  const nGenes = numbers(one(v.n_genes));
  const genes = strings(one(v.genes ?? []));
  const scores = numbers(one(v.scores ?? []));
  if (!classes || !methods || !nCells || !nGenes || !genes || !scores) return null;
  const n = classes.length;
  if (methods.length !== n || nCells.length !== n || nGenes.length !== n) return null;
  const total = nGenes.reduce((s, k) => s + k, 0);
  if (genes.length !== total || scores.length !== total) return null;
  const out: ClassMarkers[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const k = nGenes[i];
    out.push({
      className: classes[i],
      method: methods[i],
      nCells: nCells[i],
      genes: genes.slice(at, at + k),
      scores: scores.slice(at, at + k),
    });
    at += k;
  }
  return out;
}

/**
 * Pure preprocessing on CSR: log1p(CPM), detection of what a matrix holds, and gene alignment.
 * scNym's network expects natural-log log1p(counts / rowsum × 1e6) on the model's genes, in the
 * model's gene order; genes the query lacks are zeros (= not expressed).
 */
import { ScnymError } from './errors.js';
import type { Csr } from './csr.js';

export const CPM_TARGET = 1e6;
/** Largest value a log1p(CPM) matrix can hold (a cell with all counts in one gene). */
export const LOG1P_CPM_MAX = Math.log1p(CPM_TARGET);

/** Counts below this get log1p(count × scale) from a per-row table (most counts are 1–3). */
const TABLED_COUNTS = 16;

/** log1p(x / rowsum × targetSum) per row; rows without counts stay zero. */
export function log1pCpm(m: Csr, targetSum = CPM_TARGET): Csr {
  return normaliseRows(m, targetSum, false)!;
}

/**
 * log1p(CPM) of a block of raw counts, or null when a stored value is not a non-negative
 * integer: the per-block normalisation of a matrix known to hold counts, with the check that
 * this block does too folded into the row sums (the caller classifies a refused block in full).
 */
export function countsToLog1pCpm(m: Csr, targetSum = CPM_TARGET): Csr | null {
  return normaliseRows(m, targetSum, true);
}

function normaliseRows(m: Csr, targetSum: number, countsOnly: boolean): Csr | null {
  const { indptr, data: values } = m;
  const start0 = indptr[0];
  const scales = new Float64Array(m.nRows);
  for (let r = 0; r < m.nRows; r++) {
    const end = indptr[r + 1];
    let k = indptr[r];
    // Four partial sums (one would wait on each add); exact, hence order-free, for counts.
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let refused = false;
    for (; k + 3 < end; k += 4) {
      const v0 = values[k];
      const v1 = values[k + 1];
      const v2 = values[k + 2];
      const v3 = values[k + 3];
      s0 += v0;
      s1 += v1;
      s2 += v2;
      s3 += v3;
      if (countsOnly) refused ||= !(isCount(v0) && isCount(v1) && isCount(v2) && isCount(v3));
    }
    for (; k < end; k++) {
      s0 += values[k];
      if (countsOnly) refused ||= !isCount(values[k]);
    }
    if (refused) return null;
    const sum = s0 + s1 + (s2 + s3);
    scales[r] = sum > 0 ? targetSum / sum : 0;
  }
  const data = new Float32Array(indptr[m.nRows] - start0);
  const table = new Float64Array(TABLED_COUNTS);
  for (let r = 0; r < m.nRows; r++) {
    const scale = scales[r];
    // The same double as Math.log1p(v * scale) below: identical results, fewer logarithms.
    for (let c = 1; c < TABLED_COUNTS; c++) table[c] = Math.log1p(c * scale);
    for (let k = indptr[r]; k < indptr[r + 1]; k++) {
      const v = values[k];
      const c = v | 0;
      data[k - start0] = c === v && c >= 0 && c < TABLED_COUNTS ? table[c] : Math.log1p(v * scale);
    }
  }
  return withData(m, data);
}

function isCount(v: number): boolean {
  return v >= 0 && Math.floor(v) === v;
}

/**
 * Re-normalises log1p data of any target sum to log1p(CPM): expm1 → row-normalise → log1p.
 * Idempotent on log1p(CPM) input (up to float rounding).
 */
export function renormalizeLog1p(m: Csr, targetSum = CPM_TARGET): Csr {
  return mapRows(m, (values) => {
    let sum = 0;
    for (let k = 0; k < values.length; k++) {
      values[k] = Math.expm1(values[k]);
      sum += values[k];
    }
    const scale = sum > 0 ? targetSum / sum : 0;
    for (let k = 0; k < values.length; k++) values[k] = Math.log1p(values[k] * scale);
  });
}

/** Copies m, letting `transform` rewrite each row's stored values in place (as float64). */
function mapRows(m: Csr, transform: (values: Float64Array) => void): Csr {
  const data = new Float32Array(m.data.length);
  const start0 = m.indptr[0];
  let buffer = new Float64Array(64);
  for (let r = 0; r < m.nRows; r++) {
    const start = m.indptr[r];
    const n = m.indptr[r + 1] - start;
    if (buffer.length < n) buffer = new Float64Array(n * 2);
    const values = buffer.subarray(0, n);
    for (let k = 0; k < n; k++) values[k] = m.data[start + k];
    transform(values);
    for (let k = 0; k < n; k++) data[start - start0 + k] = values[k];
  }
  return withData(m, data);
}

/** m's pattern (rebased to start at 0) with new values. */
function withData(m: Csr, data: Float32Array): Csr {
  const start0 = m.indptr[0];
  const indptr = start0 === 0 ? m.indptr : m.indptr.map((v) => v - start0);
  const indices = start0 === 0 ? m.indices : m.indices.slice(start0, m.indptr[m.nRows]);
  return { nRows: m.nRows, nCols: m.nCols, indptr, indices, data };
}

// ---------------------------------------------------------------------------------------------
// What does X hold?

/**
 * 'counts' = non-negative integers; 'log1p' = log1p of row-normalised data; 'scaled' = has
 * negatives; 'empty' = no non-zero values; 'unknown' = anything else (e.g. normalised, not logged).
 */
export type MatrixContent = 'counts' | 'log1p' | 'scaled' | 'empty' | 'unknown';

export interface ContentReport {
  kind: MatrixContent;
  min: number;
  max: number;
  /** For 'log1p': the median row sum of expm1(x), i.e. the normalisation target (1e6 for CPM). */
  targetSum?: number;
  /** Why the kind was chosen, in words. */
  reason: string;
}

export interface DetectOptions {
  /** Relative spread of expm1 row sums still counted as "one target sum". */
  rowSumTolerance?: number;
  /** Rows inspected for the row-sum check (the first ones with counts). */
  maxRowsChecked?: number;
}

/** Value statistics that decide what a matrix holds; gathered over one block or a whole file. */
export interface ContentStats {
  /** Stored values that are not zero. */
  nnz: number;
  min: number;
  max: number;
  allIntegers: boolean;
  /** expm1 row sums of (up to a few hundred) rows with values: the log1p normalisation target. */
  rowSums: number[];
}

export function emptyContentStats(): ContentStats {
  return { nnz: 0, min: Infinity, max: -Infinity, allIntegers: true, rowSums: [] };
}

/** Adds a CSR block's values to `s` (in place). */
export function accumulateContentStats(s: ContentStats, m: Csr, maxRowSums = 1000): ContentStats {
  const start = m.indptr[0];
  const end = m.indptr[m.nRows];
  for (let k = start; k < end; k++) {
    const v = m.data[k];
    if (v === 0) continue; // explicit zeros carry no information
    s.nnz++;
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
    if (s.allIntegers && v !== Math.round(v)) s.allIntegers = false;
  }
  for (let r = 0; r < m.nRows && s.rowSums.length < maxRowSums; r++) {
    let sum = 0;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) sum += Math.expm1(m.data[k]);
    if (sum > 0) s.rowSums.push(sum);
  }
  return s;
}

/** Classifies a matrix by its value statistics. */
export function classifyContent(s: ContentStats, options: DetectOptions = {}): ContentReport {
  const tolerance = options.rowSumTolerance ?? 0.02;
  const min = s.nnz === 0 ? 0 : s.min;
  const max = s.nnz === 0 ? 0 : s.max;
  if (s.nnz === 0) return { kind: 'empty', min, max, reason: 'all values are zero' };
  if (min < 0) return { kind: 'scaled', min, max, reason: 'holds negative values' };
  if (s.allIntegers) return { kind: 'counts', min, max, reason: 'non-negative integers' };
  if (max > LOG1P_CPM_MAX + 1e-3) {
    return { kind: 'unknown', min, max, reason: `non-integers above log1p(1e6) (max ${max})` };
  }
  const sums = [...s.rowSums].sort((a, b) => a - b);
  const median = sums.length ? sums[sums.length >> 1] : 0;
  const spread = sums.length ? (sums[sums.length - 1] - sums[0]) / median : 0;
  if (sums.length && spread <= tolerance) {
    return { kind: 'log1p', min, max, targetSum: median, reason: `log1p, rows sum to ~${median}` };
  }
  return {
    kind: 'unknown',
    min,
    max,
    reason: 'non-negative non-integers whose expm1 row sums vary (log of unnormalised data?)',
  };
}

/** Classifies a matrix (or a sample of its rows) by its values. */
export function detectContent(m: Csr, options: DetectOptions = {}): ContentReport {
  return classifyContent(
    accumulateContentStats(emptyContentStats(), m, options.maxRowsChecked ?? 1000),
    options,
  );
}

export interface MatrixSource {
  /** File the matrix came from. */
  file?: string;
  /** Element inside it, e.g. 'X' or 'layers/counts'. */
  element?: string;
}

/**
 * Turns raw counts or log1p data into log1p(CPM); refuses scaled or unrecognised data with a
 * ScnymError naming the file and element.
 */
export function toLog1pCpm(m: Csr, report: ContentReport, source: MatrixSource = {}): Csr {
  switch (report.kind) {
    case 'counts':
    case 'empty':
      return log1pCpm(m);
    case 'log1p':
      return Math.abs(report.targetSum! / CPM_TARGET - 1) < 1e-3 ? m : renormalizeLog1p(m);
    case 'scaled':
      throw new ScnymError(
        `the matrix holds negative values (min ${report.min}): it looks scaled/z-scored, ` +
          'and scNym needs counts or log1p-normalised expression',
        {
          ...source,
          hint: "use layers['counts'] or raw/X if the file has them",
          code: 'bad-input',
        },
      );
    default:
      throw new ScnymError(`cannot tell what the matrix holds: ${report.reason}`, {
        ...source,
        hint: "use raw counts (layers['counts'] or raw/X) or log1p(normalize_total) data",
        code: 'bad-input',
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Genes

export interface GeneAlignment {
  /** For each query column: the model column it feeds, or -1 when the model lacks that gene. */
  columnMap: Int32Array;
  /** Model genes found in the query. */
  nShared: number;
  /** Model genes absent from the query (they are fed zeros). */
  nMissing: number;
  /** The first few missing model genes, for messages. */
  missingExamples: string[];
}

export interface OverlapPolicy {
  /** Minimal fraction of model genes the query must have. */
  minFraction?: number;
  /** Minimal number of shared genes (capped at the model's gene count). */
  minGenes?: number;
}

/** The fewest genes a query must share with `nModelGenes` model genes under `policy`. */
export function minSharedGenes(nModelGenes: number, policy: OverlapPolicy = {}): number {
  const minFraction = policy.minFraction ?? 0.5;
  return Math.max(
    Math.ceil(minFraction * nModelGenes),
    Math.min(policy.minGenes ?? 100, nModelGenes),
  );
}

/**
 * Maps query genes onto model genes; errors on duplicates or too small an overlap. A null query
 * gene (no name, or a repeat left out by genes.ts) feeds nothing.
 */
export function alignGenes(
  modelGenes: readonly string[],
  queryGenes: readonly (string | null)[],
  policy: OverlapPolicy = {},
  source: MatrixSource = {},
): GeneAlignment {
  const modelIndex = indexUnique(modelGenes, 'model', {});
  indexUnique(queryGenes, 'query', source);
  const columnMap = new Int32Array(queryGenes.length).fill(-1);
  const found = new Uint8Array(modelGenes.length);
  let nShared = 0;
  queryGenes.forEach((gene, q) => {
    const target = gene === null ? undefined : modelIndex.get(gene);
    if (target !== undefined) {
      columnMap[q] = target;
      found[target] = 1;
      nShared++;
    }
  });
  const missingExamples: string[] = [];
  for (let g = 0; g < modelGenes.length && missingExamples.length < 10; g++) {
    if (!found[g]) missingExamples.push(modelGenes[g]);
  }
  const minFraction = policy.minFraction ?? 0.5;
  const minGenes = Math.min(policy.minGenes ?? 100, modelGenes.length);
  if (nShared < minSharedGenes(modelGenes.length, policy)) {
    throw new ScnymError(
      `only ${nShared} of the model's ${modelGenes.length} genes are in the data ` +
        `(need ≥ ${Math.round(minFraction * 100)}% and ≥ ${minGenes})`,
      {
        ...source,
        element: source.element ?? 'var',
        hint: 'check that gene names use the same convention (symbols vs Ensembl IDs, case)',
        code: 'no-shared-genes',
      },
    );
  }
  return { columnMap, nShared, nMissing: modelGenes.length - nShared, missingExamples };
}

export interface GeneIntersection {
  /** Shared genes in the reference's order. */
  genes: string[];
  /** Reference column → position in `genes`, or -1. */
  referenceMap: Int32Array;
  /** Query column → position in `genes`, or -1. */
  queryMap: Int32Array;
}

/**
 * The genes reference and query share, in the reference's order (training's gene set); null
 * names (see alignGenes) are never shared.
 */
export function intersectGenes(
  referenceGenes: readonly (string | null)[],
  queryGenes: readonly (string | null)[],
  minGenes = 1,
): GeneIntersection {
  indexUnique(referenceGenes, 'reference', {});
  const queryIndex = indexUnique(queryGenes, 'query', {});
  const genes: string[] = [];
  const referenceMap = new Int32Array(referenceGenes.length).fill(-1);
  const queryMap = new Int32Array(queryGenes.length).fill(-1);
  referenceGenes.forEach((gene, r) => {
    const q = gene === null ? undefined : queryIndex.get(gene);
    if (gene !== null && q !== undefined) {
      referenceMap[r] = genes.length;
      queryMap[q] = genes.length;
      genes.push(gene);
    }
  });
  if (genes.length < minGenes) {
    throw new ScnymError(`reference and query share ${genes.length} genes (need ≥ ${minGenes})`, {
      element: 'var',
      hint: 'check that both files use the same gene naming',
      code: 'no-shared-genes',
    });
  }
  return { genes, referenceMap, queryMap };
}

function indexUnique(
  genes: readonly (string | null)[],
  what: string,
  source: MatrixSource,
): Map<string, number> {
  const index = new Map<string, number>();
  genes.forEach((gene, i) => {
    if (gene === null) return;
    if (index.has(gene)) {
      throw new ScnymError(`duplicate gene name '${gene}' in the ${what} genes`, {
        ...source,
        element: source.element ?? 'var',
        hint: 'make var_names unique (e.g. var_names_make_unique())',
      });
    }
    index.set(gene, i);
  });
  return index;
}

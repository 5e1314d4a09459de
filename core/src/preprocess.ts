/**
 * Pure preprocessing on CSR: log1p(CPM), detection of what a matrix holds, and gene alignment.
 * scNym's network expects natural-log log1p(counts / rowsum × 1e6) on the model's genes, in the
 * model's gene order; genes the query lacks are zeros (= not expressed).
 */
import { ScnymError } from './errors.js';
import type { Csr } from './csr.js';
import type { InputKind } from './vocabulary.js';

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
 * Re-normalises log(x+1) data of any target sum, normalised per cell or not, to log1p(CPM):
 * base^x − 1 → row-normalise → log1p. A row whose values are whole multiples of its smallest
 * (the log of counts, scaled or not) is first put back as those counts, so it gives exactly the
 * floats its counts would (without, float32 storage leaves an ulp of difference, and training
 * takes another path). Idempotent on log1p(CPM) input (up to float rounding).
 */
export function renormalizeLog1p(m: Csr, targetSum = CPM_TARGET, base = Math.E): Csr {
  return normaliseRows(undoLog(m, base), targetSum, false)!;
}

/**
 * base^x − 1 of every value; a row whose values are whole multiples of its smallest becomes
 * those whole numbers (its counts, up to a factor that normalisation cancels).
 */
function undoLog(m: Csr, base: number): Csr {
  const lnBase = Math.log(base); // 1 for e: the same floats as expm1(x)
  const start0 = m.indptr[0];
  const data = new Float32Array(m.indptr[m.nRows] - start0);
  let row = new Float64Array(64);
  for (let r = 0; r < m.nRows; r++) {
    const from = m.indptr[r];
    const n = m.indptr[r + 1] - from;
    if (row.length < n) row = new Float64Array(n * 2);
    let smallest = Infinity;
    for (let k = 0; k < n; k++) {
      const v = Math.expm1(m.data[from + k] * lnBase);
      row[k] = v;
      if (v > 0 && v < smallest) smallest = v;
    }
    let stepped = true;
    for (let k = 0; k < n && stepped; k++) stepped = onStep(row[k] / smallest);
    const out = from - start0;
    for (let k = 0; k < n; k++) data[out + k] = stepped ? Math.round(row[k] / smallest) : row[k];
  }
  return withData(m, data);
}

/**
 * Whether `ratio` (of a value to its row's smallest) is a whole number, allowing for the log
 * having been stored as float32 (an ulp of x·ln(base) ≤ 14 is ~1e-6 of the value).
 */
function onStep(ratio: number): boolean {
  return Math.abs(ratio - Math.round(ratio)) <= 0.01 + 1e-5 * ratio;
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
 * 'counts' = non-negative integers; 'log1p' = natural log1p of row-normalised data; 'log' =
 * other log-scale expression (log2 or log10, or the log of counts not normalised per cell: see
 * ContentReport.log); 'scaled' = has negatives; 'empty' = no non-zero values; 'unknown' =
 * anything else (e.g. normalised, not logged), or not what the user said it holds.
 */
export type MatrixContent = 'counts' | 'log1p' | 'log' | 'scaled' | 'empty' | 'unknown';

/** Bases log-scale expression is stored in, in the order they are tried. */
export const LOG_BASES: readonly number[] = [Math.E, 2, 10];

/** How `--input` names log base `base`. */
export function logName(base: number): 'ln' | 'log2' | 'log10' {
  return base === 2 ? 'log2' : base === 10 ? 'log10' : 'ln';
}

/** The log base an input kind names, or null (auto, counts, log: none given). */
export function inputBase(input: InputKind): number | null {
  return input === 'ln' ? Math.E : input === 'log2' ? 2 : input === 'log10' ? 10 : null;
}

/** How log-scale values are turned back into (normalised) counts. */
export interface LogScale {
  /** The logarithm's base: Math.E, 2 or 10. */
  base: number;
  /** What base^x − 1 sums to in every cell (1e4, 1e6, …); null when cells have no one total. */
  targetSum: number | null;
  /**
   * How the base is known: base^x − 1 sums to one total in every cell ('row-sums'); its values
   * sit on whole multiples of each cell's smallest, as counts do ('count-steps'); the user named
   * it ('given'); neither, so it is assumed from the largest value ('assumed').
   */
  evidence: 'row-sums' | 'count-steps' | 'given' | 'assumed';
}

export interface ContentReport {
  kind: MatrixContent;
  min: number;
  max: number;
  /** For 'log1p': the median row sum of expm1(x), i.e. the normalisation target (1e6 for CPM). */
  targetSum?: number;
  /** For 'log1p' and 'log': how to undo the log. */
  log?: LogScale;
  /** Why the kind was chosen, in words. */
  reason: string;
  /** For 'unknown': what to pass instead. */
  hint?: string;
}

export interface DetectOptions {
  /** Relative spread of row sums still counted as "one target sum". */
  rowSumTolerance?: number;
  /** Rows inspected for the row-sum and count-step checks (the first ones with values). */
  maxRowsChecked?: number;
  /** What the user says the matrix holds (default 'auto': decided from the values). */
  input?: InputKind;
}

/** What one log base makes of the first rows with values. */
export interface BaseEvidence {
  base: number;
  /** Row sums of base^x − 1. */
  sums: number[];
  /**
   * Values 1.5–64 times their row's smallest (after base^x − 1), and those of them on a whole
   * multiple of it: nearly all, for the log of counts in the right base.
   */
  stepChecks: number;
  steps: number;
}

/** Value statistics that decide what a matrix holds; gathered over one block or a whole file. */
export interface ContentStats {
  /** Stored values that are not zero. */
  nnz: number;
  min: number;
  max: number;
  allIntegers: boolean;
  /** Per log base tried, its evidence from (up to a thousand) rows with values. */
  bases: BaseEvidence[];
  /** Row sums of the values themselves: one total in normalised data that was never logged. */
  linearSums: number[];
}

/** Statistics to gather; `input` naming a base limits the evidence to it. */
export function emptyContentStats(input: InputKind = 'auto'): ContentStats {
  const given = inputBase(input);
  const bases = given === null ? LOG_BASES : [given];
  return {
    nnz: 0,
    min: Infinity,
    max: -Infinity,
    allIntegers: true,
    bases: bases.map((base) => ({ base, sums: [], stepChecks: 0, steps: 0 })),
    linearSums: [],
  };
}

/** Adds a CSR block's values to `s` (in place), and the evidence of its first `maxRows` rows. */
export function accumulateContentStats(s: ContentStats, m: Csr, maxRows = 1000): ContentStats {
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
  let row = new Float64Array(64);
  for (let r = 0; r < m.nRows && s.linearSums.length < maxRows; r++) {
    const from = m.indptr[r];
    const n = m.indptr[r + 1] - from;
    let linear = 0;
    for (let k = from; k < from + n; k++) linear += m.data[k];
    if (!(linear > 0)) continue;
    s.linearSums.push(linear);
    if (row.length < n) row = new Float64Array(n * 2);
    for (const evidence of s.bases) addEvidence(evidence, m.data, from, n, row);
  }
  return s;
}

function addEvidence(
  e: BaseEvidence,
  data: Float32Array,
  from: number,
  n: number,
  w: Float64Array,
) {
  const lnBase = Math.log(e.base);
  let sum = 0;
  let smallest = Infinity;
  for (let k = 0; k < n; k++) {
    const v = Math.expm1(data[from + k] * lnBase);
    w[k] = v;
    sum += v;
    if (v > 0 && v < smallest) smallest = v;
  }
  e.sums.push(sum);
  // Counts of 1 (the smallest) are equal in any base: only larger multiples tell bases apart.
  for (let k = 0; k < n; k++) {
    const ratio = w[k] / smallest;
    if (!(ratio >= 1.5 && ratio <= 64)) continue;
    e.stepChecks++;
    if (onStep(ratio)) e.steps++;
  }
}

/** Fraction of checked values on whole steps needed to call a base's data counts. */
const STEP_FRACTION = 0.9;
/** Fewest checked values that count as evidence. */
const MIN_STEP_CHECKS = 50;

/**
 * Classifies a matrix by its value statistics: what it holds, and how to read it as `input`
 * says ('unknown', with a hint, when it holds something else).
 */
export function classifyContent(s: ContentStats, options: DetectOptions = {}): ContentReport {
  const tolerance = options.rowSumTolerance ?? 0.02;
  const input = options.input ?? 'auto';
  const min = s.nnz === 0 ? 0 : s.min;
  const max = s.nnz === 0 ? 0 : s.max;
  if (s.nnz === 0) return { kind: 'empty', min, max, reason: 'all values are zero' };
  if (min < 0) return { kind: 'scaled', min, max, reason: 'holds negative values' };
  const given = inputBase(input);
  if (s.allIntegers) {
    if (input === 'auto' || input === 'counts')
      return { kind: 'counts', min, max, reason: 'non-negative integers' };
    return {
      kind: 'unknown',
      min,
      max,
      reason: `non-negative integers (counts?), not the log-scale values --input ${input} says`,
      hint: 'pass --input counts, or leave --input out to decide from the values',
    };
  }
  if (input === 'counts') {
    return {
      kind: 'unknown',
      min,
      max,
      reason: `values that are not integers (max ${fmt(max)}), not the counts --input counts says`,
      hint:
        'leave --input out (or pass --input log) to read log-scale values, or name the matrix ' +
        'holding counts (--matrix layers/counts, raw/X)',
    };
  }
  // The largest log(x+1) of a cell's counts per million (all of them in one gene).
  const ceiling = Math.log1p(CPM_TARGET) / Math.log(given ?? 2);
  if (max > ceiling + 1e-3) {
    return {
      kind: 'unknown',
      min,
      max,
      reason: `non-integers above ${logName(given ?? 2)}(1e6+1) = ${fmt(ceiling)} (max ${fmt(max)})`,
      hint: given
        ? 'choose another base with --input, or leave --input out to decide from the values'
        : "use raw counts (layers['counts'] or raw/X) or log(x+1) of normalised counts",
    };
  }
  const bases = s.bases.filter((e) => given === null || e.base === given);
  for (const e of bases) {
    const total = oneTotal(e.sums, tolerance);
    if (total === null) continue;
    const log: LogScale = { base: e.base, targetSum: total, evidence: 'row-sums' };
    if (e.base === Math.E) {
      return {
        kind: 'log1p',
        min,
        max,
        targetSum: total,
        log,
        reason: `log1p, rows sum to ~${total}`,
      };
    }
    return { kind: 'log', min, max, log, reason: describeLog(log, max) };
  }
  const linear = given === null ? oneTotal(s.linearSums, tolerance) : null;
  if (linear !== null) {
    return {
      kind: 'unknown',
      min,
      max,
      reason: `non-integers whose rows sum to ~${fmt(linear)}: normalised but not log-transformed`,
      hint: 'log-transform it (sc.pp.log1p) or use raw counts',
    };
  }
  let stepped: BaseEvidence | null = null;
  for (const e of bases) {
    const fraction = e.steps / e.stepChecks;
    if (e.stepChecks >= MIN_STEP_CHECKS && fraction >= STEP_FRACTION) {
      if (!stepped || fraction > stepped.steps / stepped.stepChecks) stepped = e;
    }
  }
  const log: LogScale = stepped
    ? { base: stepped.base, targetSum: null, evidence: 'count-steps' }
    : given
      ? { base: given, targetSum: null, evidence: 'given' }
      : // Values above ln(1e6+1) rule out natural logs of per-million data.
        { base: max > LOG1P_CPM_MAX + 1e-3 ? 2 : Math.E, targetSum: null, evidence: 'assumed' };
  return { kind: 'log', min, max, log, reason: describeLog(log, max) };
}

/** The median of `sums` when all of them are within `tolerance` of it (relative), else null. */
function oneTotal(sums: readonly number[], tolerance: number): number | null {
  if (sums.length === 0) return null;
  const sorted = Float64Array.from(sums).sort();
  const median = sorted[sorted.length >> 1];
  const spread = (sorted[sorted.length - 1] - sorted[0]) / median;
  return spread <= tolerance ? median : null;
}

/** How log-scale values are read, in words: "log2(x+1) of counts per 1e6". */
export function describeLog(log: LogScale, max: number): string {
  const f = `${logName(log.base)}(x+1)`;
  switch (log.evidence) {
    case 'row-sums':
      return `${f} of counts per ${total(log.targetSum!)}`;
    case 'count-steps':
      return (
        `${f} of counts (its values step by whole counts; cells do not sum to one total: ` +
        'not normalised, or a subset of genes)'
      );
    case 'given':
      return `${f}, as --input says`;
    case 'assumed': {
      const why = log.base === 2 ? ` (values up to ${fmt(max)} rule out ln)` : '';
      return (
        `${f}, assumed${why}: in no base do its cells sum to one total or step by whole ` +
        'counts, as log-normalised counts would (the log of TPM, or of a subset of genes?)'
      );
    }
  }
}

/**
 * What the user is told when a matrix is read as log-scale on the strength of its values
 * alone; null when it needs no word (counts, log1p(normalised), or the base was given).
 */
export function logScaleWarning(report: ContentReport, source: MatrixSource = {}): string | null {
  if (report.kind !== 'log' || !report.log || report.log.evidence === 'given') return null;
  const file = source.file ? `${source.file}: ` : '';
  const chooseBase = report.log.evidence === 'assumed' ? ', or ln, log2, log10 for the base' : '';
  return (
    `${file}${source.element ?? 'the matrix'} holds log-scale values (max ${fmt(report.max)}, ` +
    `not integers): read as ${report.reason}, re-normalised to log1p of counts per million; ` +
    `pass --input counts or log to choose${chooseBase}`
  );
}

/** 1e4 for 10000.000001, else 3 significant digits. */
function total(v: number): string {
  const exponent = Math.round(Math.log10(v));
  return Math.abs(v / 10 ** exponent - 1) < 1e-3 ? `1e${exponent}` : fmt(v);
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(3);
}

/** Classifies a matrix (or a sample of its rows) by its values. */
export function detectContent(m: Csr, options: DetectOptions = {}): ContentReport {
  return classifyContent(
    accumulateContentStats(emptyContentStats(options.input), m, options.maxRowsChecked ?? 1000),
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
 * Turns raw counts or log-scale data into log1p(CPM); refuses scaled or unrecognised data with
 * a ScnymError naming the file and element.
 */
export function toLog1pCpm(m: Csr, report: ContentReport, source: MatrixSource = {}): Csr {
  switch (report.kind) {
    case 'counts':
    case 'empty':
      return log1pCpm(m);
    case 'log1p':
      return Math.abs(report.targetSum! / CPM_TARGET - 1) < 1e-3 ? m : renormalizeLog1p(m);
    case 'log':
      return renormalizeLog1p(m, CPM_TARGET, report.log!.base);
    case 'scaled':
      throw new ScnymError(
        `the matrix holds negative values (min ${report.min}): it looks scaled/z-scored, ` +
          'and scNym needs counts or log-scale expression',
        {
          ...source,
          hint: "use layers['counts'] or raw/X if the file has them",
          code: 'bad-input',
        },
      );
    default:
      throw new ScnymError(`cannot tell what the matrix holds: ${report.reason}`, {
        ...source,
        hint:
          report.hint ??
          "use raw counts (layers['counts'] or raw/X) or log1p(normalize_total) data",
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

/**
 * From AnnData handles to what training and prediction consume: picks the matrix that holds
 * counts (or log1p data), streams it in row blocks into log1p(CPM) CSR on a given gene order,
 * and reads labels and domains. Only CSR is ever held whole; nothing is densified here. Of a
 * file larger than training needs, only the sampled rows are kept (a block at a time).
 */
import { AnnDataError, NotFoundError, ScnymError, throwIfAborted } from './errors.js';
import type { AnnData, CsrBlock, MatrixReader } from './anndata/types.js';
import { concatBlocks, remapColumns, takeRows, type Csr } from './csr.js';
import {
  AUTO_GENE_KEY,
  datasetGenes,
  matchGenes,
  VAR_NAMES,
  warnDuplicates,
  type GeneNames,
} from './genes.js';
import {
  accumulateContentStats,
  classifyContent,
  emptyContentStats,
  countsToLog1pCpm,
  intersectGenes,
  logName,
  logScaleWarning,
  toLog1pCpm,
  type ContentReport,
} from './preprocess.js';
import { Rng } from './random.js';
import { checkRange, type RowRange } from './row-ranges.js';
import { UNKNOWN_LABEL, type InputKind } from './vocabulary.js';
import { sampleReference, sampleRows, type ReferenceSample } from './train/sampling.js';
import type { TrainingData } from './train/trainer.js';

export interface Control {
  signal?: AbortSignal;
  /** Rows read so far of `total`, per stage (e.g. 'reference', 'query'). */
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Things the user should know (missing genes, dropped cells, a fallback matrix). */
  onWarning?: (message: string) => void;
  /** Things that happened along the way (how many cells were sampled for training). */
  onNotice?: (message: string) => void;
}

/** Rows sampled to decide what a matrix holds before committing to it. */
const SAMPLE_ROWS = 2000;
/** Rows of each later block whose sums are checked (the values are all checked). */
const BLOCK_ROWS_CHECKED = 100;

/**
 * Fewest genes a matrix may have: scNym tells cell types apart by many genes at once, and a
 * matrix with fewer is a gene subset or a score table, not a transcriptome (targeted panels
 * have a few hundred).
 */
export const MIN_GENES = 50;

export interface ChosenMatrix {
  /** The file it comes from, for messages. */
  source: string;
  reader: MatrixReader;
  genes: string[];
  content: ContentReport;
}

/**
 * The matrix to feed scNym: `preference` if given, else the first usable one of X,
 * layers/counts and raw/X (usable: counts or log1p(normalised) data over at least MIN_GENES
 * genes; an absent X is skipped), else the first holding other log-scale values (log2, log10,
 * or not normalised per cell: read on what its values show, with a warning). `input` says what
 * the matrix holds (default: decided from its values). Scaled or unrecognised data, and files
 * without cells, are refused with a hint.
 */
export async function chooseMatrix(
  ad: AnnData,
  preference: string | undefined,
  control: Control = {},
  input: InputKind = 'auto',
): Promise<ChosenMatrix> {
  if (ad.nObs === 0) {
    throw new AnnDataError('has 0 cells', {
      file: ad.source,
      element: 'obs',
      hint: 'check that this is the file you meant (in Python: adata.n_obs)',
    });
  }
  if (preference && preference !== 'auto') {
    const chosen = await describe(ad, preference, input);
    if (problem(chosen)) throw unusable(ad, chosen);
    return warnLogScale(chosen, control);
  }
  const present = await ad.matrixNames();
  const candidates = ['X', 'layers/counts', 'raw/X'].filter((n) => present.includes(n));
  if (candidates.length === 0) {
    throw new NotFoundError('has no expression matrix (X, layers/counts or raw/X)', {
      file: ad.source,
      hint: present.length
        ? `it has ${present.join(', ')}: choose one with --matrix`
        : "store the counts in X or layers['counts']",
    });
  }
  // Why earlier candidates were passed over, for the warning or the error.
  const noX = present.includes('X') ? [] : ['there is no X'];
  const failed: string[] = [];
  let first: ChosenMatrix | undefined;
  // Log-scale values other than log1p(normalised) are read on an inference: counts come first.
  let inferred: ChosenMatrix | undefined;
  for (const name of candidates) {
    const chosen = await describe(ad, name, input);
    first ??= chosen;
    const why = problem(chosen);
    if (!why && chosen.content.kind === 'log') {
      inferred ??= chosen;
      failed.push(`${name} holds ${chosen.content.reason}`);
    } else if (!why) {
      const passed = [...noX, ...failed];
      if (passed.length) control.onWarning?.(`${ad.source}: using ${name} (${passed.join('; ')})`);
      return chosen;
    } else failed.push(`${name} ${why}`);
  }
  if (inferred) {
    const name = inferred.reader.name;
    const passed = [...noX, ...failed.filter((f) => !f.startsWith(`${name} `))];
    if (passed.length) control.onWarning?.(`${ad.source}: using ${name} (${passed.join('; ')})`);
    return warnLogScale(inferred, control);
  }
  throw unusable(ad, first!, failed.slice(1));
}

/** Says how a matrix of log-scale values is read, when the values alone decided it. */
function warnLogScale(chosen: ChosenMatrix, control: Control): ChosenMatrix {
  const warning = logScaleWarning(chosen.content, {
    file: chosen.source,
    element: chosen.reader.name,
  });
  if (warning) control.onWarning?.(warning);
  return chosen;
}

/** Why a matrix cannot be fed to scNym, or null when it can. */
function problem(m: ChosenMatrix): string | null {
  const nGenes = m.reader.shape[1];
  if (nGenes < MIN_GENES) return nGenes === 1 ? 'has only 1 gene' : `has ${nGenes} genes`;
  const { kind } = m.content;
  if (kind === 'counts' || kind === 'log1p' || kind === 'log') return null;
  return m.content.kind === 'scaled'
    ? `holds negative values (min ${m.content.min.toPrecision(4)}): it looks scaled`
    : m.content.kind === 'empty'
      ? 'holds only zeros'
      : `holds ${m.content.reason}`;
}

function unusable(ad: AnnData, m: ChosenMatrix, others: string[] = []): ScnymError {
  const tooFewGenes = m.reader.shape[1] < MIN_GENES;
  const needs = tooFewGenes
    ? `scNym needs the expression of at least ${MIN_GENES} genes`
    : 'scNym needs raw counts or log-scale expression (log(x+1) of counts)';
  const also = others.length ? ` (and ${others.join('; ')})` : '';
  return new AnnDataError(`${problem(m)}; ${needs}${also}`, {
    file: ad.source,
    element: m.reader.name,
    hint: tooFewGenes
      ? 'pass the whole gene expression matrix, not a subset of genes or a table of scores'
      : (m.content.hint ??
        "store raw counts in X, layers['counts'] or raw (e.g. adata.layers['counts'] = counts)"),
  });
}

async function describe(ad: AnnData, name: string, input: InputKind): Promise<ChosenMatrix> {
  const reader = await ad.matrix(name);
  const stats = emptyContentStats(input);
  const sampleEnd = Math.min(reader.shape[0], SAMPLE_ROWS);
  for (let s = 0; s < sampleEnd; s += reader.preferredBlockRows) {
    accumulateContentStats(
      stats,
      await reader.rows(s, Math.min(sampleEnd, s + reader.preferredBlockRows)),
    );
  }
  return {
    source: ad.source,
    reader,
    genes: await ad.matrixVarNames(name),
    content: classifyContent(stats, { input }),
  };
}

/**
 * Streams a matrix into log1p(CPM) CSR. CPM uses all of the file's genes (as the user would
 * normalise before scNym); then columns are mapped by `columnMap` (-1 drops a gene) into
 * `nColsOut` columns. Blocks that turn out not to match the sampled content are refused.
 * `rows` limits it to a range of rows (a shard; progress then counts within it), or to chosen
 * rows (ascending: a sample), each block keeping only those and blocks without any not read.
 */
export async function* log1pCpmBlocks(
  m: ChosenMatrix,
  columnMap: Int32Array | null,
  nColsOut: number,
  stage: string,
  control: Control = {},
  rows: RowRange | Int32Array = { start: 0, end: m.reader.shape[0] },
): AsyncGenerator<Csr> {
  const chosen = rows instanceof Int32Array ? rows : null;
  const range = rows instanceof Int32Array ? { start: 0, end: m.reader.shape[0] } : rows;
  checkRange(range, m.reader.shape[0], m.source);
  const step = m.reader.preferredBlockRows;
  let next = 0; // chosen[next]: the first chosen row not read yet
  for (let start = range.start; start < range.end; start += step) {
    throwIfAborted(control.signal);
    const end = Math.min(range.end, start + step);
    let block: Csr | null = null;
    if (!chosen) block = await m.reader.rows(start, end);
    else {
      const from = next;
      while (next < chosen.length && chosen[next] < end) next++;
      if (next > from)
        block = pickRows(await m.reader.rows(start, end), chosen.subarray(from, next));
    }
    if (block) {
      const normalised = normaliseBlock(m, block, start, end);
      yield columnMap ? remapColumns(normalised, columnMap, nColsOut) : normalised;
    }
    const total = range.end - range.start;
    if (chosen && next === chosen.length) {
      control.onProgress?.(stage, total, total);
      return;
    }
    control.onProgress?.(stage, end - range.start, total);
  }
}

/**
 * Every naming of a chosen matrix's genes, for gene search: var_names, then the matrix's string
 * and categorical var columns (feature_name, gene_ids, …), one name per gene ('' where missing).
 * A column that cannot be read is left out.
 */
export async function matrixGeneNamings(
  ad: AnnData,
  m: ChosenMatrix,
): Promise<Record<string, string[]>> {
  const names: Record<string, string[]> = { var_names: m.genes };
  for (const column of await ad.matrixVarColumnNames(m.reader.name).catch(() => [])) {
    const c = await ad.matrixVarColumn(m.reader.name, column).catch(() => null);
    if (c?.kind === 'categorical')
      names[column] = Array.from(c.codes, (k) => c.categories[k] ?? '');
    else if (c?.kind === 'string') names[column] = c.values.map((v) => v ?? '');
  }
  return names;
}

/**
 * log1p(CPM) of rows [start, end) of `m` as read from its reader: what the model sees of them
 * (the same pattern, so a block's stored values and these line up entry by entry).
 */
export function normaliseBlock(m: ChosenMatrix, block: Csr, start: number, end: number): Csr {
  // A block of a count matrix is checked while it is normalised; others are classified first.
  return (
    (m.content.kind === 'counts' ? countsToLog1pCpm(block) : null) ??
    checkedLog1pCpm(m, block, start, end)
  );
}

/** Rows `rows` (of the whole matrix, ascending, all in the block) of a block. */
function pickRows(block: CsrBlock, rows: Int32Array): Csr {
  return takeRows(
    block,
    Int32Array.from(rows, (r) => r - block.rowStart),
  );
}

/** log1p(CPM) of a block that is classified first: refused unless it holds what the matrix does. */
function checkedLog1pCpm(m: ChosenMatrix, block: Csr, start: number, end: number): Csr {
  // Log-scale blocks are checked in the matrix's base (as if it were given): one base's work.
  // log1p(normalised) blocks must still sum to one total (a sample of rows shows it); other log
  // blocks need only be non-negative non-integers in range, which takes no per-row evidence.
  const input = m.content.log ? logName(m.content.log.base) : 'auto';
  const rows = m.content.kind === 'log' ? 0 : BLOCK_ROWS_CHECKED;
  const stats = accumulateContentStats(emptyContentStats(input), block, rows);
  const content = classifyContent(stats, { input });
  const same = content.kind === m.content.kind;
  if (content.kind !== 'empty' && !same) {
    throw new AnnDataError(
      `rows ${start}–${end} are ${content.kind} (${content.reason}) but earlier rows were ${m.content.kind}`,
      {
        file: m.source,
        element: m.reader.name,
        hint: 'the matrix mixes raw and normalised cells; normalise it consistently',
      },
    );
  }
  return toLog1pCpm(block, m.content.kind === 'empty' ? content : m.content, {
    file: m.source,
    element: m.reader.name,
  });
}

/** log1pCpmBlocks gathered into one matrix: all rows, or only `rows` (ascending). */
export async function readLog1pCpm(
  m: ChosenMatrix,
  columnMap: Int32Array | null,
  nColsOut: number,
  stage: string,
  control: Control = {},
  rows?: Int32Array,
): Promise<Csr> {
  const blocks: Csr[] = [];
  for await (const b of log1pCpmBlocks(m, columnMap, nColsOut, stage, control, rows)) {
    if (b.nRows > 0) blocks.push(b);
  }
  if (blocks.length === 0)
    return {
      nRows: 0,
      nCols: nColsOut,
      indptr: new Int32Array(1),
      indices: new Int32Array(0),
      data: new Float32Array(0),
    };
  return concatBlocks(blocks);
}

/** The usual fix when a column given as --label-key cannot hold cell types. */
const LABEL_HINT = 'pass a categorical or string column of cell types (e.g. --label-key cell_type)';

/**
 * A categorical (or string) obs column as codes + names; missing values are -1. `hint` says
 * which column to pass instead (it names the flag) when `key` is not a label column.
 */
export async function readLabels(
  ad: AnnData,
  key: string,
  hint = LABEL_HINT,
): Promise<{ codes: Int32Array; names: string[] }> {
  const where = { file: ad.source, element: `obs/${key}`, hint };
  if (!(await ad.obsColumnNames()).includes(key)) {
    await ad.obsColumn(key); // a missing column: the error lists the columns there are
    throw new AnnDataError(`'${key}' is the obs index (one name per cell), not a column`, where);
  }
  const col = await ad.obsColumn(key);
  if (col.kind === 'categorical') return { codes: col.codes, names: col.categories };
  if (col.kind === 'string') {
    const names = [...new Set(col.values.filter((v): v is string => v !== null))].sort();
    const index = new Map(names.map((n, i) => [n, i]));
    return { codes: Int32Array.from(col.values, (v) => (v === null ? -1 : index.get(v)!)), names };
  }
  throw new AnnDataError(
    `column '${key}' is ${col.kind}; it must be categorical or text to name groups of cells`,
    where,
  );
}

export interface PrepareOptions {
  labelKey: string;
  /** obs column naming each cell's domain (batch, donor, technology) in both files. */
  domainKey?: string;
  /**
   * 'auto' (default: chosen per file), 'X', 'raw/X' or 'layers/<name>', for the reference and
   * the query; `referenceMatrix` / `queryMatrix` override it for one file.
   */
  matrix?: string;
  referenceMatrix?: string;
  queryMatrix?: string;
  /** What the matrices hold (default 'auto': decided per file from its values). */
  input?: InputKind;
  /** Fewest shared genes accepted (default 100, or all of them when there are fewer). */
  minSharedGenes?: number;
  /**
   * Names genes are matched by: 'auto' (default: var_names, or the usual var column that shares
   * the most when var_names share few), 'var_names', or a var column used in each file that has it.
   */
  geneKey?: string;
  /**
   * Query cells labelled by hand (corrections): they join the reference's labelled cells.
   * `rows` are query rows (ascending), `codes[k]` the label of `rows[k]` as an index into
   * `names`; a name the reference lacks becomes a new class.
   */
  queryLabels?: QueryLabels;
}

export interface QueryLabels {
  rows: Int32Array;
  codes: Int32Array;
  names: readonly string[];
}

/** How much of large files training reads (the training options' maxReferenceCells, …). */
export interface Sampling {
  /** Most reference cells to train on (0: all); beyond, a class-balanced subsample. */
  maxReferenceCells: number;
  /** Most query cells in the unlabelled pool (0: all); beyond, a uniform sample. */
  maxQueryCells: number;
  /** Seeds the samples (the training seed: the same seed picks the same cells). */
  seed: number;
  /** Selection / held-out cells read beside a subsample, as fractions of it. */
  selectionFraction: number;
  heldOutFraction: number;
}

export interface PreparedData {
  data: TrainingData;
  /**
   * The file rows read, when a file was sampled (null: all of them): `data.labeled`'s rows are
   * `reference.train ∪ selection ∪ heldOut` in file order, `data.unlabeled`'s are `query`.
   */
  sampled: { reference: ReferenceSample | null; query: Int32Array | null };
  /** Which matrix each file contributed ('X', 'layers/counts', …). */
  referenceMatrix: string;
  queryMatrix: string | null;
  /** Reference cells without a label, left out of training. */
  nUnlabeledReference: number;
  /** The names genes were matched by in each file ('var_names' or a var column). */
  geneKeys: { reference: string; query: string | null };
}

/** Reads reference (labelled) and query (unlabelled) into scNym's training input. */
export async function prepareTraining(
  reference: AnnData,
  query: AnnData | null,
  options: PrepareOptions & { sampling?: Sampling },
  control: Control = {},
): Promise<PreparedData> {
  const labels = await readLabels(reference, options.labelKey);
  const ref = await chooseFor(reference, options.referenceMatrix, options, control);
  checkClasses(reference, options.labelKey, labels, control);
  const qry = query ? await chooseFor(query, options.queryMatrix, options, control) : null;

  const names = await trainingGeneNames(reference, ref, query, qry, options, control);
  const refGenes = names.reference.names;
  let genes = refGenes as string[];
  let refMap: Int32Array | null = null;
  let qryMap: Int32Array | null = null;
  if (names.query) {
    const qryGenes = names.query.names;
    const same =
      qryGenes.length === refGenes.length &&
      refGenes.every((g, i) => g !== null && g === qryGenes[i]);
    if (!same) {
      const inter = intersectGenes(refGenes, qryGenes, 1);
      genes = inter.genes;
      refMap = inter.referenceMap;
      qryMap = inter.queryMap;
      const dropped = refGenes.length - genes.length;
      if (dropped > 0 || qryGenes.length > genes.length) {
        control.onWarning?.(
          `training on the ${genes.length} genes both files share ` +
            `(${dropped} reference-only, ${qryGenes.length - genes.length} query-only genes left out)`,
        );
      }
    }
  } else if (refGenes.includes(null)) {
    // Repeated names in the chosen column: the first gene of each is kept.
    const inter = intersectGenes(refGenes, refGenes, 1);
    genes = inter.genes;
    refMap = inter.referenceMap;
  }

  // Reference cells without a label are skipped by training (their code is -1).
  const nUnlabeledReference = labels.codes.filter((c) => c < 0).length;
  if (nUnlabeledReference > 0) {
    control.onWarning?.(
      `${nUnlabeledReference} reference cells have no '${options.labelKey}' and are left out`,
    );
  }
  const sample = chooseSample(labels.codes, query?.nObs ?? 0, options.sampling);
  if (sample.reference || sample.query) control.onNotice?.(sampleNotice(reference, query, sample));
  const refRows = sample.reference ? referenceRows(sample.reference, reference.nObs) : null;
  const labeled = await readLog1pCpm(
    ref,
    refMap,
    genes.length,
    'reference',
    control,
    refRows?.rows,
  );
  const unlabeled = qry
    ? await readLog1pCpm(qry, qryMap, genes.length, 'query', control, sample.query ?? undefined)
    : null;

  const domains = options.domainKey
    ? await readDomains(reference, query, options.domainKey)
    : undefined;
  const pick = (values: Int32Array | undefined, rows: Int32Array | null | undefined) =>
    values && rows ? Int32Array.from(rows, (r) => values[r]) : values;

  let trainLabels = pick(labels.codes, refRows?.rows)!;
  let classNames = labels.names;
  let labeledDomains = pick(domains?.reference, refRows?.rows);
  let labeledRows = labeled;
  const corrections = options.queryLabels;
  if (qry && query && corrections && corrections.rows.length > 0) {
    // After the reference's rows, so a subsample's reserved rows keep their indices.
    checkQueryLabels(corrections, query);
    const extra = await readLog1pCpm(
      qry,
      qryMap,
      genes.length,
      'corrections',
      control,
      corrections.rows,
    );
    const joined = joinLabels(labels.names, corrections);
    labeledRows = concatBlocks([labeled, extra]);
    trainLabels = concat(trainLabels, joined.codes);
    classNames = joined.names;
    // Domain: the query's (its domain column's, else the 'query' domain of domainNames).
    const queryDomain = domains?.query
      ? Int32Array.from(corrections.rows, (r) => domains.query![r])
      : new Int32Array(corrections.rows.length).fill(1);
    labeledDomains = concat(labeledDomains ?? new Int32Array(labeled.nRows), queryDomain);
  }

  return {
    data: {
      labeled: labeledRows,
      labels: trainLabels,
      classNames,
      unlabeled,
      genes,
      labeledDomains,
      unlabeledDomains: pick(domains?.query, sample.query),
      domainNames: domains?.names ?? (query ? ['reference', 'query'] : ['reference']),
      ...(refRows ? { reserved: refRows.reserved } : {}),
    },
    sampled: sample,
    referenceMatrix: ref.reader.name,
    queryMatrix: qry?.reader.name ?? null,
    nUnlabeledReference,
    geneKeys: { reference: names.reference.key, query: names.query?.key ?? null },
  };
}

/** Hand labels of query rows as codes into the reference's classes, new names appended. */
function joinLabels(
  classes: readonly string[],
  q: QueryLabels,
): { codes: Int32Array; names: string[] } {
  const names = [...classes];
  const index = new Map(names.map((n, i) => [n, i]));
  const recode = q.names.map((n) => {
    if (!index.has(n)) index.set(n, names.push(n) - 1);
    return index.get(n)!;
  });
  return { codes: Int32Array.from(q.codes, (c) => recode[c]), names };
}

function checkQueryLabels(q: QueryLabels, query: AnnData): void {
  const where = { file: query.source, element: 'obs' };
  if (q.codes.length !== q.rows.length) {
    throw new ScnymError(`${q.rows.length} hand-labelled rows but ${q.codes.length} labels`, where);
  }
  for (let k = 0; k < q.rows.length; k++) {
    const r = q.rows[k];
    if (!(r >= 0 && r < query.nObs) || (k > 0 && r <= q.rows[k - 1])) {
      throw new ScnymError(
        `hand-labelled row ${r} (at ${k}) is not an ascending row of the query's ${query.nObs}`,
        where,
      );
    }
    if (!(q.codes[k] >= 0 && q.codes[k] < q.names.length)) {
      throw new ScnymError(`hand label ${q.codes[k]} of row ${r} names no label`, where);
    }
  }
}

function concat(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The cells of large files to train on; all of them (null) when they fit. */
function chooseSample(
  codes: Int32Array,
  nQuery: number,
  sampling: Sampling | undefined,
): PreparedData['sampled'] {
  if (!sampling) return { reference: null, query: null };
  // Its own stream, so that the trainer's (seeded the same) is as without sampling.
  const rng = new Rng(sampling.seed ^ 0x5a3c1e07);
  return {
    reference: sampleReference(
      codes,
      sampling.maxReferenceCells,
      { selection: sampling.selectionFraction, heldOut: sampling.heldOutFraction },
      rng,
    ),
    query: sampleRows(nQuery, sampling.maxQueryCells, rng),
  };
}

/** The reference rows to read, ascending, and where the reserved ones fall among them. */
function referenceRows(sample: ReferenceSample, nObs: number) {
  const role = new Uint8Array(nObs); // 1 train, 2 selection, 3 held out
  for (const r of sample.train) role[r] = 1;
  for (const r of sample.selection) role[r] = 2;
  for (const r of sample.heldOut) role[r] = 3;
  const rows = new Int32Array(
    sample.train.length + sample.selection.length + sample.heldOut.length,
  );
  const selection = new Int32Array(sample.selection.length);
  const heldOut = new Int32Array(sample.heldOut.length);
  let n = 0;
  let s = 0;
  let h = 0;
  for (let r = 0; r < nObs; r++) {
    if (role[r] === 0) continue;
    if (role[r] === 2) selection[s++] = n;
    if (role[r] === 3) heldOut[h++] = n;
    rows[n++] = r;
  }
  return { rows, reserved: { selection, heldOut } };
}

function sampleNotice(
  reference: AnnData,
  query: AnnData | null,
  sample: PreparedData['sampled'],
): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const ref = sample.reference;
  const parts = [
    ref
      ? `training on ${n(ref.train.length)} of ${n(reference.nObs)} reference cells (class-balanced; ` +
        `${n(ref.selection.length)} others for model selection and calibration, ` +
        `${n(ref.heldOut.length)} held out)`
      : `training on all ${n(reference.nObs)} reference cells`,
  ];
  if (query) {
    parts.push(
      sample.query
        ? `${n(sample.query.length)} of ${n(query.nObs)} query cells (a seeded sample)`
        : `all ${n(query.nObs)} query cells`,
    );
  }
  return parts.join(' and ');
}

/** chooseMatrix for one file of two: a matrix named for both that one lacks says so. */
async function chooseFor(
  ad: AnnData,
  own: string | undefined,
  options: Pick<PrepareOptions, 'matrix' | 'input'>,
  control: Control,
): Promise<ChosenMatrix> {
  const both = options.matrix;
  try {
    return await chooseMatrix(ad, own ?? both, control, options.input);
  } catch (err) {
    if (own !== undefined || !(err instanceof NotFoundError) || err.element !== both) throw err;
    throw new NotFoundError(`no matrix '${both}'`, {
      file: ad.source,
      element: both,
      hint:
        `${err.hint}; --matrix applies to the reference and the query: name each file's with ` +
        '--reference-matrix / --query-matrix, or leave them out to choose automatically',
      cause: err,
    });
  }
}

/** The names each file's genes are matched by (genes.ts), checked for enough overlap. */
async function trainingGeneNames(
  reference: AnnData,
  ref: ChosenMatrix,
  query: AnnData | null,
  qry: ChosenMatrix | null,
  options: PrepareOptions,
  control: Control,
): Promise<{ reference: GeneNames; query: GeneNames | null }> {
  const refSource = datasetGenes('reference', reference, ref.reader.name);
  if (!query || !qry) {
    const choice = options.geneKey ?? AUTO_GENE_KEY;
    const key = choice === AUTO_GENE_KEY ? VAR_NAMES : await refSource.keyFor(choice);
    if (key === undefined) {
      throw new NotFoundError(`no var column '${choice}'`, {
        file: reference.source,
        element: ref.reader.name === 'raw/X' ? 'raw/var' : 'var',
        hint: `available columns: ${(await refSource.columns()).join(', ') || 'none'}; or var_names`,
      });
    }
    const names = await refSource.names(key);
    warnDuplicates(names, control);
    return { reference: names, query: null };
  }
  const minShared = options.minSharedGenes ?? Math.min(100, ref.genes.length, qry.genes.length);
  const match = await matchGenes(
    refSource,
    datasetGenes('query', query, qry.reader.name),
    { geneKey: options.geneKey, minShared: Math.max(1, minShared) },
    control,
  );
  return { reference: match.a, query: match.b };
}

function checkClasses(
  ad: AnnData,
  key: string,
  labels: { codes: Int32Array; names: string[] },
  control: Control,
) {
  const where = { file: ad.source, element: `obs/${key}` };
  const hint = 'pass the column holding the cell types (e.g. --label-key cell_type)';
  const counts = new Array<number>(labels.names.length).fill(0);
  for (const c of labels.codes) if (c >= 0) counts[c]++;
  const present = labels.names.filter((_, i) => counts[i] > 0);
  if (present.length < 2) {
    throw new AnnDataError(
      present.length === 0
        ? `column '${key}' has no labels`
        : `column '${key}' has only one class ('${present[0]}'); scNym needs at least two`,
      { ...where, hint },
    );
  }
  // A class per cell (cell names, barcodes, counts): nothing to learn, and a huge output layer.
  const nLabelled = counts.reduce((a, b) => a + b, 0);
  const singletons = counts.filter((n) => n === 1);
  if (singletons.length > nLabelled / 2) {
    throw new AnnDataError(
      `column '${key}' has ${present.length} classes for ${nLabelled} cells ` +
        `(${singletons.length} cells are the only one of their class): ` +
        'it names cells, not cell types',
      { ...where, hint },
    );
  }
  if (singletons.length > 0) {
    const examples = labels.names.filter((_, i) => counts[i] === 1).slice(0, 5);
    control.onWarning?.(
      `${ad.source}: ${singletons.length} classes of '${key}' have a single cell ` +
        `(${examples.join(', ')}${singletons.length > examples.length ? ', …' : ''}); ` +
        'scNym can hardly learn them',
    );
  }
  // 'Unknown' is what prediction writes for cells below the confidence threshold.
  if (present.includes(UNKNOWN_LABEL)) {
    throw new AnnDataError(
      `column '${key}' has a class named '${UNKNOWN_LABEL}', the label scNym gives cells it ` +
        'is not confident about: the two could not be told apart in the predictions',
      {
        ...where,
        hint:
          `rename the class (adata.obs['${key}'] = adata.obs['${key}'].cat.rename_categories(` +
          `{'${UNKNOWN_LABEL}': 'unassigned'})), or set those cells to NaN to leave them out of training`,
      },
    );
  }
}

/**
 * Domain codes over both files from one obs column; names sorted as the original does
 * (pd.Categorical over the concatenation). A query without the column is one domain of its own.
 */
async function readDomains(reference: AnnData, query: AnnData | null, key: string) {
  const hint =
    "pass a categorical or string column naming each cell's batch or donor (e.g. --domain-key " +
    `batch); to use integer codes, convert them: adata.obs['${key}'] = ` +
    `adata.obs['${key}'].astype(str).astype('category')`;
  const ref = await readLabels(reference, key, hint);
  let qry: { codes: Int32Array; names: string[] } | null = null;
  if (query) {
    qry = (await query.obsColumnNames()).includes(key)
      ? await readLabels(query, key, hint)
      : { codes: new Int32Array(query.nObs), names: ['query'] };
  }
  const names = [...new Set([...ref.names, ...(qry?.names ?? [])])].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const recode = (l: { codes: Int32Array; names: string[] }, file: string) =>
    Int32Array.from(l.codes, (c, i) => {
      if (c < 0) {
        throw new AnnDataError(`cell ${i} has no domain in '${key}'`, {
          file,
          element: `obs/${key}`,
          hint: 'fill in the missing domains or choose another --domain-key',
        });
      }
      return index.get(l.names[c])!;
    });
  return {
    names,
    reference: recode(ref, reference.source),
    query: qry && query ? recode(qry, query.source) : undefined,
  };
}

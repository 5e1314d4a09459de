/**
 * Which gene names two gene lists are matched by: a reference and a query at training, or a
 * model's genes and a query at prediction. var_names by default; a var column when the user
 * names one (--gene-key) or, automatically, when var_names share few genes and one of the usual
 * columns (CELLxGENE's feature_name, scanpy's gene_ids, …) shares more. Names are never matched
 * loosely: when too few match, one error names both files, their names and why they differ
 * (Ensembl IDs against symbols, letter case as in mouse Cd4 / human CD4, Ensembl versions).
 */
import { NotFoundError, ScnymError } from './errors.js';
import type { AnnData, ObsColumn } from './anndata/types.js';
import { minSharedGenes } from './preprocess.js';

/** The dataframe index: the default key. */
export const VAR_NAMES = 'var_names';
/** Let scNym choose (var_names unless a usual column matches much better). */
export const AUTO_GENE_KEY = 'auto';

/**
 * var columns that usually hold gene names, tried when var_names match poorly (in this order;
 * compared ignoring case): CELLxGENE, scanpy's read_10x_* and common conventions.
 */
export const GENE_NAME_COLUMNS = [
  'feature_name',
  'gene_symbols',
  'gene_symbol',
  'gene_name',
  'gene_names',
  'symbol',
  'symbols',
  'gene_ids',
  'gene_id',
  'ensembl_id',
  'ensembl_ids',
  'ensembl',
  'feature_id',
];

/** Gene names of a matrix's columns under one key. */
export interface GeneNames {
  /** 'var_names' or the var column. */
  key: string;
  /** For messages: "var['feature_name']", "var_names", "raw.var['gene_ids']". */
  where: string;
  /** For messages: "reference var['feature_name']", "query var_names", "the model's genes". */
  label: string;
  /** One name per matrix column; null where it has none or repeats an earlier column's name. */
  names: (string | null)[];
  /** Columns left out because an earlier column has the same name. */
  nDuplicates: number;
  duplicateExamples: string[];
}

/** One side of a match: a dataset's matrix (any of its var columns) or a model (fixed genes). */
export interface GeneSource {
  /** 'reference', 'query', 'model'. */
  readonly role: string;
  /** The file, for messages ('' for a model). */
  readonly file: string;
  readonly defaultKey: string;
  /** Keys tried automatically, default first. */
  candidates(): Promise<string[]>;
  /** The key an explicit --gene-key choice gives this side (undefined: it keeps its default). */
  keyFor(choice: string): Promise<string | undefined>;
  names(key: string): Promise<GeneNames>;
  /** The var columns it has, for hints ([] for a model). */
  columns(): Promise<string[]>;
}

/** A dataset's matrix ('X', 'raw/X', 'layers/…'); `extraKeys` are tried after the usual columns. */
export function datasetGenes(
  role: string,
  ad: AnnData,
  matrix: string,
  extraKeys: readonly string[] = [],
): GeneSource {
  const frame = matrix === 'raw/X' ? 'raw.var' : 'var';
  const cache = new Map<string, Promise<GeneNames>>();
  const columns = () => ad.matrixVarColumnNames(matrix);
  const read = async (key: string): Promise<GeneNames> => {
    const where = key === VAR_NAMES ? `${frame}_names` : `${frame}['${key}']`;
    const values =
      key === VAR_NAMES
        ? await ad.matrixVarNames(matrix)
        : columnNames(await ad.matrixVarColumn(matrix, key), {
            file: ad.source,
            element: `${frame.replace('.', '/')}/${key}`,
          });
    return firstOfEach(key, where, `${role} ${where}`, values);
  };
  return {
    role,
    file: ad.source,
    defaultKey: VAR_NAMES,
    async candidates() {
      const have = await columns();
      const lower = new Map(have.map((c) => [c.toLowerCase(), c]));
      const keys = [VAR_NAMES];
      for (const wanted of [...GENE_NAME_COLUMNS, ...extraKeys]) {
        const c = lower.get(wanted.toLowerCase());
        if (c !== undefined && !keys.includes(c)) keys.push(c);
      }
      return keys;
    },
    async keyFor(choice) {
      if (choice === VAR_NAMES) return VAR_NAMES;
      return (await columns()).includes(choice) ? choice : undefined;
    },
    names(key) {
      let p = cache.get(key);
      if (!p) {
        p = read(key);
        cache.set(key, p);
      }
      return p;
    },
    columns,
  };
}

/**
 * A model's genes; `trainedOn` says which names they were at training, `file` where the model
 * was loaded from (both for messages).
 */
export function modelGenes(genes: readonly string[], trainedOn?: string, file = ''): GeneSource {
  const key = 'model';
  const at = trainedOn ? ` (${trainedOn} at training)` : '';
  const names = firstOfEach(key, `genes${at}`, `the model's genes${at}`, genes);
  return {
    role: 'model',
    file,
    defaultKey: key,
    candidates: async () => [key],
    keyFor: async () => undefined,
    names: async () => names,
    columns: async () => [],
  };
}

/** A column's values as gene names: strings, categories, or integer IDs (e.g. Entrez). */
function columnNames(col: ObsColumn, where: { file: string; element: string }): (string | null)[] {
  if (col.kind === 'categorical') {
    return Array.from(col.codes, (c) => (c < 0 ? null : col.categories[c]));
  }
  if (col.kind === 'string') return col.values;
  if (col.kind === 'numeric' && col.values.every((v) => Number.isNaN(v) || Number.isInteger(v))) {
    return Array.from(col.values, (v, i) => (Number.isNaN(v) || col.mask?.[i] ? null : String(v)));
  }
  throw new ScnymError(`is a ${col.kind} column, not gene names`, {
    ...where,
    hint: 'choose a var column of gene symbols or IDs (e.g. --gene-key feature_name), or var_names',
  });
}

/** Names with empty ones and later repeats set to null: the first column of each name is used. */
function firstOfEach(
  key: string,
  where: string,
  label: string,
  values: readonly (string | null)[],
): GeneNames {
  const seen = new Set<string>();
  const names = new Array<string | null>(values.length);
  let nDuplicates = 0;
  const duplicateExamples: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === '') {
      names[i] = null;
    } else if (seen.has(v)) {
      names[i] = null;
      nDuplicates++;
      if (duplicateExamples.length < 3 && !duplicateExamples.includes(v)) duplicateExamples.push(v);
    } else {
      seen.add(v);
      names[i] = v;
    }
  }
  return { key, where, label, names, nDuplicates, duplicateExamples };
}

export interface GeneMatchOptions {
  /** 'auto' (default), 'var_names', or a var column used on each side that has it. */
  geneKey?: string;
  /** Fewest shared genes accepted. */
  minShared: number;
}

export interface GeneMatch {
  a: GeneNames;
  b: GeneNames;
  nShared: number;
  /** A var column was chosen over var_names without being asked for. */
  automatic: boolean;
}

/**
 * Chooses the names to match `a` and `b` by, and checks that they share enough genes. What was
 * matched (when not var_names on both sides) and repeated names are reported through onWarning.
 */
export async function matchGenes(
  a: GeneSource,
  b: GeneSource,
  options: GeneMatchOptions,
  control: { onWarning?: (message: string) => void } = {},
): Promise<GeneMatch> {
  const choice = options.geneKey ?? AUTO_GENE_KEY;
  let pairs: [string, string][];
  if (choice === AUTO_GENE_KEY || choice === VAR_NAMES) {
    pairs = [[a.defaultKey, b.defaultKey]];
  } else {
    const ka = await a.keyFor(choice);
    const kb = await b.keyFor(choice);
    if (ka === undefined && kb === undefined) throw await missingKey(choice, a, b);
    pairs = [[ka ?? a.defaultKey, kb ?? b.defaultKey]];
  }
  let best = await overlap(a, b, pairs[0]);
  let automatic = false;
  if (choice === AUTO_GENE_KEY && poor(best, options.minShared)) {
    // var_names match poorly: try every pairing of the usual columns, keep the largest overlap
    // (the earlier pairing on ties, so var_names win when nothing does better).
    const ca = await a.candidates();
    const cb = await b.candidates();
    pairs = ca.flatMap((ka) => cb.map((kb): [string, string] => [ka, kb]));
    for (const pair of pairs.slice(1)) {
      const o = await overlap(a, b, pair, true);
      if (o && o.nShared > best.nShared) {
        best = o;
        automatic = true;
      }
    }
  }
  const reasons = poor(best, options.minShared) ? mismatchReasons(best.a, best.b) : [];
  // Too few shared genes, or far fewer than a case or version difference hides: refuse.
  if (best.nShared < options.minShared || reasons.some((r) => r.refuse)) {
    throw mismatchError(a, b, best, options.minShared, pairs, reasons, await hintColumns(a, b));
  }
  for (const side of [best.a, best.b]) warnDuplicates(side, control);
  if (best.a.key !== a.defaultKey || best.b.key !== b.defaultKey) {
    control.onWarning?.(
      a.role === 'model'
        ? `matched ${best.a.label} to ${best.b.label}: ${count(best.nShared)} of ${count(named(best.a))}`
        : `matched genes by ${best.a.label} ↔ ${best.b.label}: ${count(best.nShared)} shared`,
    );
  }
  return { ...best, automatic };
}

/** Tells the user that repeated names were left out (only the first gene of each is used). */
export function warnDuplicates(n: GeneNames, control: { onWarning?: (message: string) => void }) {
  if (n.nDuplicates === 0) return;
  control.onWarning?.(
    `${n.label} repeats ${count(n.nDuplicates)} name${n.nDuplicates > 1 ? 's' : ''} ` +
      `(e.g. ${n.duplicateExamples.join(', ')}): the first gene of each name is used, ` +
      'the others are left out',
  );
}

interface Overlap {
  a: GeneNames;
  b: GeneNames;
  nShared: number;
}

/** Shared names of one pairing; with `lenient`, a column that is not gene names gives null. */
async function overlap(a: GeneSource, b: GeneSource, pair: [string, string]): Promise<Overlap>;
async function overlap(
  a: GeneSource,
  b: GeneSource,
  pair: [string, string],
  lenient: true,
): Promise<Overlap | null>;
async function overlap(
  a: GeneSource,
  b: GeneSource,
  [ka, kb]: [string, string],
  lenient = false,
): Promise<Overlap | null> {
  let na: GeneNames;
  let nb: GeneNames;
  try {
    na = await a.names(ka);
    nb = await b.names(kb);
  } catch (err) {
    if (lenient && err instanceof ScnymError) return null;
    throw err;
  }
  return { a: na, b: nb, nShared: countShared(na.names, nb.names, (s) => s) };
}

function countShared(
  a: readonly (string | null)[],
  b: readonly (string | null)[],
  norm: (s: string) => string,
): number {
  const set = new Set<string>();
  for (const n of a) if (n !== null) set.add(norm(n));
  let shared = 0;
  const counted = new Set<string>();
  for (const n of b) {
    if (n === null) continue;
    const k = norm(n);
    if (set.has(k) && !counted.has(k)) {
      counted.add(k);
      shared++;
    }
  }
  return shared;
}

function named(n: GeneNames): number {
  let k = 0;
  for (const v of n.names) if (v !== null) k++;
  return k;
}

/** Too few shared genes, or less than half of the smaller gene list. */
function poor(o: Overlap, minShared: number): boolean {
  return o.nShared < minShared || o.nShared < 0.5 * Math.min(named(o.a), named(o.b));
}

// ---------------------------------------------------------------------------------------------
// Why names do not match

const ENSEMBL = /^ENS[A-Z]*G\d{6,}(\.\d+)?$/;
const VERSION = /\.\d+$/;

export type NameKind = 'ensembl' | 'numeric' | 'symbols';

/** What a gene list holds (by the majority of its names) and a few examples. */
export function describeNames(names: readonly (string | null)[]): {
  kind: NameKind;
  count: number;
  examples: string[];
} {
  let n = 0;
  let ensembl = 0;
  let numeric = 0;
  const examples: string[] = [];
  for (const v of names) {
    if (v === null) continue;
    n++;
    if (ENSEMBL.test(v)) ensembl++;
    else if (/^\d+$/.test(v)) numeric++;
    if (examples.length < 3) examples.push(v);
  }
  const kind = ensembl * 2 > n ? 'ensembl' : numeric * 2 > n ? 'numeric' : 'symbols';
  return { kind, count: n, examples };
}

const KIND_WORDS: Record<NameKind, string> = {
  ensembl: 'Ensembl IDs',
  numeric: 'numeric IDs',
  symbols: 'gene symbols',
};

interface Reason {
  /** One line for the error. */
  text: string;
  hint: string;
  /** Refuse even when enough genes are shared: the difference hides most of the matches. */
  refuse: boolean;
}

/** Ensembl against symbols, case-only and version-only differences between two gene lists. */
export function mismatchReasons(a: GeneNames, b: GeneNames): Reason[] {
  const reasons: Reason[] = [];
  const da = describeNames(a.names);
  const db = describeNames(b.names);
  const exact = countShared(a.names, b.names, (s) => s);
  if ((da.kind === 'ensembl') !== (db.kind === 'ensembl')) {
    const [ids, symbols] = da.kind === 'ensembl' ? [a, b] : [b, a];
    reasons.push({
      text:
        `${ids.label} are Ensembl IDs and ${symbols.label} are ${KIND_WORDS[da.kind === 'ensembl' ? db.kind : da.kind]}, ` +
        `and no var column bridges them (looked for ${GENE_NAME_COLUMNS.slice(0, 3).join(', ')}, …)`,
      hint:
        (a.key === 'model'
          ? "give the query a var column of the model's kind of names, or train the model on names " +
            'the query has (e.g. --gene-key feature_name with a CELLxGENE reference)'
          : "give one file a var column with the other's kind of names (CELLxGENE keeps symbols in " +
            "var['feature_name'])") +
        '; Ensembl IDs and symbols come from the same GTF or from biomart. scNym finds the usual ' +
        'columns; --gene-key COLUMN names another',
      refuse: false,
    });
  }
  const caseOnly = countShared(a.names, b.names, (s) => s.toUpperCase()) - exact;
  if (caseOnly > exact) {
    reasons.push({
      text: `${count(caseOnly)} genes differ only in letter case (e.g. ${pairs(a, b, (s) => s.toUpperCase()).join(', ')})`,
      hint:
        'mouse genes are written like Cd4 and human ones like CD4: if the files are of two species, map ' +
        'orthologues first (e.g. with biomart); if not, make the case agree in Python, e.g. ' +
        'adata.var_names = adata.var_names.str.upper(). scNym does not match names ignoring case',
      refuse: true,
    });
  }
  if (da.kind === 'ensembl' && db.kind === 'ensembl') {
    const strip = (s: string) => s.replace(VERSION, '');
    const versionOnly = countShared(a.names, b.names, strip) - exact;
    if (versionOnly > exact) {
      reasons.push({
        text: `${count(versionOnly)} Ensembl IDs differ only in their version suffix (e.g. ${pairs(a, b, strip).join(', ')})`,
        hint: "drop the versions in Python in the file that has them: adata.var_names = adata.var_names.str.replace(r'\\.\\d+$', '', regex=True)",
        refuse: true,
      });
    }
  }
  return reasons;
}

/** Up to 3 "a ↔ b" pairs whose names are equal under `norm` but not as written. */
function pairs(a: GeneNames, b: GeneNames, norm: (s: string) => string): string[] {
  const byNorm = new Map<string, string>();
  for (const n of a.names) if (n !== null && !byNorm.has(norm(n))) byNorm.set(norm(n), n);
  const out: string[] = [];
  for (const n of b.names) {
    if (n === null) continue;
    const m = byNorm.get(norm(n));
    if (m !== undefined && m !== n) out.push(`${m} ↔ ${n}`);
    if (out.length === 3) break;
  }
  return out;
}

function mismatchError(
  a: GeneSource,
  b: GeneSource,
  best: Overlap,
  minShared: number,
  tried: [string, string][],
  reasons: Reason[],
  columns: string,
): ScnymError {
  const side = (src: GeneSource, n: GeneNames) => {
    const d = describeNames(n.names);
    const where = src.file ? `${src.role} ${src.file}, ${n.where}` : n.label;
    return `  ${where}: ${count(d.count)} ${KIND_WORDS[d.kind]} (${d.examples.join(', ')}, …)`;
  };
  const need =
    best.nShared < minShared
      ? `need ≥ ${count(minShared)}`
      : `of ${count(named(best.a))} and ${count(named(best.b))}`;
  const headline =
    a.role === 'model'
      ? `only ${count(best.nShared)} of the model's ${count(named(best.a))} genes are in the data (${need})`
      : `${a.role} and ${b.role} share ${best.nShared < minShared ? '' : 'only '}${count(best.nShared)} genes (${need})`;
  const triedKeys = (i: 0 | 1) => [...new Set(tried.map((p) => p[i]))].join(', ');
  const lines = [headline, side(a, best.a), side(b, best.b), ...reasons.map((r) => `  ${r.text}`)];
  if (tried.length > 1) {
    lines.push(`  names tried: ${a.role} ${triedKeys(0)}; ${b.role} ${triedKeys(1)}`);
  }
  const hint =
    reasons.find((r) => r.refuse)?.hint ??
    reasons[0]?.hint ??
    `check that both files use the same gene naming, or pass --gene-key COLUMN naming a var column ` +
      `that holds the same kind of names in both${columns}`;
  return new ScnymError(lines.join('\n'), { hint, code: 'no-shared-genes' });
}

async function hintColumns(a: GeneSource, b: GeneSource): Promise<string> {
  const parts: string[] = [];
  for (const s of [a, b]) {
    const cols = await s.columns();
    if (s.role !== 'model') parts.push(`${s.role}: ${cols.join(', ') || 'none'}`);
  }
  return parts.length ? ` (var columns of ${parts.join('; ')})` : '';
}

async function missingKey(key: string, a: GeneSource, b: GeneSource): Promise<ScnymError> {
  const files = [a, b].filter((s) => s.file);
  const which =
    files.length === 2
      ? `neither ${a.role} ${a.file} nor ${b.role} ${b.file} has a var column '${key}'`
      : `${files.map((s) => `${s.role} ${s.file}`).join('')} has no var column '${key}'`;
  return new NotFoundError(which, {
    hint: `choose one of their var columns${await hintColumns(a, b)}, var_names, or auto`,
  });
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The part of a model card that says which names its genes were at training. */
export interface GeneKeyCard {
  provenance?: { [key: string]: unknown };
}

/**
 * A query's gene names (one per column of `matrix`, null = unused) matched to a model's genes:
 * by `geneKey`, else automatically, trying also the columns the model was trained on.
 */
export async function queryGeneNames(
  model: { genes: readonly string[]; card?: GeneKeyCard; source?: string },
  query: AnnData,
  matrix: string,
  geneKey: string | undefined,
  control: { onWarning?: (message: string) => void } = {},
  role = 'query',
): Promise<(string | null)[]> {
  const trained = trainedKeys(model.card);
  const match = await matchGenes(
    modelGenes(model.genes, trained.description, model.source),
    datasetGenes(role, query, matrix, trained.keys),
    { geneKey, minShared: minSharedGenes(model.genes.length) },
    control,
  );
  return match.b.names;
}

function trainedKeys(card: GeneKeyCard | undefined): { keys: string[]; description?: string } {
  const keyOf = (p: unknown) => {
    const k = (p as { geneKey?: unknown } | null | undefined)?.geneKey;
    return typeof k === 'string' ? k : undefined;
  };
  const ref = keyOf(card?.provenance?.['reference']);
  const qry = keyOf(card?.provenance?.['query']);
  const keys = [ref, qry].filter((k): k is string => k !== undefined && k !== VAR_NAMES);
  const description =
    ref === undefined
      ? undefined
      : ref === VAR_NAMES
        ? 'reference var_names'
        : `reference var['${ref}']`;
  return { keys, description };
}

/**
 * What a file holds, in the stable JSON shape `scnym inspect --json` prints (schema
 * 'scnym.inspect/1'; fields are only ever added, never renamed or removed).
 */
import { AnnDataError, throwIfAborted } from './errors.js';
import type { AnnData, MatrixReader } from './anndata/types.js';
import {
  accumulateContentStats,
  classifyContent,
  emptyContentStats,
  type ContentStats,
  type MatrixContent,
} from './preprocess.js';

export interface MatrixSummary {
  name: string;
  encoding: 'csr' | 'csc' | 'dense';
  dtype: string;
  shape: [number, number];
  nnz: number;
  density: number;
  min: number;
  max: number;
  content: MatrixContent;
  /** Why `content` was chosen, in words. */
  contentReason: string;
}

export interface InspectReport {
  schema: 'scnym.inspect/1';
  file: string;
  format: 'zarr' | 'h5ad';
  zarrFormat: 2 | 3 | null;
  encodingVersion: string | null;
  nObs: number;
  nVars: number;
  X: MatrixSummary | null;
  obs: ColumnSummary[];
  obsm: { key: string; shape: number[] }[];
  layers: MatrixSummary[];
  raw: MatrixSummary | null;
  uns: string[];
  warnings: string[];
}

export interface ColumnSummary {
  name: string;
  kind: 'categorical' | 'numeric' | 'bool' | 'string';
  dtype: string;
  /** Categorical columns: cells per category, in category order. */
  categories?: Record<string, number>;
  /** Number of missing values (categorical code -1, masked, or NaN). */
  missing: number;
}

/** Streams a matrix in row blocks and gathers the statistics that decide what it holds. */
export async function matrixStats(
  m: MatrixReader,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<ContentStats> {
  const stats = emptyContentStats();
  const [nRows] = m.shape;
  for (let start = 0; start < nRows; start += m.preferredBlockRows) {
    throwIfAborted(signal);
    const end = Math.min(nRows, start + m.preferredBlockRows);
    accumulateContentStats(stats, await m.rows(start, end));
    onProgress?.(end, nRows);
  }
  return stats;
}

async function summarizeMatrix(
  m: MatrixReader,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<MatrixSummary> {
  const s = await matrixStats(m, onProgress, signal);
  const content = classifyContent(s);
  const cells = m.shape[0] * m.shape[1];
  return {
    name: m.name,
    encoding: m.encoding,
    dtype: m.dtype,
    shape: m.shape,
    nnz: s.nnz,
    density: cells === 0 ? 0 : s.nnz / cells,
    min: content.min,
    max: content.max,
    content: content.kind,
    contentReason: content.reason,
  };
}

export interface InspectOptions {
  onProgress?: (stage: string, done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function inspect(ad: AnnData, options: InspectOptions = {}): Promise<InspectReport> {
  const progress = (stage: string) => (done: number, total: number) =>
    options.onProgress?.(stage, done, total);
  const obs: ColumnSummary[] = [];
  for (const name of await ad.obsColumnNames()) obs.push(await summarizeColumn(ad, name));
  const obsm = [];
  for (const key of await ad.obsmKeys()) obsm.push({ key, shape: await ad.obsmShape(key) });
  const hasX = await ad.matrix('X').then(
    () => true,
    () => false,
  );
  const X = hasX
    ? await summarizeMatrix(await ad.matrix('X'), progress('X'), options.signal)
    : null;
  const layers = [];
  for (const name of await ad.layerNames()) {
    layers.push(
      await summarizeMatrix(
        await ad.matrix(`layers/${name}`),
        progress(`layers/${name}`),
        options.signal,
      ),
    );
  }
  const raw = (await ad.hasRaw())
    ? await summarizeMatrix(await ad.matrix('raw/X'), progress('raw/X'), options.signal)
    : null;
  const warnings = [...ad.warnings];
  if (X?.content === 'scaled') {
    const others = [...layers, ...(raw ? [raw] : [])];
    // As chooseMatrix prefers them: counts or log1p(normalised) first, then other log scales.
    const alternative =
      others.find((m) => m.content === 'counts' || m.content === 'log1p') ??
      others.find((m) => m.content === 'log');
    const problem = `X holds negative values (min ${X.min.toPrecision(4)}): it looks scaled, e.g. by sc.pp.scale`;
    if (!alternative) {
      throw new AnnDataError(problem, {
        file: ad.source,
        element: 'X',
        hint: 'scNym needs raw counts or log-scale expression: save the unscaled data in X, layers["counts"] or raw',
      });
    }
    warnings.push(
      `${problem}; scNym will use ${alternative.name} (${alternative.content}) instead`,
    );
  }
  return {
    schema: 'scnym.inspect/1',
    file: ad.source,
    format: ad.format,
    zarrFormat: ad.zarrFormat ?? null,
    encodingVersion:
      typeof ad.rootAttrs['encoding-version'] === 'string'
        ? ad.rootAttrs['encoding-version']
        : null,
    nObs: ad.nObs,
    nVars: ad.nVars,
    X,
    obs,
    obsm,
    layers,
    raw,
    uns: await ad.unsKeys(),
    warnings,
  };
}

async function summarizeColumn(ad: AnnData, name: string): Promise<ColumnSummary> {
  const info = await ad.obsColumnInfo(name);
  const col = await ad.obsColumn(name);
  const out: ColumnSummary = { name, kind: col.kind, dtype: info.dtype, missing: 0 };
  if (col.kind === 'categorical') {
    const counts = new Array<number>(col.categories.length).fill(0);
    for (const c of col.codes) {
      if (c < 0) out.missing++;
      else counts[c]++;
    }
    out.categories = Object.fromEntries(col.categories.map((c, i) => [c, counts[i]]));
  } else if (col.kind === 'string') {
    out.missing = col.values.filter((v) => v === null).length;
  } else if (col.mask) {
    out.missing = col.mask.reduce((a, b) => a + b, 0);
  } else if (col.kind === 'numeric') {
    out.missing = col.values.filter((v) => Number.isNaN(v)).length;
  }
  return out;
}

/**
 * Seeded synthetic single-cell data for scale runs: N cells × G genes of negative-binomial-like
 * counts, log1p(CPM)-normalised, built row by row straight into CSR.
 *
 * - Gene base rates are heavy-tailed (Gamma(0.3) shares), so most genes are rarely detected.
 * - Library sizes are log-normal per cell (median `libraryMedian`, log-sd 0.5).
 * - Each of `nTypes` cell types has `markersPerType` marker genes at 8× the base rate.
 * - Domain 1 (the second half of the cells) multiplies every gene's rate by a gene-wise factor
 *   exp(0.5·z): a batch effect that leaves the markers in place.
 * - Counts are Poisson(λ·g) with g ~ Gamma(2)/2 (NB dispersion 2) where λ ≥ 0.05, plain Poisson
 *   below (the Gamma draw is the costly part and changes little there).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DType } from '../../core/src/anndata/hierarchy.js';
import type { AnnData, MatrixReader } from '../../core/src/anndata/types.js';
import { encodeVlenUtf8, ENCODERS } from '../../core/src/anndata/zarr/encode.js';
import { v2ArrayDoc } from '../../core/src/anndata/zarr/new-metadata.js';
import type { Csr } from '../../core/src/csr.js';
import { log1pCpm } from '../../core/src/preprocess.js';
import { Rng } from '../../core/src/random.js';

export interface SyntheticOptions {
  nCells: number;
  nGenes: number;
  nTypes?: number;
  markersPerType?: number;
  libraryMedian?: number;
  seed?: number;
}

export interface SyntheticData {
  x: Csr;
  labels: Int32Array;
  domains: Int32Array;
  genes: string[];
  classNames: string[];
}

export function syntheticCells(options: SyntheticOptions): SyntheticData {
  const { nCells, nGenes } = options;
  const nTypes = options.nTypes ?? 6;
  const markersPerType = options.markersPerType ?? 20;
  const libraryMedian = options.libraryMedian ?? 400;
  const rng = new Rng(options.seed ?? 0);

  const share = new Float64Array(nGenes);
  let total = 0;
  for (let g = 0; g < nGenes; g++) total += share[g] = rng.gamma(0.3) + 1e-6;
  for (let g = 0; g < nGenes; g++) share[g] /= total;
  const shift = Float64Array.from({ length: nGenes }, () => Math.exp(0.5 * rng.normal()));
  const markerOf = new Int32Array(nGenes).fill(-1);
  for (let t = 0; t < nTypes; t++) {
    for (let m = 0; m < markersPerType; m++) markerOf[rng.int(nGenes)] = t;
  }

  const labels = new Int32Array(nCells);
  const domains = new Int32Array(nCells);
  const indptr = new Int32Array(nCells + 1);
  let indices = new Int32Array(Math.max(16, nCells * 64));
  let data = new Float32Array(indices.length);
  let nnz = 0;
  for (let c = 0; c < nCells; c++) {
    const type = rng.int(nTypes);
    const domain = c < nCells / 2 ? 0 : 1;
    labels[c] = type;
    domains[c] = domain;
    const library = libraryMedian * Math.exp(0.5 * rng.normal());
    for (let g = 0; g < nGenes; g++) {
      let lambda = library * share[g] * (markerOf[g] === type ? 8 : 1);
      if (domain === 1) lambda *= shift[g];
      if (lambda >= 0.05) lambda *= rng.gamma(2) / 2;
      const count = poisson(lambda, rng);
      if (count === 0) continue;
      if (nnz === indices.length) {
        const grown = new Int32Array(indices.length * 2);
        grown.set(indices);
        indices = grown;
        const grownData = new Float32Array(grown.length);
        grownData.set(data);
        data = grownData;
      }
      indices[nnz] = g;
      data[nnz] = count;
      nnz++;
    }
    indptr[c + 1] = nnz;
  }
  const counts: Csr = {
    nRows: nCells,
    nCols: nGenes,
    indptr,
    indices: indices.slice(0, nnz),
    data: data.slice(0, nnz),
  };
  return {
    x: log1pCpm(counts),
    labels,
    domains,
    genes: Array.from({ length: nGenes }, (_, g) => `gene${g}`),
    classNames: Array.from({ length: nTypes }, (_, t) => `type${t}`),
  };
}

/** Inversion sampling (one uniform); fine for the small rates single-cell counts have. */
function poisson(lambda: number, rng: Rng): number {
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * rng.normal()));
  const u = rng.uniform();
  let p = Math.exp(-lambda);
  let cdf = p;
  let k = 0;
  while (u > cdf && k < 200) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

// ---------------------------------------------------------------------------------------------
// Streaming: cells generated on demand, for prediction at scale (1M × 20k never exists whole).

export interface StreamOptions {
  nCells: number;
  nGenes: number;
  nTypes?: number;
  markersPerType?: number;
  /** Median UMIs per cell (log-normal, log-sd 0.5). Default 2,000 (≈1,500 genes of 20k). */
  libraryMedian?: number;
  seed?: number;
}

/**
 * Raw counts generated on demand, the same for a cell whatever block it is read in (each cell
 * has its own seeded generator). A cell draws its library size L (log-normal), then L UMIs from
 * its type's and domain's gene distribution (heavy-tailed Gamma(0.3) base shares, markers at 8×,
 * domain 1 shifted gene-wise by exp(0.5·z)) with Walker's alias method: O(L) per cell, not
 * O(genes). At 20k genes and the default median of 2,000 UMIs a cell has ≈1,500 non-zeros.
 */
export class SyntheticCounts {
  readonly nCells: number;
  readonly nGenes: number;
  readonly genes: string[];
  readonly classNames: string[];
  /** Seconds spent generating rows so far (to tell generation from prediction in timings). */
  seconds = 0;
  private readonly nTypes: number;
  private readonly libraryMedian: number;
  private readonly seed: number;
  /** Alias tables per (domain, type): acceptance probability and alias of each gene. */
  private readonly accept: Float32Array[] = [];
  private readonly alias: Int32Array[] = [];
  private readonly counts: Int32Array;
  private touched: Int32Array;

  constructor(options: StreamOptions) {
    const { nCells, nGenes } = options;
    this.nCells = nCells;
    this.nGenes = nGenes;
    this.nTypes = options.nTypes ?? 10;
    this.libraryMedian = options.libraryMedian ?? 2000;
    this.seed = options.seed ?? 0;
    const markersPerType = options.markersPerType ?? 20;
    const rng = new Rng(this.seed);
    const share = new Float64Array(nGenes);
    for (let g = 0; g < nGenes; g++) share[g] = rng.gamma(0.3) + 1e-6;
    const shift = Float64Array.from({ length: nGenes }, () => Math.exp(0.5 * rng.normal()));
    const markerOf = new Int32Array(nGenes).fill(-1);
    for (let t = 0; t < this.nTypes; t++) {
      for (let m = 0; m < markersPerType; m++) markerOf[rng.int(nGenes)] = t;
    }
    const weights = new Float64Array(nGenes);
    for (const domain of [0, 1]) {
      for (let t = 0; t < this.nTypes; t++) {
        for (let g = 0; g < nGenes; g++) {
          weights[g] = share[g] * (markerOf[g] === t ? 8 : 1) * (domain === 1 ? shift[g] : 1);
        }
        const table = aliasTable(weights);
        this.accept.push(table.accept);
        this.alias.push(table.alias);
      }
    }
    this.counts = new Int32Array(nGenes);
    this.touched = new Int32Array(Math.min(nGenes, 4096));
    this.genes = Array.from({ length: nGenes }, (_, g) => `gene${g}`);
    this.classNames = Array.from({ length: this.nTypes }, (_, t) => `type${t}`);
  }

  /** Rows [start, end) as CSR counts (float32), column indices sorted within each row. */
  rows(start: number, end: number): Csr & { indptr: Int32Array } {
    const started = performance.now();
    const { nGenes, nTypes, counts } = this;
    const nRows = end - start;
    const indptr = new Int32Array(nRows + 1);
    let indices: Int32Array = new Int32Array(
      Math.max(16, nRows * Math.min(nGenes, this.libraryMedian)),
    );
    let data: Float32Array = new Float32Array(indices.length);
    let touched = this.touched;
    let nnz = 0;
    for (let r = 0; r < nRows; r++) {
      const cell = start + r;
      // mulberry32 seeded per cell, written out inline (a closure is 4× slower here).
      let s = Math.imul(cell + 1, 0x9e3779b1) ^ Math.imul(this.seed + 1, 0x85ebca6b);
      const uniforms = new Float64Array(3);
      for (let i = 0; i < 3; i++) {
        s = (s + 0x6d2b79f5) | 0;
        let t = Math.imul(s ^ (s >>> 15), 1 | s);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        uniforms[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      }
      const table = (cell < this.nCells / 2 ? 0 : nTypes) + Math.floor(uniforms[0] * nTypes);
      const accept = this.accept[table];
      const alias = this.alias[table];
      const z = Math.sqrt(-2 * Math.log(1 - uniforms[1])) * Math.cos(2 * Math.PI * uniforms[2]);
      const library = Math.max(1, Math.round(this.libraryMedian * Math.exp(0.5 * z)));
      let k = 0;
      for (let i = 0; i < library; i++) {
        s = (s + 0x6d2b79f5) | 0;
        let t = Math.imul(s ^ (s >>> 15), 1 | s);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        // One draw: its integer part picks a column, its fraction accepts it or its alias.
        const x = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * nGenes;
        const j = x | 0;
        const g = x - j < accept[j] ? j : alias[j];
        if (counts[g]++ === 0) {
          if (k === touched.length) this.touched = touched = grow(touched, nGenes);
          touched[k++] = g;
        }
      }
      const genes = touched.subarray(0, k).sort();
      if (nnz + k > indices.length) {
        const size = Math.max(indices.length * 2, nnz + k);
        indices = grow(indices, size);
        data = growFloat(data, size);
      }
      for (let i = 0; i < k; i++) {
        const g = genes[i];
        indices[nnz + i] = g;
        data[nnz + i] = counts[g];
        counts[g] = 0;
      }
      nnz += k;
      indptr[r + 1] = nnz;
    }
    this.seconds += (performance.now() - started) / 1000;
    return {
      nRows,
      nCols: nGenes,
      indptr,
      indices: indices.slice(0, nnz),
      data: data.slice(0, nnz),
    };
  }

  /** All cells as an async stream of `blockRows`-row CSR blocks. */
  async *blocks(blockRows: number): AsyncGenerator<Csr> {
    for (let start = 0; start < this.nCells; start += blockRows) {
      yield this.rows(start, Math.min(this.nCells, start + blockRows));
    }
  }

  /**
   * A read-only AnnData whose X is this generator (CSR counts, float32), for the real prediction
   * path (chooseMatrix → log1pCpmBlocks → predict) without a file. Blocks are sized like the CSR
   * reader's: about 2^21 stored values, 256 to 65,536 rows.
   */
  annData(source = 'synthetic'): AnnData {
    const meanNnz = Math.max(1, expectedNonZeros(this.libraryMedian, this.nGenes));
    const reader: MatrixReader = {
      name: 'X',
      encoding: 'csr',
      shape: [this.nCells, this.nGenes],
      dtype: 'float32',
      preferredBlockRows: Math.min(1 << 16, Math.max(256, Math.floor((1 << 21) / meanNnz))),
      rows: async (start, end) => ({ rowStart: start, ...this.rows(start, end) }),
    };
    const unsupported = async (): Promise<never> => {
      throw new Error(`${source}: only X is synthetic`);
    };
    return {
      source,
      format: 'zarr',
      nObs: this.nCells,
      nVars: this.nGenes,
      rootAttrs: {},
      warnings: [],
      obsNames: async () => Array.from({ length: this.nCells }, (_, i) => `cell${i}`),
      varNames: async () => this.genes,
      obsColumnNames: async () => [],
      obsColumnInfo: unsupported,
      obsColumn: unsupported,
      varColumnNames: async () => [],
      varColumn: unsupported,
      varColumnInfo: unsupported,
      obsmKeys: async () => [],
      obsmShape: unsupported,
      obsm: unsupported,
      layerNames: async () => [],
      hasRaw: async () => false,
      matrixNames: async () => ['X'],
      matrix: async (name = 'X') => {
        if (name !== 'X') throw new Error(`${source}: no ${name}`);
        return reader;
      },
      matrixVarNames: async () => this.genes,
      matrixVarColumnNames: async () => [],
      matrixVarColumn: unsupported,
      unsKeys: async () => [],
      uns: unsupported,
      close: async () => {},
    };
  }
}

/** Rough non-zeros per cell of a library of `umis` over `nGenes` (for block sizing only). */
function expectedNonZeros(umis: number, nGenes: number): number {
  return nGenes * (1 - Math.exp(-(0.8 * umis) / nGenes));
}

/** Walker/Vose alias table for sampling indices proportionally to `weights`. */
function aliasTable(weights: Float64Array): { accept: Float32Array; alias: Int32Array } {
  const n = weights.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  const scaled = Float64Array.from(weights, (w) => (w * n) / total);
  const accept = new Float32Array(n).fill(1);
  const alias = Int32Array.from({ length: n }, (_, i) => i);
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < n; i++) (scaled[i] < 1 ? small : large).push(i);
  while (small.length && large.length) {
    const s = small.pop()!;
    const l = large.pop()!;
    accept[s] = scaled[s];
    alias[s] = l;
    scaled[l] += scaled[s] - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  return { accept, alias };
}

function grow(a: Int32Array, size: number): Int32Array {
  const out = new Int32Array(Math.max(size, a.length));
  out.set(a);
  return out;
}

function growFloat(a: Float32Array, size: number): Float32Array {
  const out = new Float32Array(size);
  out.set(a);
  return out;
}

// ---------------------------------------------------------------------------------------------
// On disk: the same cells as an AnnData .zarr (for the paths that open a file: worker threads,
// shards), written block by block so that 1M × 20k never exists whole in memory.

/** Blosc-lz4 with byte shuffle, as anndata's zarr stores usually are. */
const BLOSC = { id: 'blosc', cname: 'lz4', clevel: 5, shuffle: 1, blocksize: 0 };

export interface ZarrWriteStats {
  seconds: number;
  nnz: number;
}

/**
 * Writes `counts` as a zarr v2 AnnData store at `path` (which must not exist): X as csr_matrix
 * (float32 counts, int32 indices, int64 indptr; data/indices in chunks of `chunkValues`), obs and
 * var with their names, and the empty groups anndata writes.
 */
export async function writeSyntheticZarr(
  counts: SyntheticCounts,
  path: string,
  options: { blockRows?: number; chunkValues?: number } = {},
): Promise<ZarrWriteStats> {
  const started = performance.now();
  const { nCells, nGenes } = counts;
  const blockRows = options.blockRows ?? 4096;
  const chunkValues = options.chunkValues ?? 1 << 21;
  const blosc = (await ENCODERS.blosc()).fromConfig(BLOSC);
  const json = (file: string, doc: unknown) => writeFile(file, JSON.stringify(doc, null, 2));
  const group = async (name: string, attrs: Record<string, unknown>) => {
    await mkdir(join(path, name), { recursive: true });
    await json(join(path, name, '.zgroup'), { zarr_format: 2 });
    await json(join(path, name, '.zattrs'), attrs);
  };
  const arrayDoc = async (name: string, dtype: DType, shape: number[], chunks: number[]) => {
    await json(join(path, name, '.zarray'), {
      ...v2ArrayDoc({ data: [], shape, dtype }, chunks, BLOSC),
      ...(dtype === 'int64' ? { dtype: '<i8' } : {}),
    });
  };
  const chunk = async (name: string, index: number, bytes: Uint8Array) =>
    writeFile(join(path, name, String(index)), await blosc.encode(bytes));

  await mkdir(path);
  await group('', { 'encoding-type': 'anndata', 'encoding-version': '0.1.0' });
  for (const [name, items] of [
    ['obs', nCells],
    ['var', nGenes],
  ] as const) {
    await group(name, {
      _index: '_index',
      'column-order': [],
      'encoding-type': 'dataframe',
      'encoding-version': '0.2.0',
    });
    const per = 1 << 16;
    await mkdir(join(path, name, '_index'));
    await arrayDoc(`${name}/_index`, 'string', [items], [per]);
    await json(join(path, name, '_index', '.zattrs'), {
      'encoding-type': 'string-array',
      'encoding-version': '0.2.0',
    });
    for (let c = 0; c * per < items; c++) {
      const names = Array.from({ length: per }, (_, i) =>
        c * per + i < items
          ? name === 'obs'
            ? `cell${c * per + i}`
            : counts.genes[c * per + i]
          : '',
      );
      await chunk(`${name}/_index`, c, encodeVlenUtf8(names));
    }
  }
  for (const name of ['obsm', 'varm', 'obsp', 'varp', 'layers', 'uns']) {
    await group(name, { 'encoding-type': 'dict', 'encoding-version': '0.1.0' });
  }
  await group('X', {
    'encoding-type': 'csr_matrix',
    'encoding-version': '0.1.0',
    shape: [nCells, nGenes],
  });

  for (const name of ['indptr', 'indices', 'data']) await mkdir(join(path, 'X', name));
  // indices and data fill chunks of `chunkValues`, written as each one is full.
  const pending = { indices: new Int32Array(chunkValues), data: new Float32Array(chunkValues) };
  let filled = 0;
  let written = 0;
  const flush = async (length: number) => {
    if (length < chunkValues) {
      pending.indices.fill(0, length);
      pending.data.fill(0, length);
    }
    for (const key of ['indices', 'data'] as const) {
      const a = pending[key];
      await chunk(`X/${key}`, written, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    written++;
    filled = 0;
  };
  const indptrChunk = 1 << 20;
  const indptr = new BigInt64Array(indptrChunk);
  let indptrFilled = 1; // indptr[0] = 0
  let indptrWritten = 0;
  let nnz = 0;
  for (let start = 0; start < nCells; start += blockRows) {
    const end = Math.min(nCells, start + blockRows);
    const block = counts.rows(start, end);
    for (let r = 1; r <= block.nRows; r++) {
      indptr[indptrFilled++] = BigInt(nnz + block.indptr[r]);
      if (indptrFilled === indptrChunk) {
        await chunk('X/indptr', indptrWritten++, new Uint8Array(indptr.buffer));
        indptrFilled = 0;
      }
    }
    let at = 0;
    const n = block.indices.length;
    while (at < n) {
      const take = Math.min(n - at, chunkValues - filled);
      pending.indices.set(block.indices.subarray(at, at + take), filled);
      pending.data.set(block.data.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === chunkValues) await flush(chunkValues);
    }
    nnz += n;
  }
  if (filled > 0) await flush(filled);
  if (indptrFilled > 0) {
    indptr.fill(0n, indptrFilled);
    await chunk('X/indptr', indptrWritten, new Uint8Array(indptr.buffer));
  }
  await arrayDoc('X/indptr', 'int64', [nCells + 1], [indptrChunk]);
  await arrayDoc('X/indices', 'int32', [nnz], [chunkValues]);
  await arrayDoc('X/data', 'float32', [nnz], [chunkValues]);
  return { seconds: (performance.now() - started) / 1000, nnz };
}

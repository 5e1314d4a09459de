/**
 * Row-block access to X, raw/X and layers: CSR through indptr ranges, dense through row
 * chunks, CSC by scanning columns. Every block comes back as CSR; nothing reads the whole
 * matrix at once (CSC excepted, which is why it warns).
 */
import { toFloat32, toFloat64, toInt32 } from './arrays.js';
import { AnnDataError } from '../errors.js';
import type { DType, Hierarchy } from './hierarchy.js';
import type { CsrBlock, MatrixEncoding, MatrixReader } from './types.js';

/** Aim for blocks of about this many stored values: large enough to amortise I/O, small in RAM. */
const TARGET_BLOCK_VALUES = 1 << 21;

export async function openMatrix(
  h: Hierarchy,
  name: string,
  expected: [number, number],
  warn: (message: string) => void,
): Promise<MatrixReader> {
  const where = { file: h.source, element: name };
  const kind = await h.kind(name);
  const attrs = await h.attrs(name);
  if (kind === 'array') {
    const meta = await h.meta(name);
    if (meta.shape.length !== 2) {
      throw new AnnDataError(`expected a 2-D matrix, found shape [${meta.shape}]`, where);
    }
    checkShape([meta.shape[0], meta.shape[1]], expected, where);
    if (meta.dtype === 'string') throw new AnnDataError('matrix holds strings, not numbers', where);
    const chunkRows = meta.chunks?.[0] ?? 1024;
    return new DenseReader(
      h,
      name,
      expected,
      meta.dtype,
      Math.max(
        1,
        chunkRows *
          Math.max(1, Math.floor(TARGET_BLOCK_VALUES / (chunkRows * Math.max(1, expected[1])))),
      ),
      meta.chunks?.[0],
    );
  }
  const enc = attrs['encoding-type'] ?? legacySparseEncoding(attrs['h5sparse_format']);
  if (enc !== 'csr_matrix' && enc !== 'csc_matrix') {
    throw new AnnDataError(`unsupported matrix encoding '${String(enc)}'`, {
      ...where,
      hint: 'scNym reads dense arrays and csr_matrix / csc_matrix groups',
    });
  }
  const rawShape = attrs['shape'] ?? attrs['h5sparse_shape'];
  if (!Array.isArray(rawShape) || rawShape.length !== 2) {
    throw new AnnDataError('sparse matrix has no valid shape attribute', {
      ...where,
      hint: 'save the file again with anndata',
    });
  }
  checkShape([Number(rawShape[0]), Number(rawShape[1])], expected, where);
  for (const part of ['data', 'indices', 'indptr']) {
    if ((await h.kind(`${name}/${part}`)) !== 'array') {
      throw new AnnDataError(`sparse matrix is missing its '${part}' array`, {
        ...where,
        hint: 'the file is incomplete; write it again',
      });
    }
  }
  const isCsr = enc === 'csr_matrix';
  const indptr = toFloat64((await h.read(`${name}/indptr`)).data, {
    file: h.source,
    element: `${name}/indptr`,
  });
  const major = isCsr ? expected[0] : expected[1];
  const dataMeta = await h.meta(`${name}/data`);
  const indicesMeta = await h.meta(`${name}/indices`);
  checkIndptr(indptr, major, dataMeta.shape[0], indicesMeta.shape[0], {
    file: h.source,
    element: `${name}/indptr`,
  });
  const nnz = indptr[major];
  if (isCsr) {
    const avg = nnz / Math.max(1, expected[0]);
    const blockRows = clamp(Math.floor(TARGET_BLOCK_VALUES / Math.max(1, avg)), 256, 1 << 16);
    const chunkValues = dataMeta.chunks?.[0];
    return new CsrReader(h, name, expected, dataMeta.dtype, nnz, blockRows, indptr, chunkValues);
  }
  warn(
    `${h.source}: ${name} is stored column-major (CSC); reading cells scans the whole matrix for every block. ` +
      'For speed, convert in Python: adata.X = adata.X.tocsr(); then save again.',
  );
  return new CscReader(h, name, expected, dataMeta.dtype, nnz, expected[0], indptr);
}

function legacySparseEncoding(format: unknown): string | undefined {
  if (format === 'csr') return 'csr_matrix';
  if (format === 'csc') return 'csc_matrix';
  return undefined;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function checkShape(
  found: [number, number],
  expected: [number, number],
  where: { file: string; element: string },
) {
  if (found[0] !== expected[0] || found[1] !== expected[1]) {
    throw new AnnDataError(`shape is [${found}] but obs and var say [${expected}]`, {
      ...where,
      hint: 'the file is inconsistent; rebuild it in Python and save again',
    });
  }
}

function checkIndptr(
  indptr: Float64Array,
  major: number,
  nData: number,
  nIndices: number,
  where: { file: string; element: string },
) {
  const bad = (problem: string) =>
    new AnnDataError(problem, {
      ...where,
      hint: 'the sparse matrix is corrupt; write it again from Python',
    });
  if (indptr.length !== major + 1) throw bad(`has ${indptr.length} entries, expected ${major + 1}`);
  if (indptr[0] !== 0) throw bad(`must start at 0, starts at ${indptr[0]}`);
  for (let i = 1; i < indptr.length; i++) {
    if (!(indptr[i] >= indptr[i - 1])) throw bad(`decreases at position ${i}`);
  }
  const nnz = indptr[major];
  if (nnz > nData || nnz > nIndices) {
    throw bad(`ends at ${nnz} but data has ${nData} and indices ${nIndices} values`);
  }
}

function checkValues(
  data: Float32Array,
  where: { file: string; element: string },
  rowStart: number,
) {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new AnnDataError(
        `holds ${data[i]} (a non-finite value) in the block starting at row ${rowStart}`,
        {
          ...where,
          hint: 'scNym needs finite expression values: replace NaN/Inf in Python (e.g. np.nan_to_num) and save again',
        },
      );
    }
  }
}

abstract class BaseReader implements MatrixReader {
  abstract readonly encoding: MatrixEncoding;
  constructor(
    protected readonly h: Hierarchy,
    readonly name: string,
    readonly shape: [number, number],
    readonly dtype: DType,
    readonly nnz: number | undefined,
    readonly preferredBlockRows: number,
  ) {}

  protected where(part?: string) {
    return { file: this.h.source, element: part ? `${this.name}/${part}` : this.name };
  }

  protected checkRange(start: number, end: number) {
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < 0 ||
      end > this.shape[0] ||
      start > end
    ) {
      throw new RangeError(`rows [${start}, ${end}) outside [0, ${this.shape[0]})`);
    }
  }

  async rows(start: number, end: number): Promise<CsrBlock> {
    this.checkRange(start, end);
    const block = await this.readRows(start, end);
    checkValues(block.data, this.where(this.encoding === 'dense' ? undefined : 'data'), start);
    return block;
  }

  protected abstract readRows(start: number, end: number): Promise<CsrBlock>;
}

/** Shared by CSR and CSC: the major-axis indptr, and checked reads of stored values. */
abstract class SparseReader extends BaseReader {
  constructor(
    h: Hierarchy,
    name: string,
    shape: [number, number],
    dtype: DType,
    nnz: number,
    blockRows: number,
    protected readonly indptr: Float64Array,
  ) {
    super(h, name, shape, dtype, nnz, blockRows);
  }

  /** Stored entries [lo, hi): their minor-axis indices (checked < bound) and values. */
  protected async readStored(lo: number, hi: number, bound: number) {
    const range = [{ start: lo, end: hi }];
    const [ind, dat] = await Promise.all([
      this.h.read(`${this.name}/indices`, range),
      this.h.read(`${this.name}/data`, range),
    ]);
    const indices = toInt32(ind.data, this.where('indices'));
    checkIndices(indices, bound, this.where('indices'));
    return { indices, data: toFloat32(dat.data, this.where('data')) };
  }
}

class CsrReader extends SparseReader {
  readonly encoding = 'csr' as const;

  constructor(
    h: Hierarchy,
    name: string,
    shape: [number, number],
    dtype: DType,
    nnz: number,
    blockRows: number,
    indptr: Float64Array,
    /** Stored values per chunk of data (and, as anndata writes them, indices); 0: unchunked. */
    private readonly chunkValues = 0,
  ) {
    super(h, name, shape, dtype, nnz, blockRows, indptr);
  }

  /** The first row whose values start at or after the chunk boundary nearest to `row`'s start. */
  alignRow(row: number): number {
    const n = this.shape[0];
    if (!(this.chunkValues > 0) || row <= 0 || row >= n) return Math.min(n, Math.max(0, row));
    const boundary = Math.round(this.indptr[row] / this.chunkValues) * this.chunkValues;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.indptr[mid] < boundary) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  protected async readRows(start: number, end: number): Promise<CsrBlock> {
    const lo = this.indptr[start];
    const hi = this.indptr[end];
    const nRows = end - start;
    const nCols = this.shape[1];
    const indptr = new Int32Array(nRows + 1);
    for (let i = 0; i <= nRows; i++) indptr[i] = this.indptr[start + i] - lo;
    if (hi === lo) {
      return {
        rowStart: start,
        nRows,
        nCols,
        indptr,
        indices: new Int32Array(0),
        data: new Float32Array(0),
      };
    }
    const { indices, data } = await this.readStored(lo, hi, nCols);
    return { rowStart: start, nRows, nCols, indptr, indices, data };
  }
}

function checkIndices(indices: Int32Array, n: number, where: { file: string; element: string }) {
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] < 0 || indices[i] >= n) {
      throw new AnnDataError(`index ${indices[i]} is outside [0, ${n})`, {
        ...where,
        hint: 'the sparse matrix is corrupt; write it again from Python',
      });
    }
  }
}

class DenseReader extends BaseReader {
  readonly encoding = 'dense' as const;
  constructor(
    h: Hierarchy,
    name: string,
    shape: [number, number],
    dtype: DType,
    blockRows: number,
    /** Rows per stored chunk; undefined when the array is not chunked. */
    private readonly chunkRows?: number,
  ) {
    super(h, name, shape, dtype, undefined, blockRows);
  }

  alignRow(row: number): number {
    const clamped = Math.min(this.shape[0], Math.max(0, row));
    if (!this.chunkRows) return clamped;
    return Math.min(this.shape[0], Math.round(clamped / this.chunkRows) * this.chunkRows);
  }

  protected async readRows(start: number, end: number): Promise<CsrBlock> {
    const nRows = end - start;
    const nCols = this.shape[1];
    const values =
      nRows === 0
        ? new Float32Array(0)
        : toFloat32((await this.h.read(this.name, [{ start, end }, null])).data, this.where());
    let nnz = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== 0) nnz++;
    const indptr = new Int32Array(nRows + 1);
    const indices = new Int32Array(nnz);
    const data = new Float32Array(nnz);
    let k = 0;
    for (let r = 0; r < nRows; r++) {
      const base = r * nCols;
      for (let c = 0; c < nCols; c++) {
        const v = values[base + c];
        if (v !== 0) {
          indices[k] = c;
          data[k++] = v;
        }
      }
      indptr[r + 1] = k;
    }
    return { rowStart: start, nRows, nCols, indptr, indices, data };
  }
}

/** Column-major storage: each row block scans all columns in slabs of about TARGET_BLOCK_VALUES. */
class CscReader extends SparseReader {
  readonly encoding = 'csc' as const;

  protected async readRows(start: number, end: number): Promise<CsrBlock> {
    const nRows = end - start;
    const nCols = this.shape[1];
    const rowsOf: number[] = [];
    const colsOf: number[] = [];
    const valsOf: number[] = [];
    let c0 = 0;
    while (c0 < nCols) {
      let c1 = c0 + 1;
      while (c1 < nCols && this.indptr[c1 + 1] - this.indptr[c0] <= TARGET_BLOCK_VALUES) c1++;
      const lo = this.indptr[c0];
      const hi = this.indptr[c1];
      if (hi > lo) {
        const { indices: rows, data: vals } = await this.readStored(lo, hi, this.shape[0]);
        for (let c = c0; c < c1; c++) {
          for (let k = this.indptr[c] - lo; k < this.indptr[c + 1] - lo; k++) {
            const r = rows[k];
            if (r >= start && r < end) {
              rowsOf.push(r - start);
              colsOf.push(c);
              valsOf.push(vals[k]);
            }
          }
        }
      }
      c0 = c1;
    }
    // Counting sort by row; entries are already in column order within each row.
    const indptr = new Int32Array(nRows + 1);
    for (const r of rowsOf) indptr[r + 1]++;
    for (let r = 0; r < nRows; r++) indptr[r + 1] += indptr[r];
    const fill = indptr.slice(0, nRows);
    const indices = new Int32Array(rowsOf.length);
    const data = new Float32Array(rowsOf.length);
    for (let k = 0; k < rowsOf.length; k++) {
      const pos = fill[rowsOf[k]]++;
      indices[pos] = colsOf[k];
      data[pos] = valsOf[k];
    }
    return { rowStart: start, nRows, nCols, indptr, indices, data };
  }
}

/** In-memory CSR matrices: the form expression data keeps until a batch is densified. */
import type { CsrBlock } from './anndata/types.js';

export interface Csr {
  nRows: number;
  nCols: number;
  /** nRows + 1 offsets into indices/data; Float64Array when nnz may exceed 2^31. */
  indptr: Int32Array | Float64Array;
  indices: Int32Array;
  data: Float32Array;
}

/** Concatenates row blocks (in the order given) into one matrix. */
export function concatBlocks(blocks: readonly (CsrBlock | Csr)[]): Csr {
  if (blocks.length === 0) throw new RangeError('concatBlocks: no blocks');
  const nCols = blocks[0].nCols;
  let nRows = 0;
  let nnz = 0;
  for (const b of blocks) {
    if (b.nCols !== nCols)
      throw new RangeError(`concatBlocks: ${b.nCols} columns, expected ${nCols}`);
    nRows += b.nRows;
    nnz += b.indptr[b.nRows] - b.indptr[0];
  }
  const indptr = nnz > 0x7fffffff ? new Float64Array(nRows + 1) : new Int32Array(nRows + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let row = 0;
  let offset = 0;
  for (const b of blocks) {
    const start = b.indptr[0];
    const end = b.indptr[b.nRows];
    indices.set(b.indices.subarray(start, end), offset);
    data.set(b.data.subarray(start, end), offset);
    for (let r = 0; r < b.nRows; r++) indptr[row + r + 1] = offset + b.indptr[r + 1] - start;
    row += b.nRows;
    offset += end - start;
  }
  return { nRows, nCols, indptr, indices, data };
}

/** Rows `rows` (in that order, repeats allowed) as a new CSR matrix. */
export function takeRows(m: Csr, rows: ArrayLike<number>): Csr {
  let nnz = 0;
  for (let i = 0; i < rows.length; i++) nnz += m.indptr[rows[i] + 1] - m.indptr[rows[i]];
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let offset = 0;
  for (let i = 0; i < rows.length; i++) {
    const start = m.indptr[rows[i]];
    const end = m.indptr[rows[i] + 1];
    indices.set(m.indices.subarray(start, end), offset);
    data.set(m.data.subarray(start, end), offset);
    offset += end - start;
    indptr[i + 1] = offset;
  }
  return { nRows: rows.length, nCols: m.nCols, indptr, indices, data };
}

/** Rows `rows` densified row-major into a Float32Array of rows.length × nCols. */
export function gatherDense(m: Csr, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * m.nCols);
  for (let i = 0; i < rows.length; i++) {
    const base = i * m.nCols;
    for (let k = m.indptr[rows[i]]; k < m.indptr[rows[i] + 1]; k++) {
      out[base + m.indices[k]] += m.data[k];
    }
  }
  return out;
}

/** The whole matrix densified row-major. */
export function toDense(m: Csr): Float32Array {
  return gatherDense(m, rowRange(0, m.nRows));
}

/** Builds CSR from a row-major dense array, keeping non-zeros only. */
export function fromDense(values: ArrayLike<number>, nRows: number, nCols: number): Csr {
  const indptr = new Int32Array(nRows + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) {
      const v = values[r * nCols + c];
      if (v !== 0) {
        indices.push(c);
        data.push(v);
      }
    }
    indptr[r + 1] = indices.length;
  }
  return { nRows, nCols, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) };
}

/**
 * Moves columns to new positions: column c goes to `columnMap[c]`, or is dropped when that is -1.
 * Used to put query genes in the model's gene order.
 */
export function remapColumns(m: Csr, columnMap: Int32Array, nColsOut: number): Csr {
  if (columnMap.length !== m.nCols) {
    throw new RangeError(
      `remapColumns: map has ${columnMap.length} entries for ${m.nCols} columns`,
    );
  }
  const indptr = new Int32Array(m.nRows + 1);
  let nnz = 0;
  for (let k = 0; k < m.indptr[m.nRows] - m.indptr[0]; k++) {
    if (columnMap[m.indices[k + m.indptr[0]]] >= 0) nnz++;
  }
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let offset = 0;
  for (let r = 0; r < m.nRows; r++) {
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      const target = columnMap[m.indices[k]];
      if (target >= 0) {
        indices[offset] = target;
        data[offset] = m.data[k];
        offset++;
      }
    }
    indptr[r + 1] = offset;
  }
  return { nRows: m.nRows, nCols: nColsOut, indptr, indices, data };
}

export function rowRange(start: number, end: number): Int32Array {
  const out = new Int32Array(end - start);
  for (let i = 0; i < out.length; i++) out[i] = start + i;
  return out;
}

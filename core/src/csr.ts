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

/**
 * Rows [start, end) with 32-bit offsets from 0; indices and data are views of `m`'s arrays (no
 * copy) unless the offsets have to be rebased.
 */
export function sliceRows(m: Csr, start: number, end: number): Csr & { indptr: Int32Array } {
  const base = m.indptr[start];
  const nnz = m.indptr[end] - base;
  const indptr = new Int32Array(end - start + 1);
  for (let r = 0; r <= end - start; r++) indptr[r] = m.indptr[start + r] - base;
  return {
    nRows: end - start,
    nCols: m.nCols,
    indptr,
    indices: m.indices.subarray(base, base + nnz),
    data: m.data.subarray(base, base + nnz),
  };
}

/**
 * MixUp of CSR rows: row i = γ_i·x_i + (1 − γ_i)·x_perm(i), stored over the union of both rows'
 * patterns. Each value is computed exactly as the dense mixing does (the absent side is 0), so
 * the result densifies to the same floats.
 */
export function mixCsrRows(
  m: Csr,
  permutation: Int32Array,
  gamma: Float32Array,
): Csr & { indptr: Int32Array } {
  const n = permutation.length;
  let bound = 0;
  for (let i = 0; i < n; i++) {
    const j = permutation[i];
    bound += m.indptr[i + 1] - m.indptr[i] + m.indptr[j + 1] - m.indptr[j];
  }
  const indptr = new Int32Array(n + 1);
  const indices = new Int32Array(bound);
  const data = new Float32Array(bound);
  // Position of each column in the row being built (+1; 0 = not stored yet), and the other
  // row's values by column, in float64 so each entry is g·a + (1−g)·b with one rounding.
  const slot = new Int32Array(m.nCols);
  const other = new Float64Array(m.nCols);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const g = gamma[i];
    const j = permutation[i];
    const rowStart = offset;
    for (let k = m.indptr[i]; k < m.indptr[i + 1]; k++) {
      const c = m.indices[k];
      slot[c] = offset + 1;
      indices[offset] = c;
      data[offset] = m.data[k];
      offset++;
    }
    const own = offset;
    for (let k = m.indptr[j]; k < m.indptr[j + 1]; k++) {
      const c = m.indices[k];
      if (slot[c] === 0) {
        slot[c] = offset + 1;
        indices[offset] = c;
        data[offset] = 0;
        offset++;
      }
    }
    for (let k = m.indptr[j]; k < m.indptr[j + 1]; k++) other[m.indices[k]] += m.data[k];
    for (let p = rowStart; p < offset; p++) {
      const c = indices[p];
      const a = p < own ? data[p] : 0;
      data[p] = g * a + (1 - g) * other[c];
      slot[c] = 0;
      other[c] = 0;
    }
    indptr[i + 1] = offset;
  }
  return {
    nRows: n,
    nCols: m.nCols,
    indptr,
    indices: indices.subarray(0, offset),
    data: data.subarray(0, offset),
  };
}

/** The original's "log1p_drop" augmentation, applied to CSR rows before densifying. */
import type { Csr } from '../csr.js';
import type { Rng } from '../random.js';
import { CPM_TARGET } from '../preprocess.js';

/**
 * expm1 → zero each entry with probability p → renormalise the row to CPM → log1p.
 * Zeros stay zero, so only stored entries are visited; torch's 1/(1−p) survivor scaling
 * cancels in the renormalisation and is omitted.
 */
export function log1pDrop(m: Csr, p: number, rng: Rng): Csr {
  const data = new Float32Array(m.data.length);
  const start0 = m.indptr[0];
  for (let r = 0; r < m.nRows; r++) {
    let sum = 0;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      const kept = rng.uniform() >= p ? Math.expm1(m.data[k]) : 0;
      data[k - start0] = kept;
      sum += kept;
    }
    const scale = sum > 0 ? CPM_TARGET / sum : 0;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      data[k - start0] = Math.log1p(data[k - start0] * scale);
    }
  }
  const indptr = start0 === 0 ? m.indptr : m.indptr.map((v) => v - start0);
  const indices = start0 === 0 ? m.indices : m.indices.slice(start0, m.indptr[m.nRows]);
  return { nRows: m.nRows, nCols: m.nCols, indptr, indices, data };
}

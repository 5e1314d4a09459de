/**
 * Training on the reference's most variable genes (of those both files share), by Seurat's v1
 * recipe (scanpy's flavor='seurat'): the log dispersion (variance / mean) of each gene's CPM over
 * the labelled cells, standardised within 20 bins of log1p(mean CPM) so that highly expressed
 * genes do not win on their mean alone.
 */
import { remapColumns, type Csr } from '../csr.js';
import type { TrainingData } from './trainer.js';

const MEAN_BINS = 20;

/** Columns of the `n` most variable genes of `m`, ascending (all of them when n ≥ nCols). */
export function variableGenes(m: Csr, n: number): Int32Array {
  const nCols = m.nCols;
  if (n >= nCols) return Int32Array.from({ length: nCols }, (_, i) => i);
  const sum = new Float64Array(nCols);
  const sumSq = new Float64Array(nCols);
  const first = m.indptr[0];
  const nnz = m.indptr[m.nRows] - first;
  for (let k = 0; k < nnz; k++) {
    const v = Math.expm1(m.data[first + k]); // the rows are log1p(CPM)
    sum[m.indices[first + k]] += v;
    sumSq[m.indices[first + k]] += v * v;
  }
  const mean = new Float64Array(nCols);
  const logDispersion = new Float64Array(nCols).fill(NaN);
  let lo = Infinity;
  let hi = -Infinity;
  for (let g = 0; g < nCols; g++) {
    const mu = sum[g] / m.nRows;
    if (!(mu > 0)) continue;
    const variance = (Math.max(0, sumSq[g] / m.nRows - mu * mu) * m.nRows) / (m.nRows - 1 || 1);
    logDispersion[g] = Math.log(variance / mu || 1e-12);
    mean[g] = Math.log1p(mu);
    lo = Math.min(lo, mean[g]);
    hi = Math.max(hi, mean[g]);
  }
  // z-score of the log dispersion within each mean bin; a bin of one gene gets 1 (Seurat's rule).
  const binOf = (g: number) =>
    hi > lo ? Math.min(MEAN_BINS - 1, Math.floor(((mean[g] - lo) / (hi - lo)) * MEAN_BINS)) : 0;
  const count = new Float64Array(MEAN_BINS);
  const bSum = new Float64Array(MEAN_BINS);
  const bSumSq = new Float64Array(MEAN_BINS);
  for (let g = 0; g < nCols; g++) {
    if (Number.isNaN(logDispersion[g])) continue;
    const b = binOf(g);
    count[b]++;
    bSum[b] += logDispersion[g];
    bSumSq[b] += logDispersion[g] ** 2;
  }
  const score = new Float64Array(nCols).fill(-Infinity);
  for (let g = 0; g < nCols; g++) {
    if (Number.isNaN(logDispersion[g])) continue;
    const b = binOf(g);
    if (count[b] < 2) {
      score[g] = 1;
      continue;
    }
    const mu = bSum[b] / count[b];
    const sd = Math.sqrt(Math.max(0, (bSumSq[b] - count[b] * mu * mu) / (count[b] - 1)));
    score[g] = sd > 0 ? (logDispersion[g] - mu) / sd : 0;
  }
  const order = Int32Array.from({ length: nCols }, (_, i) => i);
  order.sort((a, b) => score[b] - score[a] || a - b);
  return order.subarray(0, n).sort();
}

/** `data` on the `n` most variable genes of its labelled cells (unchanged when n is 0 or ≥ all). */
export function selectVariableGenes(data: TrainingData, n: number): TrainingData {
  if (!(n > 0) || n >= data.genes.length) return data;
  const keep = variableGenes(data.labeled, n);
  const columnMap = new Int32Array(data.genes.length).fill(-1);
  keep.forEach((g, i) => (columnMap[g] = i));
  return {
    ...data,
    genes: Array.from(keep, (g) => data.genes[g]),
    labeled: remapColumns(data.labeled, columnMap, keep.length),
    unlabeled: data.unlabeled && remapColumns(data.unlabeled, columnMap, keep.length),
  };
}

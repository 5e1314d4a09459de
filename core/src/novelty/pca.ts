/**
 * Principal components of a sparse matrix without densifying it: the randomized range finder
 * (Halko, Martinsson & Tropp 2011, algorithm 4.4) on the centred matrix A − 1μᵀ, applied as
 * A·X − 1(μᵀX) so that only A's stored entries are touched. Four power iterations and ten extra
 * columns give the leading components to well within what a nearest-neighbour distance needs.
 */
import type { Csr } from '../csr.js';
import { Rng } from '../random.js';

const OVERSAMPLE = 10;
const POWER_ITERATIONS = 4;

export interface Pca {
  /** Column means (nCols). */
  mean: Float64Array;
  /** nCols × nComponents, row-major: component j's loading of column c at c·k + j. */
  components: Float64Array;
  nComponents: number;
  /** Variance along each component (descending). */
  variance: Float64Array;
}

/** The `k` leading principal components of `m`'s rows (seeded: the same matrix, the same result). */
export function sparsePca(m: Csr, k: number, seed: number): Pca {
  const { nRows: n, nCols: g } = m;
  const l = Math.min(k + OVERSAMPLE, g, n);
  if (!(k >= 1 && k <= l)) throw new RangeError(`${k} components of a ${n} × ${g} matrix`);
  const mean = new Float64Array(g);
  const first = m.indptr[0];
  for (let p = first; p < m.indptr[n]; p++) mean[m.indices[p]] += m.data[p];
  for (let c = 0; c < g; c++) mean[c] /= n;

  const rng = new Rng(seed);
  let cols: Float64Array = Float64Array.from({ length: g * l }, () => rng.normal());
  let rowsProduct = times(m, mean, cols, l);
  orthonormalize(rowsProduct, n, l);
  for (let i = 0; i < POWER_ITERATIONS; i++) {
    cols = transposeTimes(m, mean, rowsProduct, l);
    orthonormalize(cols, g, l);
    rowsProduct = times(m, mean, cols, l);
    orthonormalize(rowsProduct, n, l);
  }
  // Bᵀ = (A − 1μᵀ)ᵀQ (g × l); its Gram matrix's eigenvectors U give the right singular vectors
  // V = Bᵀ U / σ.
  const bt = transposeTimes(m, mean, rowsProduct, l);
  const gram = new Float64Array(l * l);
  for (let c = 0; c < g; c++) {
    const row = c * l;
    for (let a = 0; a < l; a++) {
      const v = bt[row + a];
      if (v === 0) continue;
      for (let b = a; b < l; b++) gram[a * l + b] += v * bt[row + b];
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) gram[a * l + b] = gram[b * l + a];
  const { values, vectors } = symmetricEigen(gram, l);
  const order = Array.from({ length: l }, (_, i) => i).sort((a, b) => values[b] - values[a]);
  const components = new Float64Array(g * k);
  const variance = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const e = order[j];
    const sigma = Math.sqrt(Math.max(values[e], 0));
    variance[j] = (sigma * sigma) / Math.max(1, n - 1);
    if (sigma === 0) continue;
    // The sign is arbitrary: the largest loading is made positive, so that a seed fixes it.
    let largest = 0;
    for (let c = 0; c < g; c++) {
      let v = 0;
      for (let a = 0; a < l; a++) v += bt[c * l + a] * vectors[a * l + e];
      v /= sigma;
      components[c * k + j] = v;
      if (Math.abs(v) > Math.abs(largest)) largest = v;
    }
    if (largest < 0) for (let c = 0; c < g; c++) components[c * k + j] = -components[c * k + j];
  }
  return { mean, components, nComponents: k, variance };
}

/** (A − 1μᵀ)·X for X of nCols × l (row-major): nRows × l. */
function times(m: Csr, mean: Float64Array, x: Float64Array, l: number): Float64Array {
  const out = new Float64Array(m.nRows * l);
  const shift = new Float64Array(l);
  for (let c = 0; c < m.nCols; c++) {
    const mu = mean[c];
    for (let a = 0; a < l; a++) shift[a] += mu * x[c * l + a];
  }
  for (let r = 0; r < m.nRows; r++) {
    const row = r * l;
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) {
      const v = m.data[p];
      const at = m.indices[p] * l;
      for (let a = 0; a < l; a++) out[row + a] += v * x[at + a];
    }
    for (let a = 0; a < l; a++) out[row + a] -= shift[a];
  }
  return out;
}

/** (A − 1μᵀ)ᵀ·Y for Y of nRows × l (row-major): nCols × l. */
function transposeTimes(m: Csr, mean: Float64Array, y: Float64Array, l: number): Float64Array {
  const out = new Float64Array(m.nCols * l);
  const total = new Float64Array(l);
  for (let r = 0; r < m.nRows; r++) {
    const row = r * l;
    for (let a = 0; a < l; a++) total[a] += y[row + a];
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) {
      const v = m.data[p];
      const at = m.indices[p] * l;
      for (let a = 0; a < l; a++) out[at + a] += v * y[row + a];
    }
  }
  for (let c = 0; c < m.nCols; c++) {
    const mu = mean[c];
    for (let a = 0; a < l; a++) out[c * l + a] -= mu * total[a];
  }
  return out;
}

/** Modified Gram–Schmidt on the l columns of a rows × l row-major matrix, twice for accuracy. */
function orthonormalize(x: Float64Array, rows: number, l: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let a = 0; a < l; a++) {
      for (let b = 0; b < a; b++) {
        let dot = 0;
        for (let r = 0; r < rows; r++) dot += x[r * l + a] * x[r * l + b];
        for (let r = 0; r < rows; r++) x[r * l + a] -= dot * x[r * l + b];
      }
      let norm = 0;
      for (let r = 0; r < rows; r++) norm += x[r * l + a] ** 2;
      norm = Math.sqrt(norm);
      // A column in the span of the others (rank < l) becomes zero, not noise.
      const scale = norm > 1e-300 ? 1 / norm : 0;
      for (let r = 0; r < rows; r++) x[r * l + a] *= scale;
    }
  }
}

/** Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric n × n matrix: cyclic Jacobi. */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

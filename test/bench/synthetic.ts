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

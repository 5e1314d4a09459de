/**
 * The novelty score: how far a cell lies from the reference's cells, outside the network. In the
 * reference's log1p(CP10k) over its 2,000 most variable genes, two distances:
 * - within its first 10 principal components, the mean distance to the 10 nearest of ≤ 5,000
 *   reference cells;
 * - outside them, the length of what the components leave of the cell (its residual), which
 *   catches types whose genes the reference's components do not span (NK cells without NK).
 * Each is divided by its median over those reference cells (each cell's neighbours found among
 * the others), and their sum by its own, so a typical reference cell scores ~1 and a cell of a
 * type the reference lacks scores higher. Across
 * the benchmark's removed classes (README → Accuracy) it told novel cells from known ones far
 * better than the network's confidence, which is often high on cells of a type it never saw. The
 * model card carries the projection and the points, so every way a model travels scores the same.
 */
import { float32FromBase64, float32ToBase64 } from '../base64.js';
import type { Csr } from '../csr.js';
import { throwIfAborted } from '../errors.js';
import { yieldToEventLoop } from '../event-loop.js';
import { cp10kOfLog1pCpm } from '../linear/head.js';
import { Rng } from '../random.js';
import { NOVELTY } from '../vocabulary.js';
import { NearestPoints } from './knn.js';
import { sparsePca } from './pca.js';

/** Training cells the genes and components are chosen on. */
const FIT_CELLS = 10000;

/** What the card holds. */
export interface NoveltyCard {
  input: 'log1p-cp10k';
  /** The genes used: indices into the model's genes, ascending. */
  genes: number[];
  /** Their means over the fitting cells (float32, base64). */
  mean: string;
  /** genes × nComponents loadings, row-major (float32, base64). */
  components: string;
  nComponents: number;
  /** Neighbours averaged over. */
  k: number;
  /** nPoints × nComponents coordinates of reference cells (float32, base64). */
  points: string;
  nPoints: number;
  /**
   * The points' medians (each one's neighbours found among the others): of the neighbour
   * distance, of the residual, and of the sum of the two divided by theirs (a score of 1).
   */
  scales: { distance: number; residual: number; total: number };
  fit: {
    /** Reference cells the genes and components were chosen on. */
    nFit: number;
    /** The points' score's 90th and 99th centiles. */
    q90: number;
    q99: number;
    seconds: number;
  };
}

/** The card decoded for scoring. */
export interface NoveltyReference {
  /** Model gene → row of `components`, or −1. */
  geneRow: Int32Array;
  components: Float32Array;
  /** −meanᵀ·components: every cell's coordinates start here. */
  origin: Float64Array;
  /** The means per row of `components`, and the sum of their squares. */
  mean: Float32Array;
  meanSquares: number;
  nComponents: number;
  nearest: NearestPoints;
  scales: NoveltyCard['scales'];
}

/**
 * Fits the score on the rows of `m` (reference cells, log1p(CPM) on the model's genes), a seeded
 * sample of ≤ 10,000 of them; null when there are too few cells to have k neighbours.
 */
export async function fitNovelty(
  m: Csr,
  seed: number,
  signal?: AbortSignal,
): Promise<NoveltyCard | null> {
  const started = performance.now();
  const k = NOVELTY.neighbours;
  if (m.nRows < 2 * k) return null;
  const rng = new Rng(seed ^ 0x6e6f76);
  const fitRows = rng.permutation(m.nRows).slice(0, FIT_CELLS);
  const genes = mostVariable(m, fitRows, NOVELTY.genes);
  if (genes.length < 2) return null; // nothing varies: no distance to measure
  const geneRow = new Int32Array(m.nCols).fill(-1);
  genes.forEach((g, i) => (geneRow[g] = i));
  const compact = cp10kColumns(m, fitRows, geneRow, genes.length);
  throwIfAborted(signal);
  const nComponents = Math.min(NOVELTY.components, genes.length, fitRows.length - 1);
  const pca = sparsePca(compact, nComponents, seed);
  await yieldToEventLoop();
  throwIfAborted(signal);

  const components = Float32Array.from(pca.components);
  const mean = Float32Array.from(pca.mean);
  const projection = projectionOf(geneRow, mean, components, nComponents);
  // The points, and their residuals for the scales.
  const pointRows = fitRows.subarray(0, NOVELTY.points);
  const n = pointRows.length;
  const points = new Float32Array(n * nComponents);
  const residual = new Float64Array(n);
  const coords = new Float64Array(nComponents);
  for (let i = 0; i < n; i++) {
    const squares = project(projection, m, pointRows[i], coords);
    residual[i] = residualOf(coords, squares);
    points.set(coords, i * nComponents);
  }
  // The scales, from the points themselves: each one's k nearest others (its k + 1 nearest
  // points, itself at distance 0 among them).
  const distance = new Float64Array(n);
  const withSelf = new NearestPoints(points, nComponents, k + 1);
  for (let i = 0; i < n; i++) {
    distance[i] = (withSelf.meanDistance(points, i * nComponents) * (k + 1)) / k;
    if (i % 4096 === 4095) throwIfAborted(signal);
  }
  const positive = (v: number) => (v > 0 ? v : 1);
  const scales = {
    distance: positive(median(distance)),
    residual: positive(median(residual)),
    total: 1,
  };
  const total = Float64Array.from(
    distance,
    (d, i) => d / scales.distance + residual[i] / scales.residual,
  );
  scales.total = positive(median(total));
  total.sort();
  const centile = (q: number) => total[Math.min(n - 1, Math.floor(q * n))] / scales.total;
  return {
    input: 'log1p-cp10k',
    genes: Array.from(genes),
    mean: float32ToBase64(mean),
    components: float32ToBase64(components),
    nComponents,
    k,
    points: float32ToBase64(points),
    nPoints: pointRows.length,
    scales: {
      distance: Math.fround(scales.distance),
      residual: Math.fround(scales.residual),
      total: Math.fround(scales.total),
    },
    fit: {
      nFit: fitRows.length,
      q90: Math.fround(centile(0.9)),
      q99: Math.fround(centile(0.99)),
      seconds: (performance.now() - started) / 1000,
    },
  };
}

const decoded = new WeakMap<NoveltyCard, NoveltyReference>();

/** The card decoded for a model of `nGenes` genes (once per card), or what is wrong with it. */
export function noveltyOf(card: NoveltyCard, nGenes: number): NoveltyReference | string {
  const known = decoded.get(card);
  if (known) return known;
  if (typeof card !== 'object' || card === null) return 'must be an object';
  if (card.input !== 'log1p-cp10k')
    return `input must be 'log1p-cp10k' (got ${JSON.stringify(card.input)})`;
  const { nComponents: d, k, nPoints } = card;
  if (!(Number.isInteger(d) && d >= 1)) return 'nComponents must be a positive integer';
  if (!(Number.isInteger(nPoints) && Number.isInteger(k) && k >= 1 && k <= nPoints))
    return 'k and nPoints must be integers with 1 ≤ k ≤ nPoints';
  const scales = card.scales;
  if (
    !(typeof scales === 'object' && scales !== null) ||
    ![scales.distance, scales.residual, scales.total].every(
      (v) => typeof v === 'number' && v > 0 && Number.isFinite(v),
    )
  )
    return 'scales must hold positive numbers distance, residual and total';
  const genes = card.genes;
  if (
    !Array.isArray(genes) ||
    genes.length === 0 ||
    !genes.every(
      (g, i) => Number.isInteger(g) && g >= 0 && g < nGenes && (i === 0 || g > genes[i - 1]),
    )
  )
    return `genes must be ascending indices of the model's ${nGenes} genes`;
  const mean = float32FromBase64(card.mean, genes.length, 'mean');
  if (typeof mean === 'string') return mean;
  const components = float32FromBase64(card.components, genes.length * d, 'components');
  if (typeof components === 'string') return components;
  const points = float32FromBase64(card.points, nPoints * d, 'points');
  if (typeof points === 'string') return points;
  const geneRow = new Int32Array(nGenes).fill(-1);
  genes.forEach((g, i) => (geneRow[g] = i));
  const reference: NoveltyReference = {
    ...projectionOf(geneRow, mean, components, d),
    nearest: new NearestPoints(points, d, k),
    scales: { distance: scales.distance, residual: scales.residual, total: scales.total },
  };
  decoded.set(card, reference);
  return reference;
}

/** out[i] = the novelty score of `block`'s row i (log1p(CPM) rows on the model's genes). */
export function scoreNovelty(reference: NoveltyReference, block: Csr, out: Float32Array): void {
  const { nearest, scales, nComponents } = reference;
  const coords = new Float64Array(nComponents);
  for (let r = 0; r < block.nRows; r++) {
    const squares = project(reference, block, r, coords);
    const distance = nearest.meanDistance(coords) / scales.distance;
    out[r] = (distance + residualOf(coords, squares) / scales.residual) / scales.total;
  }
}

type Projection = Omit<NoveltyReference, 'nearest' | 'scales'>;

function projectionOf(
  geneRow: Int32Array,
  mean: Float32Array,
  components: Float32Array,
  d: number,
): Projection {
  const origin = new Float64Array(d);
  let meanSquares = 0;
  for (let h = 0; h < mean.length; h++) {
    meanSquares += mean[h] * mean[h];
    for (let j = 0; j < d; j++) origin[j] -= mean[h] * components[h * d + j];
  }
  return { geneRow, components, origin, mean, meanSquares, nComponents: d };
}

/**
 * Row `r` of `m`, centred, in the components: written to `out` (nComponents). Returns the centred
 * row's squared length over all the genes used (for its residual).
 */
function project(p: Projection, m: Csr, r: number, out: Float64Array): number {
  const { geneRow, components, origin, mean, nComponents: d } = p;
  out.set(origin);
  // ‖x − μ‖² = Σ μ² + Σ over stored entries of ((v − μ)² − μ²).
  let squares = p.meanSquares;
  for (let q = m.indptr[r]; q < m.indptr[r + 1]; q++) {
    const h = geneRow[m.indices[q]];
    if (h < 0) continue;
    const v = cp10kOfLog1pCpm(m.data[q]);
    squares += v * (v - 2 * mean[h]);
    const base = h * d;
    for (let j = 0; j < d; j++) out[j] += v * components[base + j];
  }
  return squares;
}

/** The length of what the components leave of a centred row: √(‖x − μ‖² − ‖coords‖²). */
function residualOf(coords: Float64Array, squares: number): number {
  let inside = 0;
  for (let j = 0; j < coords.length; j++) inside += coords[j] * coords[j];
  return Math.sqrt(Math.max(0, squares - inside));
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)];
}

/** The `n` columns of highest log1p(CP10k) variance over `rows` (ascending; none constant). */
function mostVariable(m: Csr, rows: Int32Array, n: number): Int32Array {
  const sum = new Float64Array(m.nCols);
  const sumSq = new Float64Array(m.nCols);
  for (const r of rows) {
    for (let q = m.indptr[r]; q < m.indptr[r + 1]; q++) {
      const v = cp10kOfLog1pCpm(m.data[q]);
      sum[m.indices[q]] += v;
      sumSq[m.indices[q]] += v * v;
    }
  }
  const variance = Float64Array.from(
    sum,
    (s, g) => sumSq[g] / rows.length - (s / rows.length) ** 2,
  );
  const varying = Int32Array.from({ length: m.nCols }, (_, g) => g).filter((g) => variance[g] > 0);
  varying.sort((a, b) => variance[b] - variance[a] || a - b);
  return varying.slice(0, n).sort();
}

/** Rows `rows` of `m`, log1p(CP10k) on the columns `geneRow` maps (to its numbering). */
function cp10kColumns(m: Csr, rows: Int32Array, geneRow: Int32Array, nCols: number): Csr {
  let nnz = 0;
  for (const r of rows)
    for (let q = m.indptr[r]; q < m.indptr[r + 1]; q++) if (geneRow[m.indices[q]] >= 0) nnz++;
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let at = 0;
  rows.forEach((r, i) => {
    for (let q = m.indptr[r]; q < m.indptr[r + 1]; q++) {
      const h = geneRow[m.indices[q]];
      if (h < 0) continue;
      indices[at] = h;
      data[at++] = cp10kOfLog1pCpm(m.data[q]);
    }
    indptr[i + 1] = at;
  });
  return { nRows: rows.length, nCols, indptr, indices, data };
}

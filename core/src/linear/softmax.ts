/**
 * The linear baseline scNym is measured against: a class-balanced softmax (multinomial logistic)
 * regression on log1p(CP10k), CellTypist's recipe. Each cell normalised to 10,000 counts and
 * log1p'd; each gene standardised over the training cells (sklearn's StandardScaler: centred,
 * population variance, a gene without variance left unscaled) and clipped at 10; sklearn's
 * objective (mean weighted cross-entropy + ‖W‖² / (2·C·n), intercept not penalised, C = 1) with
 * class weights n / (k · n_c), fitted by full-batch L-BFGS from zero weights: deterministic, no
 * random draws (the seed only picks the training rows, as for scNym).
 *
 * The centring is never materialised, so the data stay sparse: an unstored entry's standardised
 * value is −mean/sd ≤ 0, never clipped, hence logits = W·f + (b − W·m) with m = mean/sd and f
 * the stored entries' min(x/sd, clip + m); the gradients take the same form. Passes run a row at
 * a time over CSR: memory is the training rows' CSR plus a few genes × classes arrays.
 */
import { throwIfAborted } from '../errors.js';
import { throttledYield } from '../event-loop.js';
import { takeRows, type Csr } from '../csr.js';
import { CPM_TARGET } from '../preprocess.js';

/** CellTypist normalises each cell to this many counts. */
export const CP10K_TARGET = 1e4;

export interface LinearOptions {
  /** sklearn's C: the inverse L2 strength (CellTypist's default 1). */
  c: number;
  /** Weight each class n / (k · n_c) (sklearn's class_weight='balanced'). */
  balanced: boolean;
  /** L-BFGS iterations at most (CellTypist: 1000 below 50k cells). */
  maxIterations: number;
  /** Converged when no gradient entry exceeds this (sklearn's tol). */
  tolerance: number;
  /** Standardised values above this are clipped (CellTypist: 10). */
  clip: number;
  /** Standardise each gene (CellTypist); false: a plain regression on log1p(CP10k), no clip. */
  standardize: boolean;
}

export const LINEAR_DEFAULTS: LinearOptions = {
  c: 1,
  balanced: true,
  maxIterations: 1000,
  tolerance: 1e-4,
  clip: 10,
  standardize: true,
};

export interface LinearSummary {
  iterations: number;
  /** The largest gradient entry fell below the tolerance (else: iterations or no progress). */
  converged: boolean;
  /** Final objective (mean weighted cross-entropy + L2 term). */
  loss: number;
  nTrain: number;
  /** Weight of each class's cells (0 for classes without training cells). */
  classWeights: number[];
  seconds: number;
}

export interface LinearModel {
  genes: string[];
  classNames: string[];
  options: LinearOptions;
  /** Per gene: mean and scale (sd; 1 where it is 0) of log1p(CP10k) over the training cells. */
  mean: Float64Array;
  scale: Float64Array;
  /** genes × classes (row-major) on the standardised values, and the intercepts. */
  weights: Float64Array;
  bias: Float64Array;
  summary: LinearSummary;
}

/** What the trainer reads: scNym's TrainingData (labelled rows are log1p(CPM)). */
export interface LinearData {
  labeled: Csr;
  labels: Int32Array;
  classNames: string[];
  genes: string[];
}

export interface LinearControl {
  signal?: AbortSignal;
  onIteration?: (iteration: number, maxIterations: number, loss: number) => void;
}

/** L-BFGS memory (pairs of steps and gradient changes kept). */
const HISTORY = 10;
/** Armijo sufficient-decrease constant and the most halvings of a step. */
const ARMIJO = 1e-4;
const MAX_HALVINGS = 40;
/** Stops when an iteration lowers the objective by less than this, relatively (scipy's factr 1e7). */
const FTOL = 1e7 * Number.EPSILON;

/** log1p(CP10k) of a log1p(CPM) value (same cell total, a 100× smaller target). */
export function cp10kFromCpm(v: number): number {
  return Math.log1p(Math.expm1(v) * (CP10K_TARGET / CPM_TARGET));
}

/**
 * Fits the model on rows `rows` of `data.labeled` (null: every labelled row), log1p(CPM) values
 * on `data.genes`. Rows without a label (-1) are skipped.
 */
export async function trainLinear(
  data: LinearData,
  rows: Int32Array | null,
  options: Partial<LinearOptions> = {},
  control: LinearControl = {},
): Promise<LinearModel> {
  const o: LinearOptions = { ...LINEAR_DEFAULTS, ...options };
  const started = performance.now();
  const nGenes = data.genes.length;
  const nClasses = data.classNames.length;
  const picked = (rows ?? Int32Array.from(data.labels.keys())).filter((r) => data.labels[r] >= 0);
  if (picked.length === 0) throw new RangeError('trainLinear: no labelled rows to train on');
  const x = takeRows(data.labeled, picked);
  for (let k = 0; k < x.data.length; k++) x.data[k] = cp10kFromCpm(x.data[k]);
  const y = Int32Array.from(picked, (r) => data.labels[r]);

  const { mean, scale } = o.standardize
    ? geneMoments(x, nGenes)
    : { mean: new Float64Array(nGenes), scale: new Float64Array(nGenes).fill(1) };
  const clip = o.standardize ? o.clip : Infinity;
  const m = Float64Array.from(mean, (mu, g) => mu / scale[g]);
  for (let k = 0; k < x.data.length; k++) {
    const g = x.indices[k];
    x.data[k] = Math.min(x.data[k] / scale[g], clip + m[g]);
  }

  const counts = new Float64Array(nClasses);
  for (const c of y) counts[c]++;
  const present = counts.filter((n) => n > 0).length;
  const classWeights = Array.from(counts, (n) =>
    n === 0 ? 0 : o.balanced ? y.length / (present * n) : 1,
  );
  // Σ of the cells' weights: n either way (balanced weights sum to n).
  let totalWeight = 0;
  for (const c of y) totalWeight += classWeights[c];
  const l2 = 1 / (o.c * totalWeight);

  const nWeights = nGenes * nClasses;
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    const W = theta.subarray(0, nWeights);
    const b = theta.subarray(nWeights);
    const gW = grad.subarray(0, nWeights);
    const gb = grad.subarray(nWeights);
    const offset = centredBias(W, b, m, nClasses);
    const z = new Float64Array(nClasses);
    let loss = 0;
    for (let r = 0; r < x.nRows; r++) {
      // A pass over 50k cells takes seconds: a cancel is seen within it.
      if ((r & 4095) === 4095) throwIfAborted(control.signal);
      const start = x.indptr[r];
      const end = x.indptr[r + 1];
      rowLogits(x, start, end, W, offset, z);
      const logit = z[y[r]];
      const weight = classWeights[y[r]];
      loss += weight * (softmaxInPlace(z) - logit);
      // z becomes the residual w·(p − onehot).
      for (let c = 0; c < nClasses; c++) z[c] = weight * (z[c] - (c === y[r] ? 1 : 0));
      for (let k = start; k < end; k++) {
        const v = x.data[k];
        const base = x.indices[k] * nClasses;
        for (let c = 0; c < nClasses; c++) gW[base + c] += v * z[c];
      }
      for (let c = 0; c < nClasses; c++) gb[c] += z[c];
    }
    // The centring term: every row also holds −m in every gene.
    let penalty = 0;
    for (let g = 0; g < nGenes; g++) {
      const base = g * nClasses;
      for (let c = 0; c < nClasses; c++) {
        const w = W[base + c];
        gW[base + c] = (gW[base + c] - m[g] * gb[c]) / totalWeight + l2 * w;
        penalty += w * w;
      }
    }
    for (let c = 0; c < nClasses; c++) gb[c] /= totalWeight;
    return loss / totalWeight + 0.5 * l2 * penalty;
  };

  const pause = throttledYield();
  const fit = await lbfgs(objective, nWeights + nClasses, o, async (iteration, loss) => {
    throwIfAborted(control.signal);
    control.onIteration?.(iteration, o.maxIterations, loss);
    await pause();
  });
  return {
    genes: [...data.genes],
    classNames: [...data.classNames],
    options: o,
    mean,
    scale,
    weights: fit.theta.slice(0, nWeights),
    bias: fit.theta.slice(nWeights),
    summary: {
      iterations: fit.iterations,
      converged: fit.converged,
      loss: fit.loss,
      nTrain: y.length,
      classWeights,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/** Per-gene mean and scale (population sd; 1 where it is ~0) over x's rows, two passes. */
function geneMoments(x: Csr, nGenes: number): { mean: Float64Array; scale: Float64Array } {
  const n = x.nRows;
  const mean = new Float64Array(nGenes);
  const stored = new Float64Array(nGenes);
  for (let k = 0; k < x.data.length; k++) {
    mean[x.indices[k]] += x.data[k];
    stored[x.indices[k]]++;
  }
  for (let g = 0; g < nGenes; g++) mean[g] /= n;
  // Σ (x − μ)² over stored entries, plus μ² for each unstored one.
  const sq = new Float64Array(nGenes);
  for (let k = 0; k < x.data.length; k++) {
    const d = x.data[k] - mean[x.indices[k]];
    sq[x.indices[k]] += d * d;
  }
  const scale = new Float64Array(nGenes);
  for (let g = 0; g < nGenes; g++) {
    const sd = Math.sqrt((sq[g] + (n - stored[g]) * mean[g] * mean[g]) / n);
    // sklearn's _handle_zeros_in_scale: a constant gene is left unscaled.
    scale[g] = sd < 10 * Number.EPSILON ? 1 : sd;
  }
  return { mean, scale };
}

/** b − Wᵀm: the intercept once the centring is folded in. */
function centredBias(W: Float64Array, b: Float64Array, m: Float64Array, nClasses: number) {
  const offset = Float64Array.from(b);
  for (let g = 0; g < m.length; g++) {
    if (m[g] === 0) continue;
    const base = g * nClasses;
    for (let c = 0; c < nClasses; c++) offset[c] -= W[base + c] * m[g];
  }
  return offset;
}

function rowLogits(
  x: Csr,
  start: number,
  end: number,
  W: Float64Array,
  offset: Float64Array,
  out: Float64Array,
): void {
  const nClasses = offset.length;
  out.set(offset);
  for (let k = start; k < end; k++) {
    const v = x.data[k];
    const base = x.indices[k] * nClasses;
    for (let c = 0; c < nClasses; c++) out[c] += v * W[base + c];
  }
}

/** z ← softmax(z) in place; returns log Σ exp(z) (of z before), so that −log p_c = that − z_c. */
export function softmaxInPlace(z: Float64Array): number {
  let max = -Infinity;
  for (let c = 0; c < z.length; c++) if (z[c] > max) max = z[c];
  let sum = 0;
  for (let c = 0; c < z.length; c++) {
    z[c] = Math.exp(z[c] - max);
    sum += z[c];
  }
  for (let c = 0; c < z.length; c++) z[c] /= sum;
  return max + Math.log(sum);
}

// ---------------------------------------------------------------------------------------------
// L-BFGS (two-loop recursion, backtracking Armijo line search)

interface Fit {
  theta: Float64Array;
  loss: number;
  iterations: number;
  converged: boolean;
}

async function lbfgs(
  f: (theta: Float64Array, grad: Float64Array) => number,
  n: number,
  o: LinearOptions,
  afterIteration: (iteration: number, loss: number) => Promise<void>,
): Promise<Fit> {
  let theta = new Float64Array(n);
  let grad = new Float64Array(n);
  let loss = f(theta, grad);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const direction = new Float64Array(n);
  const alpha = new Float64Array(HISTORY);
  let nextTheta = new Float64Array(n);
  let nextGrad = new Float64Array(n);
  let iteration = 0;
  let converged = maxAbs(grad) <= o.tolerance;
  while (!converged && iteration < o.maxIterations) {
    // direction = −H·grad
    for (let i = 0; i < n; i++) direction[i] = -grad[i];
    for (let j = S.length - 1; j >= 0; j--) {
      alpha[j] = rho[j] * dot(S[j], direction);
      axpy(-alpha[j], Y[j], direction);
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < n; i++) direction[i] *= gamma;
    }
    for (let j = 0; j < S.length; j++) {
      const beta = rho[j] * dot(Y[j], direction);
      axpy(alpha[j] - beta, S[j], direction);
    }
    let slope = dot(grad, direction);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -grad[i];
      slope = dot(grad, direction);
    }
    let step = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let nextLoss = NaN;
    let accepted = false;
    for (let h = 0; h < MAX_HALVINGS; h++) {
      for (let i = 0; i < n; i++) nextTheta[i] = theta[i] + step * direction[i];
      nextLoss = f(nextTheta, nextGrad);
      if (nextLoss <= loss + ARMIJO * step * slope) {
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) break;
    iteration++;
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = nextTheta[i] - theta[i];
      yv[i] = nextGrad[i] - grad[i];
    }
    const sy = dot(s, yv);
    // Keeps the curvature pairs that keep the inverse Hessian estimate positive definite.
    if (sy > 1e-10 * dot(yv, yv)) {
      if (S.length === HISTORY) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const decrease = loss - nextLoss;
    [theta, nextTheta] = [nextTheta, theta];
    [grad, nextGrad] = [nextGrad, grad];
    loss = nextLoss;
    converged = maxAbs(grad) <= o.tolerance;
    await afterIteration(iteration, loss);
    if (decrease <= FTOL * Math.max(Math.abs(loss), Math.abs(loss + decrease), 1)) break;
  }
  return { theta, loss, iterations: iteration, converged };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) > m) m = Math.abs(a[i]);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Prediction

export interface LinearPrediction {
  /** Predicted class per row (argmax). */
  codes: Int32Array;
  /** Its probability. */
  confidence: Float32Array;
  /** rows × classes, row-major. */
  probabilities: Float32Array;
}

/**
 * Class probabilities of a block of cells: log1p(CPM) CSR on the model's genes, in its order
 * (what prepare's log1pCpmBlocks yields); a caller streams a large query block by block.
 */
export function predictLinear(model: LinearModel, block: Csr): LinearPrediction {
  const nClasses = model.classNames.length;
  const { weights: W, mean, scale } = model;
  const clip = model.options.standardize ? model.options.clip : Infinity;
  const m = Float64Array.from(mean, (mu, g) => mu / scale[g]);
  const offset = centredBias(W, model.bias, m, nClasses);
  const codes = new Int32Array(block.nRows);
  const confidence = new Float32Array(block.nRows);
  const probabilities = new Float32Array(block.nRows * nClasses);
  const z = new Float64Array(nClasses);
  for (let r = 0; r < block.nRows; r++) {
    z.set(offset);
    for (let k = block.indptr[r]; k < block.indptr[r + 1]; k++) {
      const g = block.indices[k];
      const v = Math.min(cp10kFromCpm(block.data[k]) / scale[g], clip + m[g]);
      const base = g * nClasses;
      for (let c = 0; c < nClasses; c++) z[c] += v * W[base + c];
    }
    softmaxInPlace(z);
    let best = 0;
    for (let c = 0; c < nClasses; c++) {
      probabilities[r * nClasses + c] = z[c];
      if (z[c] > z[best]) best = c;
    }
    codes[r] = best;
    confidence[r] = z[best];
  }
  return { codes, confidence, probabilities };
}

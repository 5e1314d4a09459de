/**
 * The linear head a model may carry beside its network: the class-balanced softmax regression of
 * softmax.ts on log1p(CP10k) without per-gene scaling, trained on the network's training split,
 * whose probabilities are averaged with the network's (`blend` of them). Across the benchmark
 * pairs (README → Accuracy) the average beat the network alone on every pair. It lives in the
 * model card (float32 weights as base64) so that every way a model travels (files, threads,
 * shards, the browser) carries it, and prediction always reads it from there: a model predicts
 * the same from memory and from its files.
 */
import { float32FromBase64, float32ToBase64 } from '../base64.js';
import type { Csr } from '../csr.js';
import { cp10kFromCpm, softmaxInPlace, type LinearModel } from './softmax.js';

/** What the card holds. */
export interface LinearHeadCard {
  /** The linear model's share of the averaged probabilities (0 < blend ≤ 1). */
  blend: number;
  /** Its input: log1p of each cell normalised to 10,000 counts, genes unscaled. */
  input: 'log1p-cp10k';
  /** genes × classes, row-major, little-endian float32, base64. */
  weights: string;
  /** One intercept per class. */
  bias: number[];
  /** How it was fitted (softmax.ts's options and summary). */
  fit: {
    c: number;
    iterations: number;
    converged: boolean;
    nTrain: number;
    seconds: number;
    /** The network's held-out accuracy without the head (the training summary's is with it). */
    networkHeldOutAccuracy?: number;
  };
}

/** The head decoded for prediction. */
export interface LinearHead {
  blend: number;
  nGenes: number;
  nClasses: number;
  weights: Float32Array;
  bias: Float32Array;
}

/** The card entry of a trained unscaled linear model. */
export function linearHeadCard(model: LinearModel, blend: number): LinearHeadCard {
  if (model.options.standardize) throw new RangeError('a linear head is an unscaled model');
  return {
    blend,
    input: 'log1p-cp10k',
    weights: float32ToBase64(model.weights),
    bias: Array.from(model.bias, (b) => Math.fround(b)),
    fit: {
      c: model.options.c,
      iterations: model.summary.iterations,
      converged: model.summary.converged,
      nTrain: model.summary.nTrain,
      seconds: model.summary.seconds,
    },
  };
}

const decoded = new WeakMap<LinearHeadCard, LinearHead>();

/**
 * The card's head for a model of `nGenes` genes and `nClasses` classes (decoded once per card),
 * or a message saying what is wrong with it.
 */
export function linearHeadOf(
  card: LinearHeadCard,
  nGenes: number,
  nClasses: number,
): LinearHead | string {
  const known = decoded.get(card);
  if (known) return known;
  if (typeof card !== 'object' || card === null) return 'must be an object';
  if (!(typeof card.blend === 'number' && card.blend > 0 && card.blend <= 1))
    return `blend must be a number in (0, 1] (got ${JSON.stringify(card.blend)})`;
  if (card.input !== 'log1p-cp10k')
    return `input must be 'log1p-cp10k' (got ${JSON.stringify(card.input)})`;
  if (!Array.isArray(card.bias) || card.bias.length !== nClasses || !card.bias.every(isFinite))
    return `bias must be ${nClasses} numbers, one per class`;
  const weights = float32FromBase64(card.weights, nGenes * nClasses, 'weights');
  if (typeof weights === 'string') return `${weights} (${nGenes} genes × ${nClasses} classes)`;
  const head = {
    blend: card.blend,
    nGenes,
    nClasses,
    weights,
    bias: Float32Array.from(card.bias),
  };
  decoded.set(card, head);
  return head;
}

/**
 * Averages the head's probabilities into `probabilities` (rows × classes, the network's) for
 * `block`, log1p(CPM) rows on the model's genes: p ← (1 − blend)·p + blend·softmax(W·x + b),
 * x = log1p(CP10k) (from a table: see cp10kOfLog1pCpm).
 */
export function blendLinearHead(head: LinearHead, block: Csr, probabilities: Float32Array): void {
  const { nClasses: h, weights: W, bias, blend } = head;
  const { indptr, indices, data } = block;
  const z = new Float64Array(h);
  for (let r = 0; r < block.nRows; r++) {
    z.set(bias);
    const end = indptr[r + 1];
    let k = indptr[r];
    // Four stored entries at a time: one pass over z per four rows of W.
    for (; k + 3 < end; k += 4) {
      const v0 = cp10kOfLog1pCpm(data[k]);
      const v1 = cp10kOfLog1pCpm(data[k + 1]);
      const v2 = cp10kOfLog1pCpm(data[k + 2]);
      const v3 = cp10kOfLog1pCpm(data[k + 3]);
      const a0 = indices[k] * h;
      const a1 = indices[k + 1] * h;
      const a2 = indices[k + 2] * h;
      const a3 = indices[k + 3] * h;
      for (let c = 0; c < h; c++)
        z[c] += v0 * W[a0 + c] + v1 * W[a1 + c] + v2 * W[a2 + c] + v3 * W[a3 + c];
    }
    for (; k < end; k++) {
      const v = cp10kOfLog1pCpm(data[k]);
      const a = indices[k] * h;
      for (let c = 0; c < h; c++) z[c] += v * W[a + c];
    }
    softmaxInPlace(z);
    const row = r * h;
    for (let c = 0; c < h; c++)
      probabilities[row + c] = (1 - blend) * probabilities[row + c] + blend * z[c];
  }
}

/** The table's step and span: log1p(CPM) never exceeds log1p(1e6) ≈ 13.8. */
const STEPS_PER_UNIT = 2048;
const SPAN = 16;
let table: Float64Array | undefined;

/**
 * cp10kFromCpm by linear interpolation in a table of 32,769 values: within 1e-8 of it (its
 * second derivative is at most 1/4, the step 1/2048), a few times faster than log1p(expm1(v)),
 * which per stored entry cost as much as the regression itself.
 */
export function cp10kOfLog1pCpm(v: number): number {
  if (!(v >= 0 && v < SPAN)) return cp10kFromCpm(v);
  const t = (table ??= Float64Array.from({ length: SPAN * STEPS_PER_UNIT + 1 }, (_, i) =>
    cp10kFromCpm(i / STEPS_PER_UNIT),
  ));
  const x = v * STEPS_PER_UNIT;
  const i = x | 0;
  return t[i] + (x - i) * (t[i + 1] - t[i]);
}

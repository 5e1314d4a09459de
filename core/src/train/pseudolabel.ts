/**
 * Class-balanced pseudolabel rounds (self-training; class-balanced as in Zou et al. 2018's CBST):
 * after a round of training, the most confident query cells of each predicted class join the
 * labelled cells with that class, and training runs again. Taking the same top fraction of every
 * predicted class, capped per class, keeps the large classes from swamping the small ones.
 */
import { concatBlocks, takeRows } from '../csr.js';
import type { TrainingData } from './trainer.js';

export interface PseudolabelOptions {
  /** Least confidence (max softmax) of a cell taken. */
  threshold: number;
  /**
   * Top fraction of each predicted class taken; a class also gets at most this fraction of an
   * even share of the query (fraction · nCells / nClasses).
   */
  fraction: number;
}

/** Query rows (ascending) to add as labelled, and their predicted class codes. */
export interface PseudolabelChoice {
  rows: Int32Array;
  codes: Int32Array;
}

/**
 * The cells to pseudolabel from row-major probabilities (nCells × nClasses). Deterministic: ties
 * in confidence go to the lower row.
 */
export function choosePseudolabels(
  probabilities: Float32Array,
  nClasses: number,
  o: PseudolabelOptions,
): PseudolabelChoice {
  const nCells = probabilities.length / nClasses;
  const predicted = new Int32Array(nCells);
  const confidence = new Float32Array(nCells);
  const perClass = new Int32Array(nClasses);
  for (let c = 0; c < nCells; c++) {
    let best = 0;
    for (let k = 1; k < nClasses; k++)
      if (probabilities[c * nClasses + k] > probabilities[c * nClasses + best]) best = k;
    predicted[c] = best;
    confidence[c] = probabilities[c * nClasses + best];
    perClass[best]++;
  }
  const cap = Math.ceil((o.fraction * nCells) / nClasses);
  // Each class's confident cells, grouped by class (counting sort), then ranked within it.
  const start = new Int32Array(nClasses + 1);
  for (let c = 0; c < nCells; c++) if (confidence[c] >= o.threshold) start[predicted[c] + 1]++;
  for (let k = 0; k < nClasses; k++) start[k + 1] += start[k];
  const grouped = new Int32Array(start[nClasses]);
  const fill = start.slice(0, nClasses);
  for (let c = 0; c < nCells; c++)
    if (confidence[c] >= o.threshold) grouped[fill[predicted[c]]++] = c;
  const take = new Uint8Array(nCells);
  let nTaken = 0;
  for (let k = 0; k < nClasses; k++) {
    const cells = grouped.subarray(start[k], start[k + 1]);
    cells.sort((a, b) => confidence[b] - confidence[a] || a - b);
    const n = Math.min(cells.length, cap, Math.ceil(o.fraction * perClass[k]));
    for (let i = 0; i < n; i++) take[cells[i]] = 1;
    nTaken += n;
  }
  const rows = new Int32Array(nTaken);
  const codes = new Int32Array(nTaken);
  let n = 0;
  for (let c = 0; c < nCells; c++) {
    if (!take[c]) continue;
    rows[n] = c;
    codes[n++] = predicted[c];
  }
  return { rows, codes };
}

/**
 * `data` with the chosen unlabelled rows appended to the labelled ones (in the query's domain).
 * Model selection and the held-out score stay on the reference rows of `split`, so the new rows
 * are only trained on; they also stay in the unlabelled pool.
 */
export function withPseudolabels(
  data: TrainingData,
  split: { selection: Int32Array; heldOut: Int32Array },
  choice: PseudolabelChoice,
): TrainingData {
  if (!data.unlabeled) throw new RangeError('pseudolabels need unlabelled rows');
  const nLabeled = data.labeled.nRows;
  const nAdded = choice.rows.length;
  const labels = new Int32Array(nLabeled + nAdded);
  labels.set(data.labels);
  labels.set(choice.codes, nLabeled);
  const domains = new Int32Array(nLabeled + nAdded);
  if (data.labeledDomains) domains.set(data.labeledDomains);
  for (let i = 0; i < nAdded; i++)
    domains[nLabeled + i] = data.unlabeledDomains?.[choice.rows[i]] ?? 1;
  return {
    ...data,
    labeled: concatBlocks([data.labeled, takeRows(data.unlabeled, choice.rows)]),
    labels,
    labeledDomains: domains,
    reserved: { selection: split.selection, heldOut: split.heldOut },
  };
}

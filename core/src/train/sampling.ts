/** Data splits and mini-batch index streams. */
import type { Rng } from '../random.js';

export interface LabeledSplit {
  /** Rows trained on. */
  train: Int32Array;
  /** Rows whose loss selects the best epoch. */
  selection: Int32Array;
  /** Rows held out for the final score. */
  heldOut: Int32Array;
}

/**
 * The original's nested random split: `heldOutFraction` of rows held out, then
 * `selectionFraction` of the rest for model selection (0.1/0.1 ⇒ 81/9/10). Not stratified.
 * Keeps at least one training row.
 */
export function splitLabeled(
  n: number,
  heldOutFraction: number,
  selectionFraction: number,
  rng: Rng,
): LabeledSplit {
  const order = rng.permutation(n);
  const nHeld = Math.min(Math.floor(n * heldOutFraction), Math.max(n - 1, 0));
  const rest = order.subarray(nHeld);
  const restOrder = rng.permutation(rest.length);
  const nSelection = Math.min(
    Math.floor(rest.length * selectionFraction),
    Math.max(rest.length - 1, 0),
  );
  const shuffledRest = Int32Array.from(restOrder, (i) => rest[i]);
  return {
    heldOut: Int32Array.from(order.subarray(0, nHeld)),
    selection: shuffledRest.slice(0, nSelection),
    train: shuffledRest.slice(nSelection),
  };
}

/**
 * Batches of one epoch over `rows`, like a shuffled DataLoader with drop_last, except that a
 * batch is never larger than the data (so tiny data still makes one step). With `balanced`,
 * rows are drawn with replacement, each class equally likely (WeightedRandomSampler with
 * weights 1/count). With `minBatches`, further shuffled passes are appended until reached;
 * with `maxBatches`, the epoch ends there (the step budget's shorter epochs).
 */
export function epochBatches(
  rows: Int32Array,
  batchSize: number,
  rng: Rng,
  options: {
    labels?: Int32Array;
    balanced?: boolean;
    minBatches?: number;
    maxBatches?: number;
  } = {},
): Int32Array[] {
  const size = Math.min(batchSize, rows.length);
  const batches: Int32Array[] = [];
  const minBatches = Math.max(1, options.minBatches ?? 1);
  const maxBatches = options.maxBatches ?? Infinity;
  const draw = options.balanced && options.labels ? balancedDraw(rows, options.labels, rng) : null;
  do {
    const order = draw
      ? draw(Math.min(rows.length, (maxBatches - batches.length) * size))
      : Int32Array.from(rng.permutation(rows.length), (i) => rows[i]);
    for (let start = 0; start + size <= order.length; start += size) {
      if (batches.length >= maxBatches) return batches;
      batches.push(order.slice(start, start + size));
    }
  } while (batches.length < minBatches);
  return batches;
}

/** How many epochs of how many steps training runs (the 'start' event reports it). */
export interface StepPlan {
  nEpochs: number;
  stepsPerEpoch: number;
  /** Steps of an epoch without the budget: epochBatches' whole passes over the training rows. */
  stepsPerPass: number;
  /** The step budget cut the epochs short. */
  budgeted: boolean;
}

/**
 * Steps per epoch: what epochBatches makes over `nTrain` rows (whole passes until
 * minStepsPerEpoch), cut to ⌊maxSteps / nEpochs⌋ when the epochs would exceed the budget; fewer
 * steps than epochs leave one step per epoch for maxSteps epochs. So nEpochs × stepsPerEpoch ≤
 * maxSteps always.
 */
export function stepPlan(
  nTrain: number,
  o: { nEpochs: number; batchSize: number; minStepsPerEpoch: number; maxSteps: number },
): StepPlan {
  const perPass = Math.max(1, Math.floor(nTrain / Math.max(1, Math.min(o.batchSize, nTrain))));
  const stepsPerPass = perPass * Math.max(1, Math.ceil(o.minStepsPerEpoch / perPass));
  if (!(o.maxSteps > 0) || o.nEpochs * stepsPerPass <= o.maxSteps)
    return { nEpochs: o.nEpochs, stepsPerEpoch: stepsPerPass, stepsPerPass, budgeted: false };
  const perEpoch = Math.floor(o.maxSteps / o.nEpochs);
  return perEpoch >= 1
    ? { nEpochs: o.nEpochs, stepsPerEpoch: perEpoch, stepsPerPass, budgeted: true }
    : { nEpochs: o.maxSteps, stepsPerEpoch: 1, stepsPerPass, budgeted: true };
}

/** Returns a sampler drawing n rows with replacement, each class equally likely. */
function balancedDraw(rows: Int32Array, labels: Int32Array, rng: Rng): (n: number) => Int32Array {
  const byClass = new Map<number, number[]>();
  for (const row of rows) {
    const list = byClass.get(labels[row]) ?? [];
    list.push(row);
    byClass.set(labels[row], list);
  }
  const groups = [...byClass.keys()].sort((a, b) => a - b).map((c) => byClass.get(c)!);
  return (n) => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const group = groups[rng.int(groups.length)];
      out[i] = group[rng.int(group.length)];
    }
    return out;
  };
}

/**
 * An endless stream of batches over `rows` (the original's `repeater` around a shuffled
 * drop_last DataLoader): each pass is a fresh shuffle; batch size capped at the row count.
 */
export class CyclingBatches {
  private queue: Int32Array[] = [];
  private readonly size: number;

  constructor(
    private readonly rows: Int32Array,
    batchSize: number,
    private readonly rng: Rng,
  ) {
    if (rows.length === 0) throw new RangeError('CyclingBatches: no rows');
    this.size = Math.min(batchSize, rows.length);
  }

  next(): Int32Array {
    if (this.queue.length === 0)
      this.queue = epochBatches(this.rows, this.size, this.rng).reverse();
    return this.queue.pop()!;
  }
}

/** Row sets read from files too large to train on whole (rows ascending, in file order). */
export interface ReferenceSample {
  /** Labelled rows trained on: a class-balanced subsample. */
  train: Int32Array;
  /** Labelled rows outside `train` that select the best epoch and fit the temperature. */
  selection: Int32Array;
  /** Labelled rows outside both, for the held-out score. */
  heldOut: Int32Array;
}

/**
 * When more rows are labelled (code ≥ 0) than `maxCells`, a class-balanced subsample to train
 * on: every class keeps min(count, cap) rows, the cap the largest that fits (the remainder goes
 * one row each to the first capped classes), so small classes are kept whole. Selection and
 * held-out rows, `selectionFraction` / `heldOutFraction` of the subsample, are drawn uniformly
 * from the labelled rows left out, so none is a training cell. Null when everything fits.
 */
export function sampleReference(
  codes: Int32Array,
  maxCells: number,
  fractions: { selection: number; heldOut: number },
  rng: Rng,
): ReferenceSample | null {
  let nClasses = 0;
  let nLabelled = 0;
  for (const c of codes) {
    if (c < 0) continue;
    nLabelled++;
    if (c + 1 > nClasses) nClasses = c + 1;
  }
  if (!(maxCells > 0) || nLabelled <= maxCells) return null;
  // Leave enough labelled rows outside the subsample for the selection and held-out rows.
  const nTrain = Math.min(
    maxCells,
    Math.floor(nLabelled / (1 + fractions.selection + fractions.heldOut)),
  );
  // Rows grouped by class (a counting sort): class k holds byClass[offsets[k] … offsets[k+1]).
  const counts = new Int32Array(nClasses);
  for (const c of codes) if (c >= 0) counts[c]++;
  const offsets = new Int32Array(nClasses + 1);
  for (let k = 0; k < nClasses; k++) offsets[k + 1] = offsets[k] + counts[k];
  const byClass = new Int32Array(nLabelled);
  const fill = offsets.slice(0, nClasses);
  for (let r = 0; r < codes.length; r++) if (codes[r] >= 0) byClass[fill[codes[r]]++] = r;

  const quota = balancedQuota(counts, nTrain);
  const chosen = new Uint8Array(codes.length);
  const train = new Int32Array(nTrain);
  let t = 0;
  for (let k = 0; k < nClasses; k++) {
    const group = byClass.subarray(offsets[k], offsets[k + 1]);
    partialShuffle(group, quota[k], rng);
    for (let i = 0; i < quota[k]; i++) {
      train[t++] = group[i];
      chosen[group[i]] = 1;
    }
  }
  const rest = new Int32Array(nLabelled - nTrain);
  let n = 0;
  for (let r = 0; r < codes.length; r++) if (codes[r] >= 0 && !chosen[r]) rest[n++] = r;
  const nSelection = Math.floor(nTrain * fractions.selection);
  const nHeldOut = Math.floor(nTrain * fractions.heldOut);
  partialShuffle(rest, nSelection + nHeldOut, rng);
  return {
    train: train.sort(),
    selection: rest.slice(0, nSelection).sort(),
    heldOut: rest.slice(nSelection, nSelection + nHeldOut).sort(),
  };
}

/** Per class, min(count, cap) with the cap the largest whose total fits `total` (filled up). */
function balancedQuota(counts: Int32Array, total: number): Int32Array {
  const sorted = Int32Array.from(counts).sort();
  // The cap: walk the classes from the smallest; those under the cap are kept whole.
  let left = total;
  let cap = 0;
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(left / (sorted.length - i));
    if (sorted[i] > share) {
      cap = share;
      break;
    }
    left -= sorted[i];
    cap = sorted[i];
  }
  const quota = Int32Array.from(counts, (c) => Math.min(c, cap));
  let remainder = total - quota.reduce((a, b) => a + b, 0);
  for (let k = 0; k < counts.length && remainder > 0; k++) {
    if (counts[k] > quota[k]) {
      quota[k]++;
      remainder--;
    }
  }
  return quota;
}

/** `k` of `n` rows, uniformly without replacement, ascending; null when k ≥ n (all of them). */
export function sampleRows(n: number, k: number, rng: Rng): Int32Array | null {
  if (!(k > 0) || k >= n) return null;
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  partialShuffle(rows, k, rng);
  return rows.slice(0, k).sort();
}

/** Fisher–Yates on the first k positions: values[0..k) become a uniform sample of values. */
function partialShuffle(values: Int32Array, k: number, rng: Rng): void {
  for (let i = 0; i < Math.min(k, values.length - 1); i++) {
    const j = i + rng.int(values.length - i);
    const tmp = values[i];
    values[i] = values[j];
    values[j] = tmp;
  }
}

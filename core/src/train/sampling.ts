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
 * weights 1/count). With `minBatches`, further shuffled passes are appended until reached.
 */
export function epochBatches(
  rows: Int32Array,
  batchSize: number,
  rng: Rng,
  options: { labels?: Int32Array; balanced?: boolean; minBatches?: number } = {},
): Int32Array[] {
  const size = Math.min(batchSize, rows.length);
  const batches: Int32Array[] = [];
  const minBatches = Math.max(1, options.minBatches ?? 1);
  const draw = options.balanced && options.labels ? balancedDraw(rows, options.labels, rng) : null;
  do {
    const order = draw
      ? draw(rows.length)
      : Int32Array.from(rng.permutation(rows.length), (i) => rows[i]);
    for (let start = 0; start + size <= order.length; start += size) {
      batches.push(order.slice(start, start + size));
    }
  } while (batches.length < minBatches);
  return batches;
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

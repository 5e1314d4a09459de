/**
 * Row ranges, the unit prediction is spread by: a query's rows split into contiguous ranges at
 * the store's chunk boundaries (so each part reads whole chunks), predicted apart (worker
 * threads, Slurm array tasks, Kubernetes indexed jobs) and put back together into one
 * prediction, each row exactly once.
 */
import { ScnymError } from './errors.js';
import {
  labelCells,
  outputArrays,
  outputRows,
  type OutputArrays,
  type OutputWidths,
  type Prediction,
} from './predict.js';

/** Rows [start, end) of a matrix. */
export interface RowRange {
  start: number;
  end: number;
}

/** Throws unless `range` is a range of integers inside [0, nRows]. */
export function checkRange(range: RowRange, nRows: number, source?: string): void {
  const { start, end } = range;
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end)) {
    throw new RangeError(`rows [${start}, ${end}) is not a range of rows`);
  }
  if (end > nRows) {
    throw new ScnymError(`has ${nRows} cells; rows [${start}, ${end}) are past its end`, {
      file: source,
      code: 'bad-input',
      hint: 'a shard or row range must lie within the query it was made for',
    });
  }
}

/**
 * `range` cut into `parts` contiguous ranges of about equal rows, every cut moved to the chunk
 * boundary nearest to it (`alignRow`, a MatrixReader's; identity when not given). Ranges may be
 * empty when there are more parts than chunks; together they cover `range` exactly once.
 */
export function splitRows(
  range: RowRange,
  parts: number,
  alignRow: (row: number) => number = (row) => row,
): RowRange[] {
  if (!(Number.isInteger(parts) && parts >= 1)) {
    throw new RangeError(`parts must be a positive integer (got ${parts})`);
  }
  const n = range.end - range.start;
  const cuts = [range.start];
  for (let k = 1; k < parts; k++) {
    const aligned = alignRow(range.start + Math.round((k * n) / parts));
    cuts.push(Math.min(range.end, Math.max(cuts[k - 1], aligned)));
  }
  cuts.push(range.end);
  return cuts.slice(0, parts).map((start, k) => ({ start, end: cuts[k + 1] }));
}

/**
 * `range` cut into parts that shrink as the rows run out, for `takers` threads that each take
 * the next part when they finish one (guided self-scheduling): each part is about the rows left
 * ÷ (2 × takers), never under `minRows`, cut at a chunk boundary (`alignRow`), none empty. Big
 * parts first keep the per-part cost low; small parts last let the threads finish together,
 * where equal parts leave one thread idle for up to a part's time at the end.
 */
export function shrinkingParts(
  range: RowRange,
  takers: number,
  minRows: number,
  alignRow: (row: number) => number = (row) => row,
): RowRange[] {
  if (!(Number.isInteger(takers) && takers >= 1)) {
    throw new RangeError(`takers must be a positive integer (got ${takers})`);
  }
  if (!(Number.isInteger(minRows) && minRows >= 1)) {
    throw new RangeError(`minRows must be a positive integer (got ${minRows})`);
  }
  const parts: RowRange[] = [];
  let start = range.start;
  while (start < range.end) {
    const left = range.end - start;
    const size = Math.max(minRows, Math.ceil(left / (2 * takers)));
    let ahead = size;
    let end = alignRow(Math.min(range.end, start + ahead));
    // A chunk wider than the part: the part runs on to the next chunk boundary.
    while (end <= start && start + ahead < range.end) {
      ahead *= 2;
      end = alignRow(Math.min(range.end, start + ahead));
    }
    if (!(end > start && end <= range.end)) end = range.end;
    // Too few rows left for a part of their own: the last part takes them.
    if (range.end - end < minRows) end = range.end;
    parts.push({ start, end });
    start = end;
  }
  return parts;
}

/** One part's outputs, rows of its range in order (as a Prediction or a shard holds them). */
export type PartArrays = OutputArrays;

/**
 * The outputs of a whole range, allocated once at full size, filled part by part (each part's
 * rows written where they belong, overlaps refused) and returned as one Prediction once every
 * row has been filled exactly once.
 */
export class PredictionAssembly {
  private readonly arrays: PartArrays;
  private readonly widths: OutputWidths;
  /** Filled ranges, kept sorted by start. */
  private readonly filled: RowRange[] = [];

  constructor(
    /** The rows the assembled prediction covers. */
    readonly range: RowRange,
    readonly classNames: readonly string[],
    readonly embeddingDim: number,
    /** 1 with a novelty score, 0 without. */
    readonly noveltyDim: number,
  ) {
    this.widths = { nClasses: classNames.length, embeddingDim, noveltyDim };
    this.arrays = outputArrays(range.end - range.start, this.widths);
  }

  /**
   * Reserves `part`'s rows and returns views of where they go, to be filled by the caller (e.g.
   * read from a file straight into them). Refuses rows outside the range or already taken.
   */
  slot(part: RowRange): PartArrays {
    const { start, end } = part;
    if (!(start >= this.range.start && end <= this.range.end && start <= end)) {
      throw new RangeError(
        `rows [${start}, ${end}) are outside [${this.range.start}, ${this.range.end})`,
      );
    }
    let at = 0;
    while (at < this.filled.length && this.filled[at].start < start) at++;
    const before = this.filled[at - 1];
    const after = this.filled[at];
    if ((before && before.end > start) || (after && after.start < end && start < end)) {
      const other = before && before.end > start ? before : after;
      throw new ScnymError(
        `rows [${start}, ${end}) overlap rows [${other.start}, ${other.end}) already predicted`,
        { code: 'bad-input', hint: 'give each row range (shard) once' },
      );
    }
    this.filled.splice(at, 0, { start, end });
    return outputRows(this.arrays, start - this.range.start, end - this.range.start, this.widths);
  }

  /** Copies a part's outputs in. */
  add(part: RowRange, arrays: PartArrays): void {
    const n = part.end - part.start;
    const k = this.classNames.length;
    if (
      arrays.codes.length !== n ||
      arrays.confidence.length !== n ||
      arrays.probabilities.length !== n * k ||
      arrays.embedding.length !== n * this.embeddingDim ||
      arrays.novelty.length !== n * this.noveltyDim
    ) {
      throw new RangeError(`outputs for rows [${part.start}, ${part.end}) have the wrong sizes`);
    }
    const view = this.slot(part);
    view.codes.set(arrays.codes);
    view.confidence.set(arrays.confidence);
    view.probabilities.set(arrays.probabilities);
    view.embedding.set(arrays.embedding);
    view.novelty.set(arrays.novelty);
  }

  /** The rows no part has filled yet. */
  missing(): RowRange[] {
    const gaps: RowRange[] = [];
    let at = this.range.start;
    for (const r of this.filled) {
      if (r.start > at) gaps.push({ start: at, end: r.start });
      at = Math.max(at, r.end);
    }
    if (at < this.range.end) gaps.push({ start: at, end: this.range.end });
    return gaps;
  }

  /** The whole prediction; throws if rows are missing. */
  finish(unknownThreshold: number | undefined, nMissingGenes: number): Prediction {
    const gaps = this.missing();
    if (gaps.length > 0) {
      const shown = gaps
        .slice(0, 3)
        .map((g) => `[${g.start}, ${g.end})`)
        .join(', ');
      throw new ScnymError(`rows ${shown}${gaps.length > 3 ? ', …' : ''} have no prediction`, {
        code: 'bad-input',
        hint: 'predict every row range (shard) before putting them together',
      });
    }
    const classNames = [...this.classNames];
    const { codes, confidence } = this.arrays;
    return {
      nCells: this.range.end - this.range.start,
      classNames,
      labels: labelCells(codes, confidence, classNames, unknownThreshold),
      codes,
      confidence,
      probabilities: this.arrays.probabilities,
      embedding: this.arrays.embedding,
      novelty: this.arrays.novelty,
      embeddingDim: this.embeddingDim,
      nMissingGenes,
    };
  }
}

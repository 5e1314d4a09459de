/**
 * Summarises predictions into the model the results webview shows: counts and confidence per
 * label, a confidence histogram, the least confident cells (with their runner-up class), and,
 * with truth labels, the same scores `scnym evaluate` reports.
 *
 * Platform-neutral on purpose (no vscode, DOM or fs): the worker calls it after a job, the tests
 * call it directly, and the webview type-check includes it. It therefore imports only core's
 * pure modules; core's evaluate.ts would drag TensorFlow.js in through predict.ts, so the
 * scores are recomputed here with core's metric functions and the same conventions ('Unknown'
 * is an abstention, wrong for accuracy; ECE scores the best class when probabilities exist).
 */
import { categoryColors } from '../../core/src/colors.js';
import {
  accuracy,
  balancedAccuracy,
  expectedCalibrationError,
} from '../../core/src/train/metrics.js';
import type { ClassRow, LowConfidenceCell, ResultsModel, TrainingInfo } from './messages.js';

/** core's UNKNOWN_LABEL (predict.ts imports TensorFlow.js, so it is not imported from there). */
export const UNKNOWN_LABEL = 'Unknown';

export interface ResultsInput {
  /** Display name of the dataset. */
  dataset: string;
  path: string;
  keyAdded: string;
  cellNames: readonly string[];
  /** Predicted label per cell. */
  labels: readonly string[];
  /** Confidence (max probability) per cell. */
  confidence: ArrayLike<number>;
  /** The model's classes, in its order (fixes the palette colours like core's annotate does). */
  classNames?: readonly string[];
  /** Label → CSS colour (e.g. the dataset's uns colours); default: core's palette. */
  colors?: Readonly<Record<string, string>>;
  /** Row-major cells × classes, for the runner-up class and the best class of 'Unknown' cells. */
  probabilities?: { data: ArrayLike<number>; nClasses: number; classNames: readonly string[] };
  /** Known label per cell (null = none); scored when present. */
  truth?: readonly (string | null)[];
  truthKey?: string;
  /** Cells below this confidence count as low confidence (default 0.5). */
  threshold?: number;
  /** How many least confident cells to list (default 50). */
  nLow?: number;
  /** Histogram bins over [0, 1] (default 20). */
  bins?: number;
  training?: TrainingInfo;
}

export function summarizeResults(input: ResultsInput): ResultsModel {
  const { labels, confidence } = input;
  const n = labels.length;
  const threshold = input.threshold ?? 0.5;
  const nLow = input.nLow ?? 50;
  const bins = input.bins ?? 20;
  checkInput(input, bins);

  // Per predicted label: cells, and the sum and number of finite confidences (missing ones are
  // rare, from hand-edited files; means use the cells that have one).
  const count = new Map<string, number>();
  const confSum = new Map<string, number>();
  const confCount = new Map<string, number>();
  let total = 0;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    count.set(l, (count.get(l) ?? 0) + 1);
    const c = confidence[i];
    if (Number.isFinite(c)) {
      confSum.set(l, (confSum.get(l) ?? 0) + c);
      confCount.set(l, (confCount.get(l) ?? 0) + 1);
      total += c;
      finite++;
    }
  }

  const colorOf = paletteFor(input, [...count.keys()]);
  const scores = input.truth ? scoreTruth(input) : undefined;

  const classes: ClassRow[] = [...count.entries()]
    .sort((a, b) => b[1] - a[1] || compare(a[0], b[0]))
    .map(([label, k]) => {
      const row: ClassRow = {
        label,
        color: colorOf(label),
        count: k,
        fraction: n ? k / n : NaN,
        meanConfidence: confCount.get(label) ? confSum.get(label)! / confCount.get(label)! : NaN,
      };
      const s = scores?.perClass.get(label);
      if (s) Object.assign(row, s);
      return row;
    });

  return {
    dataset: input.dataset,
    path: input.path,
    keyAdded: input.keyAdded,
    nCells: n,
    meanConfidence: finite ? total / finite : NaN,
    classes,
    histogram: histogram(confidence, bins),
    threshold,
    nBelow: countBelow(confidence, threshold),
    lowConfidence: leastConfident(input, nLow),
    ...(input.training ? { training: input.training } : {}),
    ...(scores ? { evaluation: scores.evaluation } : {}),
  };
}

function checkInput(input: ResultsInput, bins: number): void {
  const n = input.labels.length;
  const lengths: [string, number][] = [
    ['cell names', input.cellNames.length],
    ['confidences', input.confidence.length],
  ];
  if (input.truth) lengths.push(['truth labels', input.truth.length]);
  for (const [what, len] of lengths) {
    if (len !== n) throw new RangeError(`${n} labels but ${len} ${what}`);
  }
  const p = input.probabilities;
  if (p) {
    if (p.classNames.length !== p.nClasses || p.data.length !== n * p.nClasses) {
      throw new RangeError(
        `probabilities: ${p.data.length} values for ${n} cells × ${p.nClasses} classes ` +
          `(${p.classNames.length} class names)`,
      );
    }
  }
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be ≥ 1, got ${bins}`);
}

/** Plain code-unit order: deterministic everywhere, unlike localeCompare. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Colours as core's annotate writes them: the palette indexed by the model's class order
 * (then 'Unknown'), so a label keeps its colour across runs and matches the file's uns colours.
 */
function paletteFor(input: ResultsInput, labels: string[]): (label: string) => string {
  const order = [...(input.classNames ?? input.probabilities?.classNames ?? [])];
  const known = new Set(order);
  const extra = labels.filter((l) => !known.has(l) && l !== UNKNOWN_LABEL).sort(compare);
  order.push(...extra);
  if (!known.has(UNKNOWN_LABEL)) order.push(UNKNOWN_LABEL);
  const palette = new Map<string, string>();
  categoryColors(order).forEach((c, i) => palette.set(order[i], c));
  return (label) => input.colors?.[label] ?? palette.get(label)!;
}

/** Equal-width bins over [0, 1]; the last bin is closed so a confidence of exactly 1 counts. */
export function histogram(
  values: ArrayLike<number>,
  bins: number,
): { edges: number[]; counts: number[] } {
  const edges = Array.from({ length: bins + 1 }, (_, i) => i / bins);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const x = Math.min(1, Math.max(0, v));
    let b = Math.min(bins - 1, Math.floor(x * bins));
    // x * bins can round across an edge; settle against the edges the model reports.
    while (b < bins - 1 && x >= edges[b + 1]) b++;
    while (b > 0 && x < edges[b]) b--;
    counts[b]++;
  }
  return { edges, counts };
}

function countBelow(values: ArrayLike<number>, threshold: number): number {
  let k = 0;
  for (let i = 0; i < values.length; i++) if (values[i] < threshold) k++;
  return k;
}

/** The nLow least confident cells, lowest first (ties by row), with their runner-up class. */
function leastConfident(input: ResultsInput, nLow: number): LowConfidenceCell[] {
  const { confidence, labels } = input;
  const rows: number[] = [];
  for (let i = 0; i < labels.length; i++) if (Number.isFinite(confidence[i])) rows.push(i);
  rows.sort((a, b) => confidence[a] - confidence[b] || a - b);
  return rows.slice(0, Math.max(0, nLow)).map((i) => {
    const cell: LowConfidenceCell = {
      index: i,
      cell: input.cellNames[i],
      label: labels[i],
      confidence: confidence[i],
    };
    const runnerUp = input.probabilities && runnerUpOf(input.probabilities, i, labels[i]);
    if (runnerUp) cell.runnerUp = runnerUp;
    return cell;
  });
}

/**
 * The most probable class other than the cell's label: the second best class for a normal
 * prediction, and the best class for a cell labelled 'Unknown' (what it nearly was).
 */
function runnerUpOf(
  p: NonNullable<ResultsInput['probabilities']>,
  row: number,
  label: string,
): string | undefined {
  let best = -1;
  let bestP = -Infinity;
  for (let k = 0; k < p.nClasses; k++) {
    const v = p.data[row * p.nClasses + k];
    if (p.classNames[k] !== label && v > bestP) {
      best = k;
      bestP = v;
    }
  }
  return best >= 0 ? p.classNames[best] : undefined;
}

function argmaxClass(p: NonNullable<ResultsInput['probabilities']>, row: number): string {
  let best = 0;
  for (let k = 1; k < p.nClasses; k++) {
    if (p.data[row * p.nClasses + k] > p.data[row * p.nClasses + best]) best = k;
  }
  return p.classNames[best];
}

type ClassScores = Required<Pick<ClassRow, 'precision' | 'recall' | 'f1' | 'support'>>;

/** The scores core's evaluatePredictions reports, over the cells with a truth label. */
function scoreTruth(input: ResultsInput): {
  perClass: Map<string, ClassScores>;
  evaluation: NonNullable<ResultsModel['evaluation']>;
} {
  const truthAll = input.truth!;
  const keep: number[] = [];
  for (let i = 0; i < truthAll.length; i++) if (truthAll[i] !== null) keep.push(i);
  const truth = keep.map((i) => truthAll[i] as string);
  const predicted = keep.map((i) => input.labels[i]);

  const names = new Set<string>([
    ...truth,
    ...predicted.filter((p) => p !== UNKNOWN_LABEL),
    ...(input.probabilities?.classNames ?? []),
  ]);
  const code = new Map([...names].map((c, i) => [c, i]));
  const truthCodes = Int32Array.from(truth, (t) => code.get(t)!);
  // 'Unknown' (unless the truth itself uses it) gets -1, which no truth code equals.
  const predCodes = Int32Array.from(predicted, (p) => code.get(p) ?? -1);

  const support = new Map<number, number>();
  const nPred = new Map<number, number>();
  const hits = new Map<number, number>();
  const bump = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  for (let i = 0; i < truthCodes.length; i++) {
    bump(support, truthCodes[i]);
    bump(nPred, predCodes[i]);
    if (truthCodes[i] === predCodes[i]) bump(hits, truthCodes[i]);
  }
  const perClass = new Map<string, ClassScores>();
  let f1Sum = 0;
  let nWithSupport = 0;
  for (const [name, c] of code) {
    const s = support.get(c) ?? 0;
    const p = nPred.get(c) ?? 0;
    if (s === 0 && p === 0) continue;
    const h = hits.get(c) ?? 0;
    const precision = p ? h / p : NaN;
    const recall = s ? h / s : NaN;
    // As core: NaN precision (never predicted) makes the sum NaN, and F1 then 0.
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.set(name, { precision, recall, f1, support: s });
    if (s > 0) {
      f1Sum += f1;
      nWithSupport++;
    }
  }

  // ECE of the best class when probabilities give it for every cell (also 'Unknown' ones),
  // else of the label, leaving out the abstentions.
  const probs = input.probabilities;
  const calRows = keep
    .map((_, j) => j)
    .filter((j) => probs !== undefined || predicted[j] !== UNKNOWN_LABEL);
  const calPred = Int32Array.from(calRows, (j) =>
    probs ? code.get(argmaxClass(probs, keep[j]))! : predCodes[j],
  );
  const ece = calRows.length
    ? expectedCalibrationError(
        Int32Array.from(calRows, (j) => truthCodes[j]),
        calPred,
        Float64Array.from(calRows, (j) => input.confidence[keep[j]]),
        10,
      )
    : NaN;

  return {
    perClass,
    evaluation: {
      truthKey: input.truthKey ?? 'truth',
      accuracy: accuracy(truthCodes, predCodes),
      balancedAccuracy: balancedAccuracy(truthCodes, predCodes),
      macroF1: nWithSupport ? f1Sum / nWithSupport : NaN,
      ece,
      nCells: truth.length,
    },
  };
}

/**
 * Summarises predictions into the model the results webview shows: counts and confidence per
 * label, a confidence histogram and the least confident cells (with their runner-up class),
 * which core does not compute, and, with truth labels, core's evaluation (@scnym/core/scores:
 * the scores `scnym evaluate` reports) per class and overall.
 *
 * Platform-neutral on purpose (no vscode, DOM, fs or TensorFlow.js): the worker calls it after
 * a job, the tests call it directly, and the webview type-check includes it.
 */
import { evaluatePredictions, type EvaluationReport } from '@scnym/core/scores';
import { categoryColors, LOW_CONFIDENCE_THRESHOLD, UNKNOWN_LABEL } from '@scnym/core/vocabulary';
import type { ClassRow, LowConfidenceCell, ResultsModel, TrainingInfo } from './messages.js';

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
  /** Known label per cell (null = none); scored with core's evaluatePredictions when present. */
  truth?: readonly (string | null)[];
  /** Core's evaluation, when already made (e.g. of the file, by the evaluate workflow). */
  evaluation?: EvaluationReport;
  truthKey?: string;
  /** Cells below this confidence count as low confidence (default: core's, every front end's). */
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
  const threshold = input.threshold ?? LOW_CONFIDENCE_THRESHOLD;
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
  const scores = scoresOf(input);

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

/**
 * Core's evaluation ('Unknown' is an abstention, wrong for accuracy; ECE scores the best class
 * when probabilities give it) as the webview shows it: per class, and overall.
 */
function scoresOf(input: ResultsInput):
  | {
      perClass: Map<string, ClassScores>;
      evaluation: NonNullable<ResultsModel['evaluation']>;
    }
  | undefined {
  const p = input.probabilities;
  const report =
    input.evaluation ??
    (input.truth &&
      evaluatePredictions({
        truth: input.truth,
        predicted: input.labels,
        confidence: input.confidence,
        bestClass: p && Array.from(input.labels, (_, i) => argmaxClass(p, i)),
        modelClasses: p?.classNames,
      }));
  if (!report) return undefined;
  return {
    perClass: new Map(
      report.classes.map((c) => [
        c.name,
        { precision: c.precision, recall: c.recall, f1: c.f1, support: c.support },
      ]),
    ),
    evaluation: {
      truthKey: input.truthKey ?? 'truth',
      accuracy: report.accuracy,
      balancedAccuracy: report.balancedAccuracy,
      macroF1: report.macroF1,
      ece: report.calibration.ece,
      nCells: report.nCells,
    },
  };
}

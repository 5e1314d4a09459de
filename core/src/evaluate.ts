/**
 * Scoring predictions against known labels: accuracy, balanced accuracy, per-class precision /
 * recall / F1, the confusion matrix, calibration (ECE and the reliability diagram), accuracy vs
 * coverage at confidence thresholds, and, when the truth holds classes the model does not know,
 * how well confidence separates those novel cells from known ones (AUROC).
 *
 * Cells labelled 'Unknown' are abstentions: wrong for accuracy, outside the coverage. ECE scores
 * the model's best class (recovered from the stored probabilities when a cell is 'Unknown').
 */
import { NotFoundError, ScnymError } from './errors.js';
import type { AnnData } from './anndata/types.js';
import { annotationKeys } from './vocabulary.js';
import { auroc, calibrationReport, type ReliabilityBin } from './calibration.js';
import { UNKNOWN_LABEL } from './vocabulary.js';
import { readLabels } from './prepare.js';
import { accuracy, balancedAccuracy } from './train/metrics.js';

export const COVERAGE_THRESHOLDS = [0, 0.5, 0.7, 0.9, 0.95];

export interface EvaluationInput {
  /** Known label per cell; null = no label (the cell is left out). */
  truth: readonly (string | null)[];
  /** Predicted label per cell ('Unknown' = abstained). */
  predicted: readonly string[];
  /** Confidence (max probability) per cell. */
  confidence: ArrayLike<number>;
  /** The model's best class per cell, also where `predicted` is 'Unknown' (optional). */
  bestClass?: readonly string[];
  /** The model's classes; truth classes outside them are novel (novelty is reported only then). */
  modelClasses?: readonly string[];
  /** The novelty score per cell (obs `<key>_novelty`), when the predictions have one. */
  novelty?: ArrayLike<number>;
}

export interface ClassScore {
  name: string;
  /** Cells of this class in the truth. */
  support: number;
  /** Cells predicted as this class. */
  predicted: number;
  precision: number;
  recall: number;
  f1: number;
  /** Mean confidence of the cells predicted as this class (NaN when none is). */
  meanConfidence: number;
}

export interface CoveragePoint {
  threshold: number;
  /** Fraction of cells with a label (not 'Unknown') and confidence ≥ threshold. */
  coverage: number;
  nCells: number;
  /** Accuracy among those cells. */
  accuracy: number;
}

export interface NoveltyReport {
  /** Truth classes the model does not know. */
  classes: string[];
  nNovel: number;
  nKnown: number;
  /** AUROC of (1 − confidence) for telling novel cells from known ones (0.5 = chance). */
  auroc: number;
  /** AUROC of the novelty score (null without one). */
  noveltyAuroc: number | null;
  /** Mean novelty score of novel and of known cells (NaN without one). */
  meanNoveltyNovel: number;
  meanNoveltyKnown: number;
  /** Fractions labelled 'Unknown'. */
  unknownRateNovel: number;
  unknownRateKnown: number;
  meanConfidenceNovel: number;
  meanConfidenceKnown: number;
}

export interface EvaluationReport {
  nCells: number;
  /** Cells without a truth label, left out of everything. */
  nUnlabeled: number;
  /** 'Unknown' counts as wrong. */
  accuracy: number;
  /** Mean recall over the truth classes. */
  balancedAccuracy: number;
  macroF1: number;
  nUnknown: number;
  /** Fraction of cells with a label other than 'Unknown'. */
  coverage: number;
  /** Accuracy among cells with a label other than 'Unknown'. */
  accuracyCovered: number;
  classes: ClassScore[];
  confusion: {
    /** Truth classes (rows). */
    rows: string[];
    /** Predicted labels (columns), 'Unknown' last when present. */
    columns: string[];
    counts: number[][];
  };
  calibration: {
    ece: number;
    bins: ReliabilityBin[];
    nCells: number;
    scored: 'best-class' | 'label';
  };
  coverageCurve: CoveragePoint[];
  novelty: NoveltyReport | null;
}

export function evaluatePredictions(
  input: EvaluationInput,
  options: { thresholds?: readonly number[]; nBins?: number } = {},
): EvaluationReport {
  const n = input.predicted.length;
  if (input.truth.length !== n || input.confidence.length !== n) {
    throw new RangeError(
      `${input.truth.length} truth labels, ${n} predictions, ${input.confidence.length} confidences`,
    );
  }
  // Plain loops throughout: a callback per cell (Array.from, map, filter) costs seconds at a
  // million cells, and the viewer scores again after each hand edit.
  let nKept = 0;
  for (let i = 0; i < n; i++) if (input.truth[i] !== null) nKept++;
  const truth = new Array<string>(nKept);
  const predicted = new Array<string>(nKept);
  const confidence = new Float64Array(nKept);
  const noveltyScore = input.novelty ? new Float64Array(nKept) : null;
  const best = input.bestClass ? new Array<string>(nKept) : null;
  for (let i = 0, j = 0; i < n; i++) {
    if (input.truth[i] === null) continue;
    truth[j] = input.truth[i] as string;
    predicted[j] = input.predicted[i];
    confidence[j] = input.confidence[i];
    if (noveltyScore) noveltyScore[j] = input.novelty![i];
    if (best) best[j] = input.bestClass![i];
    j++;
  }

  const truthClasses = [...new Set(truth)].sort();
  const predictedSet = new Set(predicted);
  predictedSet.delete(UNKNOWN_LABEL);
  const predictedClasses = [...predictedSet].sort();
  const names = [
    ...new Set([...truthClasses, ...predictedClasses, ...(input.modelClasses ?? [])]),
  ].sort();
  const code = new Map(names.map((c, i) => [c, i]));
  // 'Unknown' (and only it) gets -1, which no truth code equals.
  const truthCodes = new Int32Array(nKept);
  const predCodes = new Int32Array(nKept);
  for (let i = 0; i < nKept; i++) {
    truthCodes[i] = code.get(truth[i])!;
    predCodes[i] = code.get(predicted[i]) ?? -1;
  }

  // Per class: cells of it in the truth, predicted as it, both, and their confidences.
  const supports = new Float64Array(names.length);
  const nPreds = new Float64Array(names.length);
  const hitsOf = new Float64Array(names.length);
  const confSums = new Float64Array(names.length);
  for (let i = 0; i < nKept; i++) {
    const t = truthCodes[i];
    const p = predCodes[i];
    supports[t]++;
    if (p >= 0) {
      nPreds[p]++;
      confSums[p] += confidence[i];
      if (p === t) hitsOf[p]++;
    }
  }
  const classes: ClassScore[] = names
    .map((name, c) => {
      const support = supports[c];
      const nPred = nPreds[c];
      const hits = hitsOf[c];
      const confSum = confSums[c];
      const precision = nPred ? hits / nPred : NaN;
      const recall = support ? hits / support : NaN;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      return {
        name,
        support,
        predicted: nPred,
        precision,
        recall,
        f1: support || nPred ? f1 : NaN,
        meanConfidence: nPred ? confSum / nPred : NaN,
      };
    })
    .filter((s) => s.support > 0 || s.predicted > 0);
  const withSupport = classes.filter((s) => s.support > 0);

  const columns = [...predictedClasses];
  let nUnknown = 0;
  for (let i = 0; i < nKept; i++) if (predCodes[i] < 0) nUnknown++;
  if (nUnknown > 0) columns.push(UNKNOWN_LABEL);
  const columnIndex = new Map(columns.map((c, i) => [c, i]));
  const rowIndex = new Map(truthClasses.map((c, i) => [c, i]));
  // Codes → matrix rows and columns ('Unknown', code -1, is the last column).
  const rowOf = Int32Array.from(names, (c) => rowIndex.get(c) ?? -1);
  const columnOf = Int32Array.from(names, (c) => columnIndex.get(c) ?? -1);
  const unknownColumn = columnIndex.get(UNKNOWN_LABEL) ?? -1;
  const counts = truthClasses.map(() => new Array<number>(columns.length).fill(0));
  for (let i = 0; i < nKept; i++) {
    const p = predCodes[i];
    counts[rowOf[truthCodes[i]]][p < 0 ? unknownColumn : columnOf[p]]++;
  }

  // Calibration of the best class (or of the label where the best class is not known).
  const scored = best ? 'best-class' : 'label';
  const nCal = best ? nKept : nKept - nUnknown;
  const calTruth = new Int32Array(nCal);
  const calPred = new Int32Array(nCal);
  const calConfidence = new Float64Array(nCal);
  for (let j = 0, k = 0; j < nKept; j++) {
    if (!best && predCodes[j] < 0) continue;
    calTruth[k] = truthCodes[j];
    calPred[k] = best ? (code.get(best[j]) ?? -1) : predCodes[j];
    calConfidence[k++] = confidence[j];
  }
  const calibration = calibrationReport(calTruth, calPred, calConfidence, options.nBins ?? 10);

  const coverageCurve = (options.thresholds ?? COVERAGE_THRESHOLDS).map((threshold) => {
    let kept = 0;
    let hits = 0;
    for (let i = 0; i < truth.length; i++) {
      if (predCodes[i] < 0 || confidence[i] < threshold) continue;
      kept++;
      if (predCodes[i] === truthCodes[i]) hits++;
    }
    return {
      threshold,
      coverage: truth.length ? kept / truth.length : NaN,
      nCells: kept,
      accuracy: kept ? hits / kept : NaN,
    };
  });

  const covered = nKept - nUnknown;
  let coveredHits = 0;
  for (let i = 0; i < truth.length; i++)
    if (predCodes[i] >= 0 && predCodes[i] === truthCodes[i]) coveredHits++;

  return {
    nCells: truth.length,
    nUnlabeled: n - truth.length,
    accuracy: accuracy(truthCodes, predCodes),
    balancedAccuracy: balancedAccuracy(truthCodes, predCodes),
    macroF1: withSupport.length
      ? withSupport.reduce((s, c) => s + c.f1, 0) / withSupport.length
      : NaN,
    nUnknown,
    coverage: truth.length ? covered / truth.length : NaN,
    accuracyCovered: covered ? coveredHits / covered : NaN,
    classes,
    confusion: { rows: truthClasses, columns, counts },
    calibration: { ...calibration, scored },
    coverageCurve,
    novelty: input.modelClasses
      ? novelty(truth, predicted, confidence, noveltyScore, input.modelClasses)
      : null,
  };
}

function novelty(
  truth: string[],
  predicted: string[],
  confidence: Float64Array,
  score: Float64Array | null,
  modelClasses: readonly string[],
): NoveltyReport | null {
  const known = new Set(modelClasses);
  const isNovel = truth.map((t) => !known.has(t));
  const nNovel = isNovel.filter(Boolean).length;
  if (nNovel === 0) return null;
  const stats = (novel: boolean) => {
    let count = 0;
    let unknown = 0;
    let conf = 0;
    let far = 0;
    for (let i = 0; i < truth.length; i++) {
      if (isNovel[i] !== novel) continue;
      count++;
      conf += confidence[i];
      far += score ? score[i] : NaN;
      if (predicted[i] === UNKNOWN_LABEL) unknown++;
    }
    return {
      count,
      unknownRate: count ? unknown / count : NaN,
      meanConfidence: count ? conf / count : NaN,
      meanNovelty: count ? far / count : NaN,
    };
  };
  const novelStats = stats(true);
  const knownStats = stats(false);
  return {
    classes: [...new Set(truth.filter((t) => !known.has(t)))].sort(),
    nNovel,
    nKnown: knownStats.count,
    auroc: auroc(
      Float64Array.from(confidence, (c) => 1 - c),
      isNovel,
    ),
    noveltyAuroc: score ? auroc(score, isNovel) : null,
    meanNoveltyNovel: novelStats.meanNovelty,
    meanNoveltyKnown: knownStats.meanNovelty,
    unknownRateNovel: novelStats.unknownRate,
    unknownRateKnown: knownStats.unknownRate,
    meanConfidenceNovel: novelStats.meanConfidence,
    meanConfidenceKnown: knownStats.meanConfidence,
  };
}

export interface EvaluateRequest {
  /** obs column with the true labels. */
  truthKey: string;
  /** Prefix the predictions were written under (default 'scNym'). */
  predKey?: string;
}

/** Reads predictions (obs key, key_confidence, obsm key_probabilities) and truth from a file. */
export async function evaluateAnnData(
  ad: AnnData,
  request: EvaluateRequest,
  options: { thresholds?: readonly number[]; nBins?: number } = {},
): Promise<EvaluationReport> {
  const keys = annotationKeys(request.predKey);
  const columns = await ad.obsColumnNames();
  for (const [key, what, hint] of [
    [
      keys.label,
      'predictions',
      'annotate the file first (scnym predict / annotate), or pass the prefix used with --pred-key',
    ],
    [
      request.truthKey,
      'true labels',
      'pass the column holding the known cell types with --truth-key',
    ],
  ] as const) {
    if (!columns.includes(key)) {
      throw new NotFoundError(
        `obs has no column '${key}' (${what}); available columns: ${columns.join(', ') || 'none'}`,
        { file: ad.source, element: 'obs', hint },
      );
    }
  }
  if (!columns.includes(keys.confidence)) {
    throw new NotFoundError(`obs has no column '${keys.confidence}' (the prediction confidence)`, {
      file: ad.source,
      element: 'obs',
      hint: 'the file must be annotated by scNym (scnym predict / annotate)',
    });
  }
  const truth = await labelStrings(
    ad,
    request.truthKey,
    'pass the column holding the known cell types with --truth-key',
  );
  const predicted = await labelStrings(
    ad,
    keys.label,
    'pass the prefix the predictions were written under with --pred-key',
  );
  const confColumn = await ad.obsColumn(keys.confidence);
  if (confColumn.kind !== 'numeric') {
    throw new ScnymError(`column '${keys.confidence}' is ${confColumn.kind}, not numeric`, {
      file: ad.source,
      element: `obs/${keys.confidence}`,
    });
  }
  checkConfidences(confColumn.values, truth, ad.source, `obs/${keys.confidence}`);

  // The model's classes and best class per cell, when the probabilities were stored.
  let modelClasses: string[] | undefined;
  let bestClass: string[] | undefined;
  if ((await ad.unsKeys()).includes(keys.classes)) {
    const classes = await ad.uns(keys.classes);
    if (Array.isArray(classes) && classes.every((c) => typeof c === 'string')) {
      modelClasses = classes as string[];
      if ((await ad.obsmKeys()).includes(keys.probabilities)) {
        const probs = await ad.obsm(keys.probabilities);
        const k = probs.shape[1];
        if (k === modelClasses.length && probs.shape[0] === ad.nObs) {
          bestClass = Array.from({ length: ad.nObs }, (_, i) => {
            let b = 0;
            for (let j = 1; j < k; j++) if (probs.data[i * k + j] > probs.data[i * k + b]) b = j;
            return modelClasses![b];
          });
        }
      }
    }
  }
  return evaluatePredictions(
    {
      truth,
      predicted: predicted.map((p) => p ?? UNKNOWN_LABEL),
      confidence: confColumn.values,
      novelty: await noveltyColumn(ad, keys.novelty),
      bestClass,
      modelClasses,
    },
    options,
  );
}

/**
 * Every scored cell (one with a truth label) needs a confidence in [0, 1]: a missing (NaN) or
 * out-of-range one would turn ECE, the coverage curve and the novelty AUROC into NaN or nonsense.
 */
function checkConfidences(
  confidence: Float64Array,
  truth: readonly (string | null)[],
  file: string,
  element: string,
): void {
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < confidence.length; i++) {
    const c = confidence[i];
    if (truth[i] !== null && !(c >= 0 && c <= 1)) {
      bad++;
      if (firstBad < 0) firstBad = i;
    }
  }
  if (bad === 0) return;
  throw new ScnymError(
    `${bad} of the cells with a truth label have no valid confidence (cell ${firstBad}: ` +
      `${confidence[firstBad]}; confidences must be numbers in [0, 1])`,
    {
      file,
      element,
      hint:
        'predict the file again (scnym predict --overwrite), or leave the cells without ' +
        'predictions out of the truth column (set them to NaN)',
    },
  );
}

async function labelStrings(ad: AnnData, key: string, hint: string): Promise<(string | null)[]> {
  const labels = await readLabels(ad, key, hint);
  return Array.from(labels.codes, (c) => (c < 0 ? null : labels.names[c]));
}

/** The novelty score column, when the predictions have a numeric one (else undefined). */
async function noveltyColumn(ad: AnnData, key: string): Promise<Float64Array | undefined> {
  if (!(await ad.obsColumnNames()).includes(key)) return undefined;
  const column = await ad.obsColumn(key);
  return column.kind === 'numeric' ? Float64Array.from(column.values) : undefined;
}

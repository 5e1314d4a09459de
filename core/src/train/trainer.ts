/** scNym training: splits, epochs of MixMatch + DAN steps, model selection, early stopping. */
import * as tf from '@tensorflow/tfjs';
import { throwIfAborted } from '../errors.js';
import { takeRows, type Csr } from '../csr.js';
import { yieldToEventLoop } from '../event-loop.js';
import { softmaxRows } from '../calibration.js';
import { batchInput, forward, networkLogits } from '../model/forward.js';
import type { CsrBatch } from '../model/sparse.js';
import { createNetwork, type ScnymNetwork } from '../model/network.js';
import { Rng } from '../random.js';
import { Adadelta, Adam, type Optimizer } from './optimizers.js';
import { resolveOptions, type TrainOptions } from './options.js';
import {
  CyclingBatches,
  epochBatches,
  splitLabeled,
  stepPlan,
  type LabeledSplit,
} from './sampling.js';
import { choosePseudolabels, withPseudolabels } from './pseudolabel.js';
import { linearRamp, sigmoidRamp } from './schedules.js';
import { trainStep, type StepLosses } from './step.js';

export interface TrainingData {
  /** Labeled (reference) cells, log1p(CPM), columns = `genes`. */
  labeled: Csr;
  /** Class code per labeled row (index into classNames); -1 rows are ignored. */
  labels: Int32Array;
  classNames: string[];
  /** Unlabeled (target) cells, log1p(CPM), same columns; null = supervised only. */
  unlabeled: Csr | null;
  genes: string[];
  /** Domain code per row; default 0 for labeled, 1 for unlabeled rows. */
  labeledDomains?: Int32Array;
  unlabeledDomains?: Int32Array;
  domainNames?: string[];
  /**
   * Labelled rows kept out of training for model selection and the held-out score (reference
   * cells outside a training subsample); without it, a seeded random split of all labelled rows.
   */
  reserved?: { selection: Int32Array; heldOut: Int32Array };
}

export interface EpochEvent {
  type: 'epoch';
  epoch: number;
  nEpochs: number;
  /** Optimiser steps so far. */
  step: number;
  losses: { sup: number; unsup: number; dan: number; total: number };
  /** Cross-entropy / accuracy on the model-selection split (NaN if it is empty). */
  valLoss: number;
  valAccuracy: number;
  confidentFraction: number;
  isBest: boolean;
}

export type TrainEvent =
  | {
      type: 'start';
      nEpochs: number;
      stepsPerEpoch: number;
      /** Steps of a whole pass over the training cells; more than stepsPerEpoch when `budgeted`. */
      stepsPerPass: number;
      /** The step budget (maxSteps) cut the epochs short. */
      budgeted: boolean;
      nTrain: number;
      nSelection: number;
      nHeldOut: number;
      nUnlabeled: number;
      nDomains: number;
    }
  | {
      type: 'step';
      epoch: number;
      step: number;
      stepInEpoch: number;
      stepsInEpoch: number;
      loss: number;
    }
  | EpochEvent;

export interface TrainingSummary {
  bestEpoch: number;
  epochsRun: number;
  steps: number;
  heldOutAccuracy: number;
  heldOutLoss: number;
  /** Steps and seconds of all rounds (pseudolabelRounds). */
  seconds: number;
  /** Query cells added as labelled in each pseudolabel round (absent without rounds). */
  pseudolabelled?: number[];
}

export interface TrainedModel {
  network: ScnymNetwork;
  genes: string[];
  classNames: string[];
  domainNames: string[];
  options: TrainOptions;
  summary: TrainingSummary;
  history: EpochEvent[];
  /** Rows of `TrainingData.labeled` in each internal split (e.g. to calibrate on `selection`). */
  split: { train: Int32Array; selection: Int32Array; heldOut: Int32Array };
}

export interface TrainControl {
  onEvent?: (event: TrainEvent) => void;
  signal?: AbortSignal;
}

export async function train(
  data: TrainingData,
  options: Partial<TrainOptions> = {},
  control: TrainControl = {},
): Promise<TrainedModel> {
  const o: TrainOptions = { ...resolveOptions('default'), ...options };
  let model = await trainRound(data, o, control);
  if (o.pseudolabelRounds <= 0 || !data.unlabeled?.nRows) return model;
  const { steps, seconds } = model.summary;
  const totals = { steps, seconds };
  const added: number[] = [];
  for (let round = 0; round < o.pseudolabelRounds; round++) {
    throwIfAborted(control.signal);
    const unlabeled = data.unlabeled;
    const all = Int32Array.from({ length: unlabeled.nRows }, (_, i) => i);
    const nClasses = model.classNames.length;
    const probabilities = softmaxRows(networkLogits(model.network, unlabeled, all), nClasses);
    const choice = choosePseudolabels(probabilities, nClasses, {
      threshold: o.pseudolabelThreshold,
      fraction: o.pseudolabelFraction,
    });
    added.push(choice.rows.length);
    const next = withPseudolabels(data, model.split, choice);
    model.network.dispose();
    // The same seed: the same initial weights, only the labelled cells differ.
    model = await trainRound(next, o, control);
    totals.steps += model.summary.steps;
    totals.seconds += model.summary.seconds;
  }
  model.summary = { ...model.summary, ...totals, pseudolabelled: added };
  return model;
}

/** One training run on fixed labelled cells. */
async function trainRound(
  data: TrainingData,
  o: TrainOptions,
  control: TrainControl,
): Promise<TrainedModel> {
  const started = Date.now();
  const { onEvent, signal } = control;
  checkData(data);
  throwIfAborted(signal);

  const rng = new Rng(o.seed);
  const initSeed = rng.nextUint32();
  const {
    train: trainRows,
    selection: selectionRows,
    heldOut: heldOutRows,
  } = data.reserved ? reservedSplit(data.labels, data.reserved) : randomSplit(data.labels, o, rng);

  const nUnlabeled = data.unlabeled?.nRows ?? 0;
  const labeledDomains = data.labeledDomains ?? new Int32Array(data.labeled.nRows);
  const unlabeledDomains =
    data.unlabeledDomains ?? (nUnlabeled ? new Int32Array(nUnlabeled).fill(1) : null);
  // A loop, not Math.max(...): one argument per cell overflows the stack at ~100k cells.
  let nDomains = 1;
  for (const d of labeledDomains) if (d + 1 > nDomains) nDomains = d + 1;
  for (const d of unlabeledDomains ?? []) if (d + 1 > nDomains) nDomains = d + 1;

  const net = createNetwork(
    { ...o.network, nGenes: data.genes.length, nClasses: data.classNames.length, nDomains },
    initSeed,
  );
  const optimizer: Optimizer =
    o.optimizer === 'adam'
      ? new Adam({
          learningRate: o.learningRate,
          beta1: 0.9,
          beta2: 0.999,
          epsilon: 1e-8,
          weightDecay: o.weightDecay,
          decoupledDecay: false,
        })
      : new Adadelta({
          learningRate: o.learningRate,
          rho: 0.9,
          epsilon: 1e-6,
          weightDecay: o.weightDecay,
        });
  const ctx = {
    net,
    optimizer,
    options: o,
    rng,
    labeled: data.labeled,
    labels: data.labels,
    unlabeled: nUnlabeled ? data.unlabeled : null,
    labeledDomains,
    unlabeledDomains,
    sparseInput: o.sparseInput,
  };
  const unlabeledBatches = nUnlabeled
    ? new CyclingBatches(
        Int32Array.from({ length: nUnlabeled }, (_, i) => i),
        o.batchSize,
        rng,
      )
    : null;

  const history: EpochEvent[] = [];
  let best: { epoch: number; loss: number; weights: tf.Tensor[] } | null = null;
  let steps = 0;
  const plan = stepPlan(trainRows.length, o);
  const nEpochs = plan.nEpochs;
  const minEpochs = Math.min(o.minEpochs, nEpochs - 1);
  onEvent?.({
    type: 'start',
    nEpochs,
    stepsPerEpoch: plan.stepsPerEpoch,
    stepsPerPass: plan.stepsPerPass,
    budgeted: plan.budgeted,
    nTrain: trainRows.length,
    nSelection: selectionRows.length,
    nHeldOut: heldOutRows.length,
    nUnlabeled,
    nDomains,
  });

  try {
    let epoch = 0;
    for (; epoch < nEpochs; epoch++) {
      const weights = {
        unsup: linearRamp(epoch, o.rampEpochs, o.unsupMaxWeight, o.burnInEpochs),
        dan: sigmoidRamp(epoch, o.danRampEpochs, o.danMaxWeight, o.danBurnInEpochs),
      };
      const batches = epochBatches(trainRows, o.batchSize, rng, {
        labels: data.labels,
        balanced: o.balancedClasses,
        minBatches: Math.min(o.minStepsPerEpoch, plan.stepsPerEpoch),
        maxBatches: plan.budgeted ? plan.stepsPerEpoch : undefined,
      });
      const sums = { sup: 0, unsup: 0, dan: 0, total: 0, confidentFraction: 0 };
      for (let b = 0; b < batches.length; b++) {
        throwIfAborted(signal);
        const losses: StepLosses = trainStep(
          ctx,
          batches[b],
          unlabeledBatches?.next() ?? null,
          weights,
        );
        steps++;
        for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += losses[key];
        onEvent?.({
          type: 'step',
          epoch,
          step: steps,
          stepInEpoch: b,
          stepsInEpoch: batches.length,
          loss: losses.total,
        });
        await yieldToEventLoop();
      }
      throwIfAborted(signal);
      const val = evaluate(net, data.labeled, data.labels, selectionRows, 512, o.sparseInput);
      const isBest = epoch >= minEpochs && (best === null || val.loss < best.loss);
      if (isBest) {
        best?.weights.forEach((t) => t.dispose());
        best = { epoch, loss: val.loss, weights: net.snapshot() };
      }
      const n = batches.length;
      const event: EpochEvent = {
        type: 'epoch',
        epoch,
        nEpochs,
        step: steps,
        losses: {
          sup: sums.sup / n,
          unsup: sums.unsup / n,
          dan: sums.dan / n,
          total: sums.total / n,
        },
        valLoss: val.loss,
        valAccuracy: val.accuracy,
        confidentFraction: sums.confidentFraction / n,
        isBest,
      };
      history.push(event);
      onEvent?.(event);
      const lastImprovement = best?.epoch ?? minEpochs;
      if (epoch - lastImprovement > o.patience) {
        epoch++;
        break;
      }
    }
    if (best) net.restore(best.weights);
    const heldOut = evaluate(net, data.labeled, data.labels, heldOutRows, 512, o.sparseInput);
    return {
      network: net,
      genes: [...data.genes],
      classNames: [...data.classNames],
      domainNames: data.domainNames ?? (nUnlabeled ? ['labeled', 'unlabeled'] : ['labeled']),
      options: o,
      summary: {
        bestEpoch: best?.epoch ?? epoch - 1,
        epochsRun: epoch,
        steps,
        heldOutAccuracy: heldOut.accuracy,
        heldOutLoss: heldOut.loss,
        seconds: (Date.now() - started) / 1000,
      },
      history,
      split: { train: trainRows, selection: selectionRows, heldOut: heldOutRows },
    };
  } catch (error) {
    net.dispose();
    throw error;
  } finally {
    best?.weights.forEach((t) => t.dispose());
    optimizer.dispose();
  }
}

/** The original's nested random split of the labelled rows (sampling.ts splitLabeled). */
function randomSplit(labels: Int32Array, o: TrainOptions, rng: Rng): LabeledSplit {
  const labeledRows = Int32Array.from(Array.from(labels.keys()).filter((i) => labels[i] >= 0));
  const split = splitLabeled(labeledRows.length, o.heldOutFraction, o.selectionFraction, rng);
  const toRows = (positions: Int32Array) => Int32Array.from(positions, (p) => labeledRows[p]);
  return {
    train: toRows(split.train),
    selection: toRows(split.selection),
    heldOut: toRows(split.heldOut),
  };
}

/** Selection and held-out rows given by the data; every other labelled row is trained on. */
function reservedSplit(labels: Int32Array, reserved: NonNullable<TrainingData['reserved']>) {
  const kept = new Uint8Array(labels.length);
  const labelled = (rows: Int32Array) => {
    const out = rows.filter((r) => labels[r] >= 0);
    for (const r of out) kept[r] = 1;
    return out;
  };
  const selection = labelled(reserved.selection);
  const heldOut = labelled(reserved.heldOut);
  let n = 0;
  for (let r = 0; r < labels.length; r++) if (labels[r] >= 0 && !kept[r]) n++;
  const train = new Int32Array(n);
  n = 0;
  for (let r = 0; r < labels.length; r++) if (labels[r] >= 0 && !kept[r]) train[n++] = r;
  return { train, selection, heldOut };
}

/** Eval-mode mean cross-entropy and accuracy on some labeled rows. */
export function evaluate(
  net: ScnymNetwork,
  matrix: Csr,
  labels: Int32Array,
  rows: Int32Array,
  chunk = 512,
  sparseInput?: boolean,
): { loss: number; accuracy: number } {
  if (rows.length === 0) return { loss: NaN, accuracy: NaN };
  let lossSum = 0;
  let hits = 0;
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.subarray(start, Math.min(rows.length, start + chunk));
    const codes = Int32Array.from(part, (r) => labels[r]);
    const [loss, predicted] = tf.tidy(() => {
      const x = batchInput(takeRows(matrix, part) as CsrBatch, sparseInput);
      const logits = forward(net, x, { training: false }).logits;
      const y = tf.oneHot(tf.tensor1d(codes, 'int32'), net.config.nClasses);
      const ce = tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits))));
      return [ce.dataSync()[0], tf.argMax(logits, 1).dataSync()];
    });
    lossSum += loss;
    predicted.forEach((p, i) => (hits += p === codes[i] ? 1 : 0));
  }
  return { loss: lossSum / rows.length, accuracy: hits / rows.length };
}

function checkData(data: TrainingData): void {
  const nGenes = data.genes.length;
  if (data.labeled.nCols !== nGenes) {
    throw new RangeError(`labeled matrix has ${data.labeled.nCols} columns for ${nGenes} genes`);
  }
  if (data.unlabeled && data.unlabeled.nCols !== nGenes) {
    throw new RangeError(
      `unlabeled matrix has ${data.unlabeled.nCols} columns for ${nGenes} genes`,
    );
  }
  if (data.labels.length !== data.labeled.nRows) {
    throw new RangeError(`${data.labels.length} labels for ${data.labeled.nRows} labeled rows`);
  }
  if (data.labeledDomains && data.labeledDomains.length !== data.labeled.nRows) {
    throw new RangeError('labeledDomains length differs from the labeled row count');
  }
  if (data.unlabeledDomains && data.unlabeledDomains.length !== (data.unlabeled?.nRows ?? 0)) {
    throw new RangeError('unlabeledDomains length differs from the unlabeled row count');
  }
  for (const code of data.labels) {
    if (code >= data.classNames.length)
      throw new RangeError(`label code ${code} has no class name`);
  }
}

/** One optimiser step of scNym's objective: supervised CE + w_u·MixMatch consistency + DAN. */
import * as tf from '@tensorflow/tfjs';
import { concatBlocks, mixCsrRows, sliceRows, takeRows, type Csr } from '../csr.js';
import {
  adversaryForward,
  applyNormUpdates,
  batchInput,
  forward,
  type NormUpdate,
} from '../model/forward.js';
import type { CsrBatch } from '../model/sparse.js';
import type { ScnymNetwork } from '../model/network.js';
import { reverseGradient } from '../model/ops.js';
import type { Rng } from '../random.js';
import { log1pDrop } from './augment.js';
import {
  domainCrossEntropy,
  labelShiftWeights,
  maskedConsistencyMse,
  softCrossEntropy,
} from './losses.js';
import { mixRows, sampleMixWeights, sharpen } from './mixmatch.js';
import type { Optimizer } from './optimizers.js';
import type { TrainOptions } from './options.js';

export interface StepContext {
  net: ScnymNetwork;
  optimizer: Optimizer;
  options: TrainOptions;
  rng: Rng;
  labeled: Csr;
  labels: Int32Array;
  unlabeled: Csr | null;
  labeledDomains: Int32Array;
  unlabeledDomains: Int32Array | null;
  /** Feed the first layer CSR batches (sparse kernels) or dense ones; default sparseByDefault(). */
  sparseInput?: boolean;
}

/** Per-epoch constants: consistency weight w_u and gradient-reversal scale λ. */
export interface StepWeights {
  unsup: number;
  dan: number;
}

export interface StepLosses {
  sup: number;
  unsup: number;
  dan: number;
  total: number;
  /** Share of unlabeled rows whose pseudolabel passed the confidence threshold. */
  confidentFraction: number;
}

/** Host-side rows of a row-major matrix, concatenated in the order given. */
function pickRows(values: Float32Array, width: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    out.set(values.subarray(rows[i] * width, (rows[i] + 1) * width), i * width);
  }
  return out;
}

function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function matrix(values: Float32Array, width: number): tf.Tensor2D {
  return tf.tensor2d(values, [values.length / width, width]);
}

/** CSR rows as one batch with 32-bit offsets from 0. */
function batchOf(m: Csr): CsrBatch {
  return m.indptr instanceof Int32Array && m.indptr[0] === 0
    ? (m as CsrBatch)
    : sliceRows(m, 0, m.nRows);
}

function oneHotRows(codes: ArrayLike<number>, depth: number): Float32Array {
  const out = new Float32Array(codes.length * depth);
  for (let i = 0; i < codes.length; i++) out[i * depth + codes[i]] = 1;
  return out;
}

export function trainStep(
  ctx: StepContext,
  labeledRows: Int32Array,
  unlabeledRows: Int32Array | null,
  weights: StepWeights,
): StepLosses {
  const { net, options: o, rng } = ctx;
  const nClasses = net.config.nClasses;
  const normUpdates: NormUpdate[] = [];
  const train = { training: true as const, rng, dropout: net.config.dropout, normUpdates };
  const variables = net.trainableVariables();
  const kept: tf.Scalar[] = [];
  const keep = (s: tf.Scalar) => {
    kept.push(tf.keep(s));
    return s;
  };
  let confidentFraction = 0;
  const yL = oneHotRows(
    Array.from(labeledRows, (r) => ctx.labels[r]),
    nClasses,
  );

  const sparse = ctx.sparseInput;
  const input = (m: Csr) => batchInput(batchOf(m), sparse);

  tf.tidy(() => {
    if (ctx.unlabeled === null || unlabeledRows === null) {
      // Without unlabeled data the original trains plainly: no augmentation, no MixUp.
      const xL = input(takeRows(ctx.labeled, labeledRows));
      const { grads } = tf.variableGrads(
        () => keep(softCrossEntropy(forward(net, xL, train).logits, matrix(yL, nClasses))),
        variables,
      );
      step(ctx.optimizer, variables, grads);
      return;
    }
    // Rows stay CSR on the host: augmentation drops stored entries, MixUp merges two patterns.
    const xLaug = log1pDrop(takeRows(ctx.labeled, labeledRows), o.augmentDropRate, rng);
    const xU = takeRows(ctx.unlabeled, unlabeledRows);

    // Teacher = current weights in eval mode (the original deep-copies the model every step).
    const probs = tf.softmax(forward(net, input(xU), { training: false }).logits);
    const confidence = tf.max(probs, 1).dataSync();
    const pseudo = sharpen(probs as tf.Tensor2D, o.sharpenTemperature).dataSync() as Float32Array;
    const confident: number[] = [];
    const unconfident: number[] = [];
    confidence.forEach((c, i) =>
      (c >= o.pseudolabelMinConfidence ? confident : unconfident).push(i),
    );
    confidentFraction = confident.length / confidence.length;

    // MixUp over [confident unlabeled; labeled] with one permutation; unconfident rows unmixed.
    const nConf = confident.length;
    const nMix = nConf + labeledRows.length;
    const permutation = rng.permutation(nMix);
    const gamma = sampleMixWeights(nMix, o.mixupAlpha, rng);
    const mixedX = mixCsrRows(concatBlocks([takeRows(xU, confident), xLaug]), permutation, gamma);
    const mixedY = mixRows(
      concatRows([pickRows(pseudo, nClasses, confident), yL]),
      permutation,
      gamma,
    );
    const xLmix = input(sliceRows(mixedX, nConf, nMix));
    const yLmix = matrix(mixedY.subarray(nConf * nClasses), nClasses);
    const xUmix = input(concatBlocks([sliceRows(mixedX, 0, nConf), takeRows(xU, unconfident)]));
    const yUmix = matrix(
      concatRows([mixedY.subarray(0, nConf * nClasses), pickRows(pseudo, nClasses, unconfident)]),
      nClasses,
    );
    const maskU = tf.tensor1d(
      Float32Array.from({ length: confidence.length }, (_, i) => (i < nConf ? 1 : 0)),
    );

    // The adversary reads [augmented labeled; unlabeled (confident only if so configured)].
    const useDan = net.adversaryParams !== null && o.danMaxWeight > 0;
    const danURows = o.danUseConfidentOnly ? confident : Array.from(unlabeledRows, (_, i) => i);
    const danX = useDan ? input(concatBlocks([xLaug, takeRows(xU, danURows)])) : null;
    const danDomains = Int32Array.from([
      ...Array.from(labeledRows, (r) => ctx.labeledDomains[r]),
      ...danURows.map((i) => ctx.unlabeledDomains![unlabeledRows[i]]),
    ]);
    let danWeights: Float32Array | undefined;
    if (danX && o.danClassWeighted) {
      // Labelled rows weighted to the query's predicted class mix; query rows weigh 1.
      danWeights = new Float32Array(danDomains.length).fill(1);
      const codes = Array.from(labeledRows, (r) => ctx.labels[r]);
      danWeights.set(labelShiftWeights(codes, probs.dataSync() as Float32Array, nClasses));
    }

    const { grads } = tf.variableGrads(() => {
      const sup = keep(softCrossEntropy(forward(net, xLmix, train).logits, yLmix));
      const unsup = keep(maskedConsistencyMse(forward(net, xUmix, train).logits, yUmix, maskU));
      let total = tf.add(sup, tf.mul(unsup, weights.unsup)) as tf.Scalar;
      if (danX) {
        const embedding = forward(net, danX, train).embedding;
        const reversed = reverseGradient(embedding, weights.dan);
        const domainLogits = adversaryForward(net.adversaryParams!, reversed);
        total = tf.add(
          total,
          keep(domainCrossEntropy(domainLogits, danDomains, danWeights)),
        ) as tf.Scalar;
      }
      return total;
    }, variables);
    step(ctx.optimizer, variables, grads);
  });

  applyNormUpdates(normUpdates);
  const values = kept.map((t) => t.dataSync()[0]);
  kept.forEach((t) => t.dispose());
  const [sup, unsup = 0, dan = 0] = values;
  return { sup, unsup, dan, total: sup + weights.unsup * unsup + dan, confidentFraction };
}

function step(optimizer: Optimizer, variables: tf.Variable[], grads: tf.NamedTensorMap): void {
  const used = variables.filter((v) => grads[v.name] !== undefined);
  optimizer.step(
    used,
    used.map((v) => grads[v.name]),
  );
}

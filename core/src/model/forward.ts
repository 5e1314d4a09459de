/**
 * Forward passes over the network's variables. Training mode = batch statistics in BatchNorm
 * (PyTorch semantics: biased variance to normalise, unbiased variance into the running average)
 * and inverted dropout with masks drawn from a seeded Rng; eval mode = running statistics, no
 * dropout, i.e. what the saved LayersModel computes.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherDense, type Csr } from '../csr.js';
import type { Rng } from '../random.js';
import { BN_EPSILON, BN_MOMENTUM } from './config.js';
import type { AdversaryParams, BatchNormParams, ScnymNetwork } from './network.js';
import { linear } from './ops.js';
import { sparseByDefault, sparseKernelsAvailable, sparseLinear, type CsrBatch } from './sparse.js';

/** Batch statistics a training pass produced, applied to the running averages afterwards. */
export interface NormUpdate {
  norm: BatchNormParams;
  mean: tf.Tensor1D;
  /** Unbiased (n − 1) batch variance. */
  variance: tf.Tensor1D;
}

export type ForwardMode =
  { training: false } | { training: true; rng: Rng; dropout: number; normUpdates: NormUpdate[] };

export interface ForwardOutput {
  logits: tf.Tensor2D;
  /** Last hidden layer after its ReLU: what the adversary reads. */
  embedding: tf.Tensor2D;
  /** Last hidden layer before its ReLU: the X_scnym embedding (in eval mode). */
  preActivation: tf.Tensor2D;
}

/** A network input: a dense batch, or a CSR batch for the sparse input layer (see sparse.ts). */
export type ForwardInput = tf.Tensor2D | CsrBatch;

function isCsr(x: ForwardInput): x is CsrBatch {
  return !(x instanceof tf.Tensor);
}

/**
 * The input for a CSR batch: the batch itself when `sparse` (default: sparseByDefault()) and the
 * backend has the sparse kernels, else the densified batch. Both give the same outputs within
 * float rounding.
 */
export function batchInput(batch: CsrBatch, sparse = sparseByDefault()): ForwardInput {
  if (sparse && sparseKernelsAvailable()) return batch;
  return tf.tensor2d(denseRows(batch), [batch.nRows, batch.nCols]);
}

function denseRows(m: CsrBatch): Float32Array {
  const out = new Float32Array(m.nRows * m.nCols);
  for (let r = 0; r < m.nRows; r++) {
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++)
      out[r * m.nCols + m.indices[k]] += m.data[k];
  }
  return out;
}

export function forward(net: ScnymNetwork, x: ForwardInput, mode: ForwardMode): ForwardOutput {
  const first = net.params.blocks[0];
  if (isCsr(x) && first?.kind !== 'plain') x = batchInput(x, false);
  let h = x as tf.Tensor2D;
  let preActivation = h;
  net.params.blocks.forEach((block, i) => {
    if (block.kind === 'plain') {
      const kernel = block.linear.kernel as tf.Tensor2D;
      const bias = block.linear.bias as tf.Tensor1D;
      h = i === 0 && isCsr(x) ? sparseFirstLayer(x, kernel, bias) : linear(h, kernel, bias, i > 0);
    } else {
      let r = linear(h, block.linearA.kernel as tf.Tensor2D, block.linearA.bias as tf.Tensor1D);
      r = tf.relu(batchNorm(r, block.normA, mode));
      r = linear(r, block.linearB.kernel as tf.Tensor2D, block.linearB.bias as tf.Tensor1D);
      h = tf.relu(tf.add(batchNorm(r, block.normB, mode), h)) as tf.Tensor2D;
    }
    h = dropout(batchNorm(h, block.norm, mode), mode);
    preActivation = h;
    h = tf.relu(h);
  });
  const out = net.params.output;
  const logits = linear(h, out.kernel as tf.Tensor2D, out.bias as tf.Tensor1D);
  return { logits, embedding: h, preActivation };
}

function sparseFirstLayer(x: CsrBatch, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  return sparseKernelsAvailable()
    ? sparseLinear(x, kernel, bias)
    : linear(tf.tensor2d(denseRows(x), [x.nRows, x.nCols]), kernel, bias, false);
}

/** Domain logits from the embedding (the gradient reversal is applied by the caller). */
export function adversaryForward(params: AdversaryParams, embedding: tf.Tensor2D): tf.Tensor2D {
  const h = tf.relu(
    linear(embedding, params.hidden.kernel as tf.Tensor2D, params.hidden.bias as tf.Tensor1D),
  );
  return linear(h, params.output.kernel as tf.Tensor2D, params.output.bias as tf.Tensor1D);
}

function batchNorm(x: tf.Tensor2D, norm: BatchNormParams, mode: ForwardMode): tf.Tensor2D {
  if (!mode.training) {
    return tf.batchNorm(
      x,
      norm.movingMean,
      norm.movingVariance,
      norm.beta,
      norm.gamma,
      BN_EPSILON,
    ) as tf.Tensor2D;
  }
  const n = x.shape[0];
  const { y, mean, variance } = trainingBatchNorm(x, norm.gamma, norm.beta);
  // mean and variance are kept tensors: mean goes to the update (applyNormUpdates disposes it).
  const unbiased = tf.keep(n > 1 ? tf.mul(variance, n / (n - 1)) : tf.clone(variance));
  variance.dispose();
  mode.normUpdates.push({ norm, mean, variance: unbiased as tf.Tensor1D });
  return y;
}

/**
 * Training-mode BatchNorm with its gradient written out (the standard closed form), instead of
 * tf.moments + tf.batchNorm: TF.js differentiates those through 4-D Tile/Sum/Mean ops that cost
 * more than the layer's matrix product on the WASM backend. Also returns the batch mean and
 * (biased) variance for the running averages, as kept tensors the caller disposes.
 */
export function trainingBatchNorm(
  x: tf.Tensor2D,
  gamma: tf.Variable | tf.Tensor,
  beta: tf.Variable | tf.Tensor,
): { y: tf.Tensor2D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let mean!: tf.Tensor1D;
  let variance!: tf.Tensor1D;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xv, g, b] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    // Kept: customGrad disposes what its forward function creates, except value and saved.
    mean = tf.keep(tf.mean(xv, 0));
    const centred = tf.sub(xv, mean);
    variance = tf.keep(tf.mean(tf.square(centred), 0));
    const invStd = tf.rsqrt(tf.add(variance, BN_EPSILON));
    const xhat = tf.mul(centred, invStd);
    save([xhat, invStd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xh, inv, gv] = saved;
        const n = dy.shape[0];
        const dBeta = tf.sum(dy, 0);
        const dGamma = tf.sum(tf.mul(dy, xh), 0);
        // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))
        const dx = tf.mul(
          tf.mul(gv, inv),
          tf.sub(tf.sub(dy, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n))),
        );
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma as tf.Tensor, beta as tf.Tensor) as tf.Tensor2D;
  return { y, mean, variance };
}

function dropout(x: tf.Tensor2D, mode: ForwardMode): tf.Tensor2D {
  if (!mode.training || mode.dropout <= 0) return x;
  const keep = 1 - mode.dropout;
  const mask = new Float32Array(x.size);
  mode.rng.fillBernoulli(mask, keep, 1 / keep);
  return tf.mul(x, tf.tensor2d(mask, x.shape));
}

/** Folds the recorded batch statistics into the running averages, in recording order. */
export function applyNormUpdates(updates: NormUpdate[]): void {
  for (const { norm, mean, variance } of updates) {
    tf.tidy(() => {
      norm.movingMean.assign(
        tf.add(tf.mul(norm.movingMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)),
      );
      norm.movingVariance.assign(
        tf.add(tf.mul(norm.movingVariance, 1 - BN_MOMENTUM), tf.mul(variance, BN_MOMENTUM)),
      );
    });
    mean.dispose();
    variance.dispose();
  }
  updates.length = 0;
}

/** Eval-mode logits of some rows of a CSR matrix (row-major rows.length × nClasses). */
export function networkLogits(net: ScnymNetwork, m: Csr, rows: Int32Array, chunk = 512) {
  const nClasses = net.config.nClasses;
  const out = new Float32Array(rows.length * nClasses);
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.subarray(start, Math.min(rows.length, start + chunk));
    const values = tf.tidy(() => {
      const x = tf.tensor2d(gatherDense(m, part), [part.length, m.nCols]);
      return forward(net, x, { training: false }).logits.dataSync();
    });
    out.set(values, start * nClasses);
  }
  return out;
}

/** Loss functions of scNym's training objective. */
import * as tf from '@tensorflow/tfjs';

/** mean_i(−Σ_c y_ic · log_softmax(z_i)_c): cross-entropy with soft (e.g. mixed) targets. */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(
    () => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar,
  );
}

/**
 * MixMatch consistency as the original: Σ_c (softmax(z_i)_c − q_ic)² per row, times the row's
 * mask (1 = confident pseudolabel), averaged over ALL rows (so it shrinks with the confident share).
 */
export function maskedConsistencyMse(
  logits: tf.Tensor2D,
  targets: tf.Tensor2D,
  mask: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const perRow = tf.sum(tf.squaredDifference(tf.softmax(logits), targets), 1);
    return tf.mean(tf.mul(perRow, mask));
  });
}

/**
 * Cross-entropy of domain logits against integer domain codes; with `weights`, the weighted mean
 * over rows (Σ w_i·CE_i / Σ w_i).
 */
export function domainCrossEntropy(
  logits: tf.Tensor2D,
  domains: Int32Array,
  weights?: Float32Array,
): tf.Scalar {
  return tf.tidy(() => {
    const targets = tf.oneHot(tf.tensor1d(domains, 'int32'), logits.shape[1]) as tf.Tensor2D;
    if (!weights) return softCrossEntropy(logits, targets);
    const perRow = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1));
    const w = tf.tensor1d(weights);
    return tf.div(tf.sum(tf.mul(perRow, w)), tf.sum(w)) as tf.Scalar;
  });
}

/**
 * Label-shift weights for the adversary's labelled rows (importance weighting as in Combes et al.
 * 2020, generalised label shift): w(c) = q(c) / p(c), with q the query's class proportions as the
 * teacher predicts them (mean probabilities of the unlabelled batch) and p the labelled batch's,
 * scaled to mean 1 over the labelled rows. Aligning the weighted reference with the query then
 * asks for the same cells per class, not the same class mix.
 */
export function labelShiftWeights(
  labeledCodes: ArrayLike<number>,
  queryProbabilities: Float32Array,
  nClasses: number,
): Float32Array {
  const q = new Float64Array(nClasses);
  const nQuery = queryProbabilities.length / nClasses;
  for (let i = 0; i < queryProbabilities.length; i++) q[i % nClasses] += queryProbabilities[i];
  const p = new Float64Array(nClasses);
  for (let i = 0; i < labeledCodes.length; i++) p[labeledCodes[i]]++;
  const w = new Float32Array(labeledCodes.length);
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    const c = labeledCodes[i];
    w[i] = q[c] / nQuery / (p[c] / labeledCodes.length);
    total += w[i];
  }
  const scale = total > 0 ? w.length / total : 1;
  for (let i = 0; i < w.length; i++) w[i] = total > 0 ? w[i] * scale : 1;
  return w;
}

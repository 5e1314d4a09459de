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

/** Cross-entropy of domain logits against integer domain codes. */
export function domainCrossEntropy(logits: tf.Tensor2D, domains: Int32Array): tf.Scalar {
  return tf.tidy(() =>
    softCrossEntropy(
      logits,
      tf.oneHot(tf.tensor1d(domains, 'int32'), logits.shape[1]) as tf.Tensor2D,
    ),
  );
}

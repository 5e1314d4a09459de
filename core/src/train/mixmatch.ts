/** MixMatch pieces: sharpening, Beta-distributed MixUp weights and the mixing itself. */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';

/** q_c^(1/T) / Σ_j q_j^(1/T) per row; T = 0 gives the one-hot argmax, T = 1 is a no-op. */
export function sharpen(probabilities: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => {
    if (temperature === 0) {
      return tf
        .oneHot(tf.argMax(probabilities, 1), probabilities.shape[1])
        .toFloat() as tf.Tensor2D;
    }
    const powered = tf.pow(probabilities, 1 / temperature);
    return tf.div(powered, tf.sum(powered, 1, true)) as tf.Tensor2D;
  });
}

/** Per-row MixUp weights γ ~ Beta(α, α), kept ≥ 0.5 so each row stays dominantly itself. */
export function sampleMixWeights(n: number, alpha: number, rng: Rng): Float32Array {
  const gamma = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = rng.beta(alpha, alpha);
    gamma[i] = Math.max(g, 1 - g);
  }
  return gamma;
}

/**
 * MixUp on a row-major host array (cheaper than tensor gathers on WASM): row i becomes
 * γ_i·row_i + (1 − γ_i)·row_perm(i). Inputs and targets are mixed with the same permutation.
 */
export function mixRows(
  values: Float32Array,
  permutation: Int32Array,
  gamma: Float32Array,
): Float32Array {
  const n = permutation.length;
  const width = n ? values.length / n : 0;
  const out = new Float32Array(values.length);
  for (let i = 0; i < n; i++) {
    const g = gamma[i];
    const own = i * width;
    const other = permutation[i] * width;
    for (let j = 0; j < width; j++)
      out[own + j] = g * values[own + j] + (1 - g) * values[other + j];
  }
  return out;
}

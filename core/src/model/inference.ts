/**
 * The classifier for prediction: eval mode with each BatchNorm folded into the Linear layer before
 * it (W' = W·s, b' = (b − μ)·s + β with s = γ/√(σ² + ε)), so a hidden layer is one matMul + bias +
 * ReLU, not four ops: on WASM with SIMD, the sparse kernels (CSR input rows, then the previous
 * layer's ReLU output with its zeros skipped), elsewhere TF.js's fused matMul.
 * It computes what forward() does in eval mode, up to float rounding (tests compare the two).
 * Residual blocks (BatchNorm after the residual sum) are not folded: foldClassifier returns null.
 */
import * as tf from '@tensorflow/tfjs';
import { BN_EPSILON } from './config.js';
import { batchInput, type ForwardInput } from './forward.js';
import type { BatchNormParams, LinearParams, ScnymNetwork } from './network.js';
import {
  createSharedInputLayer,
  sharedCsrLinear,
  type SharedInputLayer,
} from './kernels/shared-input.js';
import { csrLinear, skipZerosLinear } from './sparse.js';

interface Layer {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
}

export interface FoldedClassifier {
  hidden: Layer[];
  output: Layer;
  /** The first hidden layer's folded weights in a memory shared by prediction threads. */
  sharedInput?: SharedInputLayer;
  dispose(): void;
}

/** The folded weights of `net`'s classifier (new tensors: dispose() them), or null. */
export function foldClassifier(net: ScnymNetwork): FoldedClassifier | null {
  const { blocks, output } = net.params;
  const hidden: Layer[] = [];
  for (const block of blocks) {
    if (block.kind !== 'plain') {
      tf.dispose(hidden.flatMap((l) => [l.kernel, l.bias]));
      return null;
    }
    hidden.push(fold(block.linear, block.norm));
  }
  return {
    hidden,
    // The output layer has no BatchNorm: its variables are used as they are (not disposed).
    output: { kernel: output.kernel as tf.Tensor2D, bias: output.bias as tf.Tensor1D },
    dispose: () => tf.dispose(hidden.flatMap((l) => [l.kernel, l.bias])),
  };
}

/**
 * The folded input layer of `net` in a shared memory, for prediction threads to read one copy of
 * it (see kernels/shared-input.ts); null where it cannot be shared or the network is not folded.
 */
export function sharedInputLayerOf(net: ScnymNetwork): SharedInputLayer | null {
  const folded = foldClassifier(net);
  if (!folded) return null;
  try {
    const { kernel, bias } = folded.hidden[0];
    const [nIn, h] = kernel.shape;
    return createSharedInputLayer(
      kernel.dataSync() as Float32Array,
      bias.dataSync() as Float32Array,
      nIn,
      h,
    );
  } finally {
    folded.dispose();
  }
}

function fold(linear: LinearParams, norm: BatchNormParams): Layer {
  return tf.tidy(() => {
    const scale = tf.mul(norm.gamma, tf.rsqrt(tf.add(norm.movingVariance, BN_EPSILON)));
    return {
      kernel: tf.keep(tf.mul(linear.kernel, scale)) as tf.Tensor2D,
      bias: tf.keep(
        tf.add(tf.mul(tf.sub(linear.bias, norm.movingMean), scale), norm.beta),
      ) as tf.Tensor1D,
    };
  });
}

/** Logits and the last hidden layer before its ReLU (X_scnym), for one batch. */
export function inferenceForward(
  folded: FoldedClassifier,
  input: ForwardInput,
): { logits: tf.Tensor2D; preActivation: tf.Tensor2D } {
  const last = folded.hidden.length - 1;
  let h!: tf.Tensor2D;
  let preActivation!: tf.Tensor2D;
  folded.hidden.forEach(({ kernel, bias }, i) => {
    const relu = i < last; // the last layer's pre-activation is the embedding
    const x = i === 0 ? input : h;
    // A CSR input goes to the sparse kernel (on the threads' shared copy of the weights when
    // there is one); hidden layers read ReLU outputs, whose zeros the dense kernel skips (a dense
    // input batch, sparseInput: false, stays with TF.js's matMul).
    const shared =
      i === 0 && folded.sharedInput && !(x instanceof tf.Tensor)
        ? sharedCsrLinear(folded.sharedInput, x, relu)
        : null;
    const sparse = shared
      ? tf.tensor2d(shared, [shared.length / kernel.shape[1], kernel.shape[1]])
      : x instanceof tf.Tensor
        ? i > 0
          ? skipZerosLinear(x, kernel, bias, relu)
          : null
        : csrLinear(x, kernel, bias, relu);
    h =
      sparse ??
      (tf.fused.matMul({
        a: x instanceof tf.Tensor ? x : (batchInput(x, false) as tf.Tensor2D),
        b: kernel,
        bias,
        activation: relu ? 'relu' : 'linear',
      }) as tf.Tensor2D);
    if (!relu) {
      preActivation = h;
      h = tf.relu(h);
    }
  });
  const { kernel, bias } = folded.output;
  return { logits: tf.fused.matMul({ a: h, b: kernel, bias }) as tf.Tensor2D, preActivation };
}

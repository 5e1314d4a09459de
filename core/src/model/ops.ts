/** Differentiable building blocks with hand-written gradients. */
import * as tf from '@tensorflow/tfjs';
import { skipZerosLinear } from './sparse.js';

/**
 * x·W + b. The gradient uses explicit transposes and plain matMuls: on the WASM backend a
 * transposed matMul operand is ~20× slower than transposing first. When `inputGrad` is false
 * (first layer: the input is data) dx is not computed at all. With `inputGrad`, x is a ReLU
 * output (hidden layers, logits, adversary): x·W and dW = xᵀ·dy skip its zeros on WASM with SIMD
 * (a kang_ifnb `original` step: 151 → 132 ms).
 */
export function linear(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  inputGrad = true,
): tf.Tensor2D {
  if (!inputGrad) {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [w, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
      save([x]);
      return {
        value: tf.add(tf.matMul(x, w), b) as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [
          tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), dy),
          tf.sum(dy, 0),
        ],
      };
    });
    return op(kernel, bias) as tf.Tensor2D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    // Intermediates of the forward pass are disposed before backprop unless saved.
    save([input, w]);
    // dx = dy·Wᵀ has no zeros to skip.
    return {
      value: skipZerosLinear(input, w, b, false) ?? (tf.add(tf.matMul(input, w), b) as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [savedInput, savedW] = saved as [tf.Tensor2D, tf.Tensor2D];
        const inputT = tf.transpose(savedInput);
        return [
          tf.matMul(dy, tf.transpose(savedW)),
          skipZerosLinear(inputT, dy, null, false) ?? tf.matMul(inputT, dy),
          tf.sum(dy, 0),
        ];
      },
    };
  });
  return op(x, kernel, bias) as tf.Tensor2D;
}

/** Gradient reversal: identity forward, −scale·dy backward (DANN's GRL). */
export function reverseGradient<T extends tf.Tensor>(x: T, scale: number): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as T;
    return { value: tf.clone(input), gradFunc: (dy: T) => tf.mul(dy, -scale) };
  });
  return op(x) as T;
}

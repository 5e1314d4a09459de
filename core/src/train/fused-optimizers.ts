/**
 * An optimiser's update of one variable as a single WASM SIMD kernel (simd.wat's `adadelta` and
 * `adam`): one pass over the weights, gradient and both running averages instead of 12–16 tfjs
 * ops that each stream the first layer's 1.8M floats (kang_ifnb) through memory. The kernels take
 * the ops' products and sums in the same order, with the same float32 scalars: the same floats.
 */
import * as tf from '@tensorflow/tfjs';
import { optimizerStepOnHeap } from '../model/kernels/simd.js';
import { runOnHeap, simdBackend, type WasmLike } from '../model/kernels/wasm-backend.js';

const KERNEL = 'ScnymOptimizerStep';

interface StepAttrs {
  kernel: 'adadelta' | 'adam';
  scalars: number[];
}

function register(): void {
  if (tf.getKernel(KERNEL, 'wasm')) return;
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, g, a, b } = inputs as Record<'p' | 'g' | 'a' | 'b', tf.TensorInfo>;
      const { kernel, scalars } = attrs as unknown as StepAttrs;
      const wasm = backend as WasmLike;
      const n = p.shape.reduce((x, y) => x * y, 1);
      const outputs = runOnHeap(wasm, [p.shape, p.shape, p.shape], (at, [pOut, aOut, bOut]) => {
        const buffers = { p: at(p), g: at(g), a: at(a), b: at(b), pOut, aOut, bOut };
        return optimizerStepOnHeap(wasm.wasm, kernel, n, buffers, scalars);
      });
      if (!outputs) throw new Error('the WASM SIMD kernels are unavailable'); // fusedStep checks first
      return outputs;
    },
  });
}

/**
 * [variable, first average, second average] after one step (new tensors), or null where the
 * kernels cannot run (another backend, no WASM SIMD).
 */
export function fusedStep(
  kernel: StepAttrs['kernel'],
  tensors: { p: tf.Tensor; g: tf.Tensor; a: tf.Tensor; b: tf.Tensor },
  scalars: number[],
): tf.Tensor[] | null {
  if (!simdBackend() || Object.values(tensors).some((t) => t.dtype !== 'float32')) return null;
  register();
  const attrs = { kernel, scalars } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(KERNEL, tensors, attrs) as unknown as tf.Tensor[];
}

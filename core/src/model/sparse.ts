/**
 * The sparse input layer: y = X·W + b for a CSR batch X, as TF.js kernels for the WASM and CPU
 * backends, and the matching gradient for W and b (none for X: the input is data).
 *
 * Expression rows are ~5% non-zero, so the first layer (which holds nearly all of the network's
 * FLOPs) costs nnz·H multiply-adds instead of nRows·nGenes·H. The kernels run in JavaScript on the
 * backend's own memory (the WASM heap, or the CPU backend's typed arrays), with no read-back of W:
 * the CSR batch travels as kernel attributes (host typed arrays), not as tensors, so a batch costs
 * no uploads. Backends without the kernels (WebGL) use the dense path (see forward.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Csr } from '../csr.js';
import { csrMatMulOnHeap, denseMatMulOnHeap } from './kernels/simd.js';
import { runOnHeap, simdBackend, type WasmLike } from './kernels/wasm-backend.js';

/** A CSR batch with 32-bit offsets starting at 0 (what the kernels read). */
export interface CsrBatch extends Csr {
  indptr: Int32Array;
}

const FORWARD = 'ScnymCsrMatMul';
const DENSE_FORWARD = 'ScnymDenseSkipZerosMatMul';
const GRAD_W = 'ScnymCsrGradW';
const BACKENDS = ['wasm', 'cpu'] as const;

interface ForwardAttrs {
  batch: CsrBatch;
  /** max(·, 0) on the output (inference only: the gradient assumes no ReLU). */
  relu?: boolean;
}

interface GradAttrs {
  batch: CsrBatch;
}

/** The subset of the CPU backend the kernels use (not part of its typings). */
interface CpuLike {
  data: { get(dataId: object): { values: tf.TypedArray } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
}

/** Allocates a float32 output and gives views of it and of the inputs (in that order). */
function buffers(
  backendName: string,
  backend: unknown,
  inputs: tf.TensorInfo[],
  shape: number[],
): { out: tf.TensorInfo; outValues: Float32Array; inputValues: Float32Array[] } {
  if (backendName === 'wasm') {
    const b = backend as WasmLike;
    // Allocate first: growing the heap detaches views taken before.
    const out = b.makeOutput(shape, 'float32');
    return {
      out,
      outValues: b.typedArrayFromHeap(out) as Float32Array,
      inputValues: inputs.map((t) => b.typedArrayFromHeap(t) as Float32Array),
    };
  }
  const b = backend as CpuLike;
  const outValues = new Float32Array(shape.reduce((a, c) => a * c, 1));
  return {
    out: b.makeTensorInfo(shape, 'float32', outValues),
    outValues,
    inputValues: inputs.map((t) => b.data.get(t.dataId).values as Float32Array),
  };
}

/**
 * rows · m (+ bias) with the WebAssembly SIMD kernel, reading and writing tfjs's WASM heap in
 * place; null when that kernel is unavailable (then the JavaScript loop runs).
 */
function simdOnHeap(
  backend: WasmLike,
  rows: CsrBatch,
  m: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  shape: [number, number],
  relu = false,
): tf.TensorInfo | null {
  if (!useSimd) return null;
  const outputs = runOnHeap(backend, [shape], (at, [out]) =>
    csrMatMulOnHeap(backend.wasm, rows, at(m), bias ? at(bias) : 0, out, shape[1], relu),
  );
  return outputs?.[0] ?? null;
}

let useSimd = true;

/** Turns the WASM SIMD kernel off (benchmarks and tests compare it with the JavaScript loop). */
export function setSparseSimd(enabled: boolean): void {
  useSimd = enabled;
}

let registered = false;

/** Registers the kernels (idempotent); called on first use. */
export function registerSparseKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of BACKENDS) {
    if (!tf.getKernel(FORWARD, backendName)) {
      tf.registerKernel({
        kernelName: FORWARD,
        backendName,
        kernelFunc: ({ inputs, backend, attrs }) => {
          const { w, b } = inputs as { w: tf.TensorInfo; b: tf.TensorInfo };
          const { batch, relu = false } = attrs as unknown as ForwardAttrs;
          const h = w.shape[1];
          if (backendName === 'wasm') {
            const out = simdOnHeap(backend as WasmLike, batch, w, b, [batch.nRows, h], relu);
            if (out) return out;
          }
          const { out, outValues, inputValues } = buffers(
            backendName,
            backend,
            [w, b],
            [batch.nRows, h],
          );
          csrMatMul(batch, inputValues[0], inputValues[1], outValues, h);
          if (relu)
            for (let i = 0; i < outValues.length; i++) outValues[i] = Math.max(outValues[i], 0);
          return out;
        },
      });
    }
    if (backendName === 'wasm' && !tf.getKernel(DENSE_FORWARD, backendName)) {
      tf.registerKernel({
        kernelName: DENSE_FORWARD,
        backendName,
        kernelFunc: ({ inputs, backend, attrs }) => {
          const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
          const { relu } = attrs as unknown as { relu: boolean };
          const wasm = backend as WasmLike;
          const [nRows, nIn] = x.shape;
          const h = w.shape[1];
          const shape = { nRows, nIn, h };
          const outputs = runOnHeap(wasm, [[nRows, h]], (at, [out]) =>
            denseMatMulOnHeap(wasm.wasm, shape, at(x), at(w), b ? at(b) : 0, out, relu),
          );
          if (!outputs) throw new Error('the WASM SIMD kernel is unavailable'); // callers check first
          return outputs[0];
        },
      });
    }
    if (!tf.getKernel(GRAD_W, backendName)) {
      tf.registerKernel({
        kernelName: GRAD_W,
        backendName,
        kernelFunc: ({ inputs, backend, attrs }) => {
          const { dy } = inputs as { dy: tf.TensorInfo };
          const { batch } = attrs as unknown as GradAttrs;
          const h = dy.shape[1];
          if (backendName === 'wasm') {
            const out = simdOnHeap(backend as WasmLike, cscOf(batch), dy, null, [batch.nCols, h]);
            if (out) return out;
          }
          const { out, outValues, inputValues } = buffers(
            backendName,
            backend,
            [dy],
            [batch.nCols, h],
          );
          csrTransposeMatMul(batch, inputValues[0], outValues, h);
          return out;
        },
      });
    }
  }
}

/**
 * Whether the input layer reads CSR batches when the caller does not say: on the WASM backend
 * with the SIMD kernel, where it beats XNNPACK's dense matMul at single-cell densities (see
 * test/bench/speed.ts); elsewhere (WebGL, CPU, no SIMD) the dense path.
 */
export function sparseByDefault(): boolean {
  return useSimd && simdBackend();
}

/** True when the current backend has the sparse kernels. */
export function sparseKernelsAvailable(): boolean {
  return (BACKENDS as readonly string[]).includes(tf.getBackend());
}

/**
 * X·W + b for a CSR batch X (nRows × nGenes) and W (nGenes × H); differentiable in W and b.
 */
export function sparseLinear(batch: CsrBatch, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  registerSparseKernels();
  checkShapes(batch, kernel);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [w, b] = args as [tf.Tensor2D, tf.Tensor1D];
    const attrs = { batch } as unknown as tf.NamedAttrMap;
    return {
      value: tf.engine().runKernel(FORWARD, { w, b }, attrs) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D) => [
        tf.engine().runKernel(GRAD_W, { dy }, attrs) as tf.Tensor2D,
        tf.sum(dy, 0),
      ],
    };
  });
  return op(kernel, bias) as tf.Tensor2D;
}

function checkShapes(batch: CsrBatch, kernel: tf.Tensor2D): void {
  if (batch.nCols !== kernel.shape[0]) {
    throw new RangeError(
      `sparse input layer: ${batch.nCols} columns for a ${kernel.shape[0]}-row kernel`,
    );
  }
}

/**
 * X·W + b (ReLU'd with `relu`) for a CSR batch, without a gradient: the inference path's input
 * layer. Null on backends without the sparse kernels.
 */
export function csrLinear(
  batch: CsrBatch,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  relu: boolean,
): tf.Tensor2D | null {
  if (!sparseKernelsAvailable()) return null;
  registerSparseKernels();
  checkShapes(batch, kernel);
  const attrs = { batch, relu } as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(FORWARD, { w: kernel, b: bias }, attrs) as tf.Tensor2D;
}

/**
 * x·W (+ b, ReLU'd with `relu`) for a dense batch, skipping x's zeros, without a gradient: layers
 * whose inputs are ReLU outputs (about half zeros at inference, three quarters after training's
 * dropout; at 50% this is ~1.7× XNNPACK's dense matMul, at none ~0.85×). Null unless the WASM
 * SIMD kernel can run.
 */
export function skipZerosLinear(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  relu: boolean,
): tf.Tensor2D | null {
  if (!sparseByDefault() || kernel.shape[1] % 4 !== 0) return null;
  registerSparseKernels();
  const attrs = { relu } as unknown as tf.NamedAttrMap;
  const inputs: tf.NamedTensorMap = bias ? { x, w: kernel, b: bias } : { x, w: kernel };
  return tf.engine().runKernel(DENSE_FORWARD, inputs, attrs) as tf.Tensor2D;
}

/**
 * out[r, :] = b + Σ_k data[k]·W[indices[k], :], four stored entries at a time (one pass over the
 * output row per four kernel rows: the output row stays in cache and the loop vectorises).
 */
export function csrMatMul(
  m: CsrBatch,
  w: Float32Array,
  b: Float32Array,
  out: Float32Array,
  h: number,
): void {
  const { indptr, indices, data } = m;
  for (let r = 0; r < m.nRows; r++) {
    const o = r * h;
    for (let j = 0; j < h; j++) out[o + j] = b[j];
    const end = indptr[r + 1];
    let k = indptr[r];
    for (; k + 3 < end; k += 4) {
      const v0 = data[k];
      const v1 = data[k + 1];
      const v2 = data[k + 2];
      const v3 = data[k + 3];
      const a0 = indices[k] * h;
      const a1 = indices[k + 1] * h;
      const a2 = indices[k + 2] * h;
      const a3 = indices[k + 3] * h;
      for (let j = 0; j < h; j++) {
        out[o + j] += v0 * w[a0 + j] + v1 * w[a1 + j] + v2 * w[a2 + j] + v3 * w[a3 + j];
      }
    }
    for (; k < end; k++) {
      const v = data[k];
      const a = indices[k] * h;
      for (let j = 0; j < h; j++) out[o + j] += v * w[a + j];
    }
  }
}

/**
 * dW = Xᵀ·dy (nGenes × H): the batch is transposed to CSC on the host (a counting sort of its
 * entries), then each gene's row of dW is accumulated like csrMatMul's output rows.
 */
export function csrTransposeMatMul(
  m: CsrBatch,
  dy: Float32Array,
  out: Float32Array,
  h: number,
): void {
  const { indptr: colptr, indices: rows, data: values } = cscOf(m);
  out.fill(0);
  for (let c = 0; c < m.nCols; c++) {
    const end = colptr[c + 1];
    let k = colptr[c];
    if (k === end) continue;
    const o = c * h;
    for (; k + 3 < end; k += 4) {
      const v0 = values[k];
      const v1 = values[k + 1];
      const v2 = values[k + 2];
      const v3 = values[k + 3];
      const a0 = rows[k] * h;
      const a1 = rows[k + 1] * h;
      const a2 = rows[k + 2] * h;
      const a3 = rows[k + 3] * h;
      for (let j = 0; j < h; j++) {
        out[o + j] += v0 * dy[a0 + j] + v1 * dy[a1 + j] + v2 * dy[a2 + j] + v3 * dy[a3 + j];
      }
    }
    for (; k < end; k++) {
      const v = values[k];
      const a = rows[k] * h;
      for (let j = 0; j < h; j++) out[o + j] += v * dy[a + j];
    }
  }
}

/** Xᵀ as CSR (X's CSC), by a counting sort of the stored entries: nCols rows of nRows columns. */
export function cscOf(m: CsrBatch): CsrBatch {
  const { indptr, indices, data } = m;
  const nnz = indptr[m.nRows];
  const colptr = new Int32Array(m.nCols + 1);
  for (let k = 0; k < nnz; k++) colptr[indices[k] + 1]++;
  for (let c = 0; c < m.nCols; c++) colptr[c + 1] += colptr[c];
  const fill = colptr.slice(0, m.nCols);
  const rows = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  for (let r = 0; r < m.nRows; r++) {
    for (let k = indptr[r]; k < indptr[r + 1]; k++) {
      const p = fill[indices[k]]++;
      rows[p] = r;
      values[p] = data[k];
    }
  }
  return { nRows: m.nCols, nCols: m.nRows, indptr: colptr, indices: rows, data: values };
}

/**
 * scNym's WebAssembly SIMD kernels (simd.wat), instantiated on TensorFlow.js's own WASM memory so
 * they read tensors and write outputs where tfjs keeps them: no copies of the 256-wide matrices,
 * only a CSR batch is copied in. Each wrapper returns false where WASM SIMD is missing (callers
 * then use JavaScript loops or tfjs ops).
 */
import { WASM_BASE64 } from './simd-wasm.js';

/** The WebAssembly API used here (core compiles without the DOM library's typings). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
type Memory = object;

/** What the kernel needs of tfjs-backend-wasm's emscripten module (not in its typings). */
export interface WasmHeap {
  asm: { memory?: Memory };
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

type CsrMatMulExport = (
  nRows: number,
  indptr: number,
  indices: number,
  data: number,
  m: number,
  bias: number,
  out: number,
  h: number,
  relu: number,
) => void;

type DenseMatMulExport = (
  nRows: number,
  x: number,
  nIn: number,
  m: number,
  bias: number,
  out: number,
  h: number,
  relu: number,
  scratch: number,
) => void;

/** n, then byte offsets of the variable, gradient, two averages and three outputs, then scalars. */
type OptimizerExport = (...args: number[]) => void;

interface Kernels {
  csr: CsrMatMulExport;
  dense: DenseMatMulExport;
  adadelta: OptimizerExport;
  adam: OptimizerExport;
}

let compiled: object | null | undefined;
const instances = new WeakMap<Memory, Kernels>();

function compile(): object | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0));
    compiled = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

function kernelFor(heap: WasmHeap): Kernels | null {
  const memory = heap.asm?.memory;
  if (!wasmApi || !(memory instanceof wasmApi.Memory)) return null;
  let kernels = instances.get(memory);
  if (!kernels) {
    const module = compile();
    if (!module) return null;
    const { exports } = new wasmApi.Instance(module, { env: { memory } });
    kernels = {
      csr: exports.csr_matmul as CsrMatMulExport,
      dense: exports.dense_matmul as DenseMatMulExport,
      adadelta: exports.adadelta as OptimizerExport,
      adam: exports.adam as OptimizerExport,
    };
    instances.set(memory, kernels);
  }
  return kernels;
}

/** True when the SIMD kernel can run on this heap (WASM SIMD supported, memory reachable). */
export function simdAvailable(heap: WasmHeap): boolean {
  return kernelFor(heap) !== null;
}

/**
 * out[r, :] = bias + Σ data[k]·m[indices[k], :] on the heap (byte offsets; bias 0 = none), then
 * max(out, 0) with `relu`. Returns false when the SIMD kernel is unavailable (the caller falls
 * back).
 */
export function csrMatMulOnHeap(
  heap: WasmHeap,
  rows: { nRows: number; indptr: Int32Array; indices: Int32Array; data: Float32Array },
  m: number,
  bias: number,
  out: number,
  h: number,
  relu = false,
): boolean {
  const fn = kernelFor(heap)?.csr;
  if (!fn || h % 4 !== 0) return false;
  const nnz = rows.indptr[rows.nRows];
  const ptrBytes = 4 * (rows.nRows + 1);
  const entryBytes = 4 * nnz;
  const p = heap._malloc(ptrBytes + 2 * entryBytes);
  try {
    // Views after malloc: growing the heap replaces its buffer.
    const buffer = heap.HEAPU8.buffer;
    new Int32Array(buffer, p, rows.nRows + 1).set(rows.indptr.subarray(0, rows.nRows + 1));
    new Int32Array(buffer, p + ptrBytes, nnz).set(rows.indices.subarray(0, nnz));
    new Float32Array(buffer, p + ptrBytes + entryBytes, nnz).set(rows.data.subarray(0, nnz));
    fn(rows.nRows, p, p + ptrBytes, p + ptrBytes + entryBytes, m, bias, out, h, relu ? 1 : 0);
  } finally {
    heap._free(p);
  }
  return true;
}

/**
 * out = x·m + bias (then max(·, 0) with `relu`) for a dense nRows × nIn matrix x on the heap,
 * skipping x's zeros. Returns false when the SIMD kernel is unavailable.
 */
export function denseMatMulOnHeap(
  heap: WasmHeap,
  shape: { nRows: number; nIn: number; h: number },
  x: number,
  m: number,
  bias: number,
  out: number,
  relu: boolean,
): boolean {
  const fn = kernelFor(heap)?.dense;
  if (!fn || shape.h % 4 !== 0) return false;
  const scratch = heap._malloc(8 * shape.nIn);
  try {
    fn(shape.nRows, x, shape.nIn, m, bias, out, shape.h, relu ? 1 : 0, scratch);
  } finally {
    heap._free(scratch);
  }
  return true;
}

/** Byte offsets of an optimiser step's tensors: inputs, then the three outputs. */
export interface OptimizerBuffers {
  /** The variable, its gradient and its two running averages. */
  p: number;
  g: number;
  a: number;
  b: number;
  pOut: number;
  aOut: number;
  bOut: number;
}

/**
 * One optimiser step over n floats with simd.wat's `adadelta` or `adam` (its scalars in the
 * order the function takes them): the new variable and averages go to the output buffers.
 * Returns false when the SIMD kernels are unavailable.
 */
export function optimizerStepOnHeap(
  heap: WasmHeap,
  kernel: 'adadelta' | 'adam',
  n: number,
  at: OptimizerBuffers,
  scalars: readonly number[],
): boolean {
  const fn = kernelFor(heap)?.[kernel];
  if (!fn) return false;
  fn(n, at.p, at.g, at.a, at.b, at.pOut, at.aOut, at.bOut, ...scalars);
  return true;
}

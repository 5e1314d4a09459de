/**
 * One copy of the input layer's folded weights for every prediction thread: a shared WebAssembly
 * memory written once by the main thread and posted to the workers, read by simd.wat's csr_matmul
 * assembled to import a shared memory (simd-shared-wasm.ts). With one copy per thread, two copies
 * of a 20k-gene layer (20 MB each) do not fit the 32 MB L3 the cores share, and each thread's
 * gathers of 1 KB weight rows slowed the other's. Each thread copies its CSR batch into its own
 * scratch region of that memory and the output back out: the same kernel on the same floats, so
 * the same bits as on TF.js's heap.
 */
import type { CsrBatch } from '../sparse.js';
import { WASM_BASE64 } from './simd-shared-wasm.js';

/** The WebAssembly API used here (core compiles without the DOM library's typings). */
interface SharedWasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => SharedMemory;
}

interface SharedMemory {
  buffer: ArrayBufferLike;
  grow(pages: number): number;
}

const wasmApi = (globalThis as unknown as { WebAssembly?: SharedWasmApi }).WebAssembly;
const PAGE = 65536;
/** The import's maximum (simd-shared-wasm.ts): 4 GB, reserved, not committed. */
const MAX_PAGES = 65536;
/** Bytes 0–3: the end of what the threads have taken (Atomics), then the weights. */
const HEADER = 64;

/** The input layer in a shared memory: posted to workers as it is (the memory is shared). */
export interface SharedInputLayer {
  memory: SharedMemory;
  nIn: number;
  h: number;
  /** Byte offsets of the nIn × h kernel and the h-wide bias. */
  kernel: number;
  bias: number;
}

type CsrMatMulExport = (...args: number[]) => void;

let compiled: object | null | undefined;

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

const align = (n: number) => Math.ceil(n / HEADER) * HEADER;

/** Grows the memory to hold `end` bytes (another thread may have grown it already). */
function reserve(memory: SharedMemory, end: number): void {
  const have = memory.buffer.byteLength;
  if (have < end) memory.grow(Math.ceil((end - have) / PAGE));
}

/**
 * The layer's kernel (nIn × h, row-major) and bias in a new shared memory, or null where shared
 * WebAssembly memory or SIMD is missing (then each thread uses its own copy, as before).
 */
export function createSharedInputLayer(
  kernel: Float32Array,
  bias: Float32Array,
  nIn: number,
  h: number,
): SharedInputLayer | null {
  if (!wasmApi || h % 4 !== 0 || kernel.length !== nIn * h || bias.length !== h) return null;
  if (!compile()) return null;
  const at = HEADER;
  const biasAt = at + 4 * kernel.length;
  const end = align(biasAt + 4 * h);
  let memory: SharedMemory;
  try {
    memory = new wasmApi.Memory({
      initial: Math.ceil(end / PAGE),
      maximum: MAX_PAGES,
      shared: true,
    });
  } catch {
    return null; // no SharedArrayBuffer here
  }
  new Float32Array(memory.buffer, at, kernel.length).set(kernel);
  new Float32Array(memory.buffer, biasAt, h).set(bias);
  Atomics.store(new Int32Array(memory.buffer, 0, 1), 0, end);
  return { memory, nIn, h, kernel: at, bias: biasAt };
}

/** This thread's instance of the kernel on the layer's memory, and its scratch region. */
interface ThreadState {
  csr: CsrMatMulExport;
  scratch: number;
  bytes: number;
}

const threads = new WeakMap<object, ThreadState>();

function stateFor(layer: SharedInputLayer): ThreadState | null {
  let state = threads.get(layer.memory);
  if (!state) {
    const module = compile();
    if (!module || !wasmApi) return null;
    const { exports } = new wasmApi.Instance(module, { env: { memory: layer.memory } });
    state = { csr: exports.csr_matmul as CsrMatMulExport, scratch: 0, bytes: 0 };
    threads.set(layer.memory, state);
  }
  return state;
}

/**
 * X·W + b (then max(·, 0) with `relu`) for a CSR batch, with the layer's shared weights: the
 * nRows × h output in a new array. Null when the kernel cannot run here.
 */
export function sharedCsrLinear(
  layer: SharedInputLayer,
  batch: CsrBatch,
  relu: boolean,
): Float32Array | null {
  const state = stateFor(layer);
  if (!state || batch.nCols !== layer.nIn) return null;
  const { nRows, indptr, indices, data } = batch;
  const nnz = indptr[nRows];
  const ptrBytes = align(4 * (nRows + 1));
  const entryBytes = align(4 * nnz);
  const outBytes = 4 * nRows * layer.h;
  const need = ptrBytes + 2 * entryBytes + outBytes;
  if (need > state.bytes) {
    // A region of this thread's own, taken once (twice the need, so rarely again); a smaller
    // one left behind stays unused.
    const bytes = align(2 * need);
    const start = Atomics.add(new Int32Array(layer.memory.buffer, 0, 1), 0, bytes);
    if (start + bytes > MAX_PAGES * PAGE) return null;
    reserve(layer.memory, start + bytes);
    state.scratch = start;
    state.bytes = bytes;
  }
  const p = state.scratch;
  const out = p + ptrBytes + 2 * entryBytes;
  const buffer = layer.memory.buffer;
  new Int32Array(buffer, p, nRows + 1).set(indptr.subarray(0, nRows + 1));
  new Int32Array(buffer, p + ptrBytes, nnz).set(indices.subarray(0, nnz));
  new Float32Array(buffer, p + ptrBytes + entryBytes, nnz).set(data.subarray(0, nnz));
  state.csr(
    nRows,
    p,
    p + ptrBytes,
    p + ptrBytes + entryBytes,
    layer.kernel,
    layer.bias,
    out,
    layer.h,
    relu ? 1 : 0,
  );
  return new Float32Array(buffer, out, nRows * layer.h).slice();
}

/**
 * The part of TF.js's WASM backend that scNym's own kernels use (not in its typings): outputs
 * allocated on its heap, tensors' byte offsets in that heap, and the emscripten module itself;
 * and runOnHeap, which runs one of the kernels on them.
 */
import * as tf from '@tensorflow/tfjs';
import { simdAvailable, type WasmHeap } from './simd.js';

export interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  disposeData?(dataId: object): boolean;
  wasm: WasmHeap;
}

/** True when the current backend is WASM and the SIMD kernels can run on its heap. */
export function simdBackend(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const heap = (tf.backend() as unknown as Partial<WasmLike>).wasm;
  return heap !== undefined && simdAvailable(heap);
}

/**
 * Runs a heap kernel: allocates float32 outputs of the given shapes, then calls `run` with a
 * tensor → byte offset function and the outputs' offsets. Returns the outputs, or null (outputs
 * freed) when `run` returns false (the SIMD kernels are unavailable).
 */
export function runOnHeap(
  backend: WasmLike,
  shapes: number[][],
  run: (at: (t: tf.TensorInfo) => number, outputs: number[]) => boolean,
): tf.TensorInfo[] | null {
  const outputs = shapes.map((shape) => backend.makeOutput(shape, 'float32'));
  // Byte offsets, not views: they stay valid when the heap grows (the kernels malloc scratch).
  const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  if (run(at, outputs.map(at))) return outputs;
  for (const out of outputs) backend.disposeData?.(out.dataId);
  return null;
}

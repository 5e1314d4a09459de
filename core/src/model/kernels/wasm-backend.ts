/**
 * The part of TF.js's WASM backend that scNym's own kernels use (not in its typings): outputs
 * allocated on its heap, tensors' byte offsets in that heap, and the emscripten module itself.
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

/** A tensor's byte offset in the WASM heap. */
export function offsetOf(backend: WasmLike, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** True when the current backend is WASM and the SIMD kernels can run on its heap. */
export function simdBackend(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const heap = (tf.backend() as unknown as Partial<WasmLike>).wasm;
  return heap !== undefined && simdAvailable(heap);
}

/** Shapes and selections: checking a selection, and slicing data held in memory. */
import { AnnDataError } from '../../errors.js';
import type { ArrayData, Range, Selection } from '../hierarchy.js';
import { emptyLike } from '../typed-arrays.js';

export const product = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

export function resolveSelection(
  shape: number[],
  selection: Selection | undefined,
  where: { file: string; element: string },
): Range[] {
  if (selection && selection.length > shape.length) {
    throw new AnnDataError(
      `selection has ${selection.length} dimensions but the array has ${shape.length}`,
      where,
    );
  }
  return shape.map((size, d) => {
    const r = selection?.[d] ?? { start: 0, end: size };
    const ok = Number.isInteger(r.start) && Number.isInteger(r.end);
    if (!ok || r.start < 0 || r.end < r.start || r.end > size) {
      throw new AnnDataError(
        `selection [${r.start}, ${r.end}) is outside dimension ${d} (size ${size})`,
        where,
      );
    }
    return r;
  });
}

/** Copies a rectangular part of a row-major array (used for elements not yet on disk). */
export function sliceArray(data: ArrayData, shape: number[], ranges: Range[]): ArrayData {
  const outShape = ranges.map((r) => r.end - r.start);
  const out = emptyLike(data, product(outShape));
  if (out.length === 0) return out;
  if (shape.length === 0) return data.slice() as ArrayData;
  const strides = shape.map((_, d) => product(shape.slice(d + 1)));
  const last = shape.length - 1;
  const run = outShape[last];
  const src = data as unknown as { [i: number]: unknown };
  const dst = out as unknown as { [i: number]: unknown };
  const index = new Array<number>(last).fill(0);
  for (let o = 0; o < out.length; o += run) {
    let s = ranges[last].start;
    for (let d = 0; d < last; d++) s += (ranges[d].start + index[d]) * strides[d];
    for (let k = 0; k < run; k++) dst[o + k] = src[s + k];
    for (let d = last - 1; d >= 0 && ++index[d] === outShape[d]; d--) index[d] = 0;
  }
  return out;
}

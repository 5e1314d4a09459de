/** Random inputs and float comparisons shared by the model and kernel tests. */
import assert from 'node:assert/strict';
import { fromDense } from '../../core/src/csr.js';
import type { CsrBatch } from '../../core/src/model/sparse.js';
import { Rng } from '../../core/src/random.js';

/** A random sparse log1p-like matrix (about `density` of the entries non-zero). */
export function randomCsr(nRows: number, nCols: number, density: number, seed: number): CsrBatch {
  const rng = new Rng(seed);
  const values = new Float32Array(nRows * nCols);
  for (let i = 0; i < values.length; i++) {
    if (rng.uniform() < density) values[i] = Math.log1p(1 + 20 * rng.uniform());
  }
  return fromDense(values, nRows, nCols) as CsrBatch;
}

/** Every |a − b| within rel × max(1, max |b|). */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-4): void {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= rel * Math.max(1, scale), `[${i}] ${a[i]} ≉ ${b[i]}`);
  }
}

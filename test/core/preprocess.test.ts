import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScnymError } from '../../core/src/errors.js';
import {
  concatBlocks,
  fromDense,
  gatherDense,
  remapColumns,
  takeRows,
  toDense,
} from '../../core/src/csr.js';
import { AnnDataError } from '../../core/src/errors.js';
import type { MatrixReader } from '../../core/src/anndata/types.js';
import { log1pCpmBlocks, type ChosenMatrix } from '../../core/src/prepare.js';
import {
  alignGenes,
  countsToLog1pCpm,
  detectContent,
  intersectGenes,
  log1pCpm,
  renormalizeLog1p,
  toLog1pCpm,
} from '../../core/src/preprocess.js';

const close = (a: number, b: number, tol = 1e-5) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);

test('log1pCpm: natural log of counts per million, zero rows stay zero', () => {
  const m = fromDense([1, 3, 0, 0, 0, 0, 0, 2, 2], 3, 3);
  const out = toDense(log1pCpm(m));
  close(out[0], Math.log1p(250000));
  close(out[1], Math.log1p(750000));
  assert.equal(out[2], 0);
  assert.deepEqual(Array.from(out.slice(3, 6)), [0, 0, 0]);
  close(out[7], Math.log1p(500000));
});

test('countsToLog1pCpm: the same floats as log1pCpm on counts; null when a value is not a count', () => {
  // Small counts (tabled), large ones, rows of 0–7 entries (the four-at-a-time sums' remainders).
  const values: number[] = [];
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 9; c++) values.push(c < r ? (r * 7 + c * 13) % 40 : 0);
  }
  values[70] = 123456;
  const counts = fromDense(values, 8, 9);
  const exact = Array.from(log1pCpm(counts).data);
  assert.deepEqual(Array.from(countsToLog1pCpm(counts)!.data), exact);
  for (const bad of [0.5, -1, Number.NaN]) {
    const refused = fromDense(
      values.map((v, i) => (i === 40 ? bad : v)),
      8,
      9,
    );
    const before = Array.from(refused.data);
    assert.equal(countsToLog1pCpm(refused), null, `${bad} is not a count`);
    assert.deepEqual(Array.from(refused.data), before, 'the block is left as it was');
  }
});

test('log1pCpmBlocks: each block of a count matrix is checked; a normalised block is refused by rows', async () => {
  const block = (values: number[]) => fromDense(values, 2, 3);
  const blocks = [
    block([1, 0, 3, 2, 2, 0]),
    block([0, 1, 1, 4, 0, 0]),
    log1pCpm(block([2, 0, 5, 0, 3, 0])),
  ];
  const reader: MatrixReader = {
    name: 'X',
    encoding: 'csr',
    shape: [6, 3],
    dtype: 'float32',
    preferredBlockRows: 2,
    rows: async (start) => {
      const { nRows, nCols, indptr, indices, data } = blocks[start / 2];
      return { rowStart: start, nRows, nCols, indptr: Int32Array.from(indptr), indices, data };
    },
  };
  const m: ChosenMatrix = {
    source: 'query.h5ad',
    reader,
    genes: ['a', 'b', 'c'],
    content: detectContent(blocks[0]),
  };
  const seen: number[][] = [];
  await assert.rejects(
    async () => {
      for await (const out of log1pCpmBlocks(m, null, 3, 'predict'))
        seen.push(Array.from(toDense(out)));
    },
    (error: unknown) =>
      error instanceof AnnDataError &&
      /rows 4–6 are log1p (.*) but earlier rows were counts/.test(error.message) &&
      /query\.h5ad/.test(String(error)),
  );
  assert.deepEqual(seen, [
    Array.from(toDense(log1pCpm(blocks[0]))),
    Array.from(toDense(log1pCpm(blocks[1]))),
  ]);
});

test('renormalizeLog1p turns log1p(CP10k) into log1p(CPM) and is idempotent on CPM', () => {
  const counts = fromDense([1, 3, 4, 0], 2, 2);
  const cp10k = log1pCpm(counts, 1e4);
  const cpm = toDense(log1pCpm(counts));
  const converted = toDense(renormalizeLog1p(cp10k));
  cpm.forEach((v, i) => close(converted[i], v, 1e-4));
  const again = toDense(renormalizeLog1p(log1pCpm(counts)));
  cpm.forEach((v, i) => close(again[i], v, 1e-4));
});

test('detectContent tells counts, log1p, other log scales, scaled and unknown apart', () => {
  const counts = fromDense([1, 3, 0, 5, 2, 1], 2, 3);
  assert.equal(detectContent(counts).kind, 'counts');
  const logged = detectContent(log1pCpm(counts));
  assert.equal(logged.kind, 'log1p');
  close(logged.targetSum!, 1e6, 1e-3);
  assert.equal(detectContent(fromDense([0.5, -1.2, 0.3, 0.1], 2, 2)).kind, 'scaled');
  // log1p of raw counts: non-integers whose expm1 row sums differ: log-scale, its base assumed
  // (too few values to show the steps of counts; test/core/log-input.test.ts has real ones).
  const logRaw = fromDense([Math.log1p(1), Math.log1p(3), Math.log1p(10), Math.log1p(50)], 2, 2);
  assert.equal(detectContent(logRaw).kind, 'log');
  assert.deepEqual(detectContent(logRaw).log, {
    base: Math.E,
    targetSum: null,
    evidence: 'assumed',
  });
  // Normalised but never logged (rows sum to 1), or non-integers too large for a log: unknown.
  assert.equal(detectContent(fromDense([0.25, 0.75, 0.5, 0.5], 2, 2)).kind, 'unknown');
  assert.equal(detectContent(fromDense([25.5, 3.2, 0, 1.5], 2, 2)).kind, 'unknown');
});

test('toLog1pCpm refuses scaled data with a ScnymError naming the element and a hint', () => {
  const scaled = fromDense([0.5, -1.2], 1, 2);
  assert.throws(
    () => toLog1pCpm(scaled, detectContent(scaled), { file: 'q.h5ad', element: 'X' }),
    (e: unknown) =>
      e instanceof ScnymError &&
      e.file === 'q.h5ad' &&
      e.element === 'X' &&
      /layers\['counts'\]/.test(e.hint ?? ''),
  );
});

test('alignGenes maps query columns to model columns and counts missing genes', () => {
  const model = ['A', 'B', 'C', 'D'];
  const a = alignGenes(model, ['C', 'X', 'A', 'B'], { minGenes: 1 });
  assert.deepEqual(Array.from(a.columnMap), [2, -1, 0, 1]);
  assert.equal(a.nShared, 3);
  assert.equal(a.nMissing, 1);
  assert.deepEqual(a.missingExamples, ['D']);
  const m = remapColumns(fromDense([1, 2, 3, 4], 1, 4), a.columnMap, 4);
  assert.deepEqual(Array.from(toDense(m)), [3, 4, 1, 0]);
});

test('alignGenes errors on duplicates and on too small an overlap', () => {
  assert.throws(() => alignGenes(['A', 'B'], ['A', 'A']), /duplicate gene name 'A'/);
  assert.throws(() => alignGenes(['A', 'A'], ['A']), ScnymError);
  const model = Array.from({ length: 200 }, (_, i) => `g${i}`);
  assert.throws(() => alignGenes(model, model.slice(0, 90)), /only 90 of the model's 200 genes/);
  assert.throws(() => alignGenes(model, model.slice(0, 150), { minGenes: 160 }), ScnymError);
  assert.equal(alignGenes(model, model.slice(0, 150)).nMissing, 50);
});

test('intersectGenes keeps the reference order', () => {
  const r = intersectGenes(['A', 'B', 'C', 'D'], ['D', 'B', 'Z']);
  assert.deepEqual(r.genes, ['B', 'D']);
  assert.deepEqual(Array.from(r.referenceMap), [-1, 0, -1, 1]);
  assert.deepEqual(Array.from(r.queryMap), [1, 0, -1]);
  assert.throws(() => intersectGenes(['A'], ['B'], 1), ScnymError);
});

test('CSR helpers: concatenation of blocks, row gathering and densifying', () => {
  const whole = fromDense([1, 0, 2, 0, 0, 3, 4, 5, 0], 3, 3);
  const block1 = { rowStart: 0, ...takeRows(whole, [0]) };
  const block2 = { rowStart: 1, ...takeRows(whole, [1, 2]) };
  const joined = concatBlocks([block1, block2]);
  assert.deepEqual(Array.from(toDense(joined)), Array.from(toDense(whole)));
  assert.deepEqual(Array.from(gatherDense(whole, [2, 0])), [4, 5, 0, 1, 0, 2]);
  assert.deepEqual(Array.from(toDense(takeRows(whole, [1, 1]))), [0, 0, 3, 0, 0, 3]);
});

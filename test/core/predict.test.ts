import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { CsrBlock } from '../../core/src/anndata/types.js';
import { initBackend } from '../../core/src/backend.js';
import { fromDense, takeRows } from '../../core/src/csr.js';
import { DEFAULT_NETWORK } from '../../core/src/model/config.js';
import { createNetwork } from '../../core/src/model/network.js';
import { predict, UNKNOWN_LABEL } from '../../core/src/predict.js';
import { Rng } from '../../core/src/random.js';

before(async () => {
  await initBackend('auto');
});

const genes = Array.from({ length: 12 }, (_, i) => `g${i}`);
const classNames = ['a', 'b', 'c'];

function model() {
  const network = createNetwork(
    { ...DEFAULT_NETWORK, nGenes: 12, nClasses: 3, nDomains: 0, nHidden: 8, nHiddenInit: 8 },
    3,
  );
  return { network, genes, classNames };
}

function counts(nRows: number, nCols: number, seed: number) {
  const rng = new Rng(seed);
  return fromDense(
    Float32Array.from({ length: nRows * nCols }, () => (rng.uniform() < 0.5 ? 0 : rng.int(9) + 1)),
    nRows,
    nCols,
  );
}

test('predict returns labels, confidence = max probability, probabilities and embedding', async () => {
  const m = model();
  const x = counts(5, 12, 1);
  const p = await predict(m, x, {});
  assert.equal(p.nCells, 5);
  assert.equal(p.probabilities.length, 15);
  assert.equal(p.embedding.length, 5 * 8);
  for (let i = 0; i < 5; i++) {
    const row = Array.from(p.probabilities.subarray(i * 3, i * 3 + 3));
    assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5);
    assert.equal(p.confidence[i], Math.max(...row));
    assert.equal(p.labels[i], classNames[row.indexOf(Math.max(...row))]);
  }
  m.network.dispose();
});

test('streamed blocks give the same result as one matrix; shuffled/missing genes are aligned', async () => {
  const m = model();
  const x = counts(6, 12, 2);
  const whole = await predict(m, x);
  async function* blocks(): AsyncGenerator<CsrBlock> {
    yield { rowStart: 0, ...takeRows(x, [0, 1, 2, 3]) } as CsrBlock;
    yield { rowStart: 4, ...takeRows(x, [4, 5]) } as CsrBlock;
  }
  const streamed = await predict(m, blocks(), { batchSize: 3 });
  assert.deepEqual(Array.from(streamed.probabilities), Array.from(whole.probabilities));

  // Query with reversed gene order plus an unknown gene: same probabilities once aligned.
  const order = [...genes.keys()].reverse();
  const dense = new Float32Array(6 * 13);
  for (let r = 0; r < 6; r++) {
    for (let k = x.indptr[r]; k < x.indptr[r + 1]; k++)
      dense[r * 13 + order.indexOf(x.indices[k])] = x.data[k];
  }
  const queryGenes = [...order.map((g) => genes[g]), 'extra'];
  const aligned = await predict(m, fromDense(dense, 6, 13), { genes: queryGenes, input: 'counts' });
  // The extra gene adds no counts, so log1p(CPM) over the query equals the model-gene version.
  whole.probabilities.forEach((v, i) => assert.ok(Math.abs(aligned.probabilities[i] - v) < 1e-5));
  assert.equal(aligned.nMissingGenes, 0);

  let warned = -1;
  const partial = genes.slice(0, 9);
  const missing = await predict(
    m,
    takeColumns(x, 9),
    { genes: partial, overlap: { minGenes: 5 } },
    {
      onEvent: (e) => {
        if (e.type === 'genes') warned = e.nMissing;
      },
    },
  );
  assert.equal(missing.nMissingGenes, 3);
  assert.equal(warned, 3);
  m.network.dispose();
});

test('cells below the confidence threshold become Unknown', async () => {
  const m = model();
  const x = counts(8, 12, 3);
  const p = await predict(m, x, { unknownThreshold: 0.999 });
  assert.ok(p.labels.every((l) => l === UNKNOWN_LABEL));
  const q = await predict(m, x, { unknownThreshold: 0 });
  assert.ok(q.labels.every((l) => classNames.includes(l)));
  m.network.dispose();
});

test('scaled input is refused', async () => {
  const m = model();
  const scaled = fromDense(
    Float32Array.from({ length: 24 }, (_, i) => (i % 5) - 2.5),
    2,
    12,
  );
  await assert.rejects(
    predict(m, scaled, { source: { file: 'q.h5ad', element: 'X' } }),
    /negative/,
  );
  assert.equal(tf.memory().numTensors > 0, true);
  m.network.dispose();
});

function takeColumns(x: ReturnType<typeof counts>, n: number) {
  const dense: number[] = [];
  for (let r = 0; r < x.nRows; r++) {
    const row = new Array(n).fill(0);
    for (let k = x.indptr[r]; k < x.indptr[r + 1]; k++)
      if (x.indices[k] < n) row[x.indices[k]] = x.data[k];
    dense.push(...row);
  }
  return fromDense(dense, x.nRows, n);
}

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { UNKNOWN_LABEL } from '../../core/src/vocabulary.js';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { predictionAnnotations } from '../../core/src/annotate.js';
import type { CsrBlock } from '../../core/src/anndata/types.js';
import { initBackend } from '../../core/src/backend.js';
import { fromDense, rowRange, takeRows, toDense, type Csr } from '../../core/src/csr.js';
import { DEFAULT_NETWORK } from '../../core/src/model/config.js';
import { forward } from '../../core/src/model/forward.js';
import { foldClassifier, inferenceForward } from '../../core/src/model/inference.js';
import { createNetwork } from '../../core/src/model/network.js';
import { saveModelDir } from '../../core/src/node/model-dir.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { predict, type Prediction, type PredictionBatch } from '../../core/src/predict.js';
import { log1pCpm } from '../../core/src/preprocess.js';
import { Rng } from '../../core/src/random.js';
import { runScnym } from '../helpers/cli.js';
import { untrainedModelFiles } from '../helpers/model.js';
import { sharedFile } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

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

test("'auto' input: log1p of another target sum is renormalised to CPM in every block", async () => {
  const m = model();
  const x = counts(40, 12, 9);
  const fromCounts = await predict(m, x, { input: 'counts' });
  const cp10k = log1pCpm(x, 1e4); // scanpy's normalize_total(1e4) + log1p
  const auto = await predict(m, blocksOf(cp10k, [15, 25]), { input: 'auto', batchSize: 7 });
  closeArrays(auto.probabilities, fromCounts.probabilities, 1e-4);
  closeArrays(auto.embedding, fromCounts.embedding, 1e-4);
  assert.deepEqual(auto.labels, fromCounts.labels);
  // Counts detected as counts: the same floats as saying so.
  sameOutputs(await predict(m, x, { input: 'auto' }), fromCounts, 'auto on counts');
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

/** Rows split into blocks of the given sizes, each a CsrBlock over the original arrays. */
function* blocksOf(x: Csr, sizes: number[]): Generator<CsrBlock> {
  let start = 0;
  for (const size of sizes) {
    yield { rowStart: start, ...takeRows(x, rowRange(start, start + size)) } as CsrBlock;
    start += size;
  }
  assert.equal(start, x.nRows);
}

function sameOutputs(actual: Prediction, expected: Prediction, what: string) {
  assert.equal(actual.nCells, expected.nCells, what);
  assert.deepEqual(actual.labels, expected.labels, what);
  assert.deepEqual(Array.from(actual.codes), Array.from(expected.codes), what);
  assert.deepEqual(Array.from(actual.confidence), Array.from(expected.confidence), what);
  assert.deepEqual(Array.from(actual.probabilities), Array.from(expected.probabilities), what);
  assert.deepEqual(Array.from(actual.embedding), Array.from(expected.embedding), what);
  assert.equal(actual.embeddingDim, expected.embeddingDim, what);
}

function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])),
      `[${i}] ${a[i]} ≉ ${b[i]}`,
    );
  }
}

test('outputs do not depend on blocks, batch size or whether nCells is known', async () => {
  const m = model();
  const x = counts(37, 12, 5);
  const options = { input: 'counts', unknownThreshold: 0.4, sparseInput: false } as const;
  const whole = await predict(m, x, { ...options, batchSize: 64 });

  // One pass of the folded network over all cells, TF.js's argMax and max of the softmax...
  const dense = tf.tensor2d(toDense(log1pCpm(x)), [37, 12]);
  const folded = foldClassifier(m.network)!;
  const out = inferenceForward(folded, dense);
  const probs = tf.softmax(out.logits);
  assert.deepEqual(Array.from(whole.codes), Array.from(tf.argMax(probs, 1).dataSync()));
  assert.deepEqual(Array.from(whole.confidence), Array.from(tf.max(probs, 1).dataSync()));
  assert.deepEqual(Array.from(whole.probabilities), Array.from(probs.dataSync()));
  assert.deepEqual(Array.from(whole.embedding), Array.from(out.preActivation.dataSync()));
  // ...which is the unfolded eval-mode forward() up to float rounding.
  const plain = forward(m.network, dense, { training: false });
  const plainProbs = tf.softmax(plain.logits);
  closeArrays(whole.probabilities, plainProbs.dataSync());
  closeArrays(whole.embedding, plain.preActivation.dataSync());
  folded.dispose();
  tf.dispose([dense, out.logits, out.preActivation, probs]);
  tf.dispose([plain.logits, plain.embedding, plain.preActivation, plainProbs]);
  assert.ok(whole.labels.includes(UNKNOWN_LABEL) || whole.confidence.every((c) => c >= 0.4));

  const splits = [[37], [1, 7, 13, 16], [5, 5, 5, 5, 5, 5, 7], [36, 1]];
  for (const sizes of splits) {
    for (const batchSize of [1, 3, 64]) {
      for (const nCells of [undefined, 37, 40]) {
        const p = await predict(m, blocksOf(x, sizes), { ...options, batchSize, nCells });
        sameOutputs(p, whole, `blocks ${sizes}, batch ${batchSize}, nCells ${nCells}`);
      }
    }
  }
  // An async stream of blocks whose indptr does not start at 0 (views into a bigger matrix).
  async function* views(): AsyncGenerator<Csr> {
    for (const start of [0, 11, 29]) {
      const end = start === 29 ? 37 : start === 0 ? 11 : 29;
      yield { ...x, nRows: end - start, indptr: x.indptr.subarray(start, end + 1) };
    }
  }
  sameOutputs(await predict(m, views(), { ...options, nCells: 37 }), whole, 'views');
  m.network.dispose();
});

test('more rows than nCells are refused; no rows give empty outputs', async () => {
  const m = model();
  const x = counts(9, 12, 6);
  await assert.rejects(predict(m, blocksOf(x, [4, 5]), { nCells: 8 }), /more than the 8 cells/);
  for (const nCells of [undefined, 0]) {
    const p = await predict(m, [], { nCells });
    assert.equal(p.nCells, 0);
    assert.equal(p.labels.length, 0);
    assert.equal(p.probabilities.length, 0);
    assert.equal(p.embedding.length, 0);
  }
  m.network.dispose();
});

test('embedding: false gives embeddingDim 0, an empty embedding and no X_scnym annotation', async () => {
  const m = model();
  const x = counts(11, 12, 7);
  const full = await predict(m, x, { nCells: 11 });
  for (const nCells of [undefined, 11]) {
    const p = await predict(m, blocksOf(x, [4, 7]), { embedding: false, nCells, batchSize: 3 });
    assert.equal(p.embeddingDim, 0);
    assert.equal(p.embedding.length, 0);
    sameOutputs(p, { ...full, embedding: new Float32Array(0), embeddingDim: 0 }, `${nCells}`);
  }
  const card = {
    classNames,
    genes,
    training: { preset: 'default', config: 'no_new_identity' },
    provenance: { tool: 'scnym-js', toolVersion: '0', created: 'now' },
  };
  const without = predictionAnnotations(await predict(m, x, { embedding: false }), card);
  assert.deepEqual(Object.keys(without.obsm!), ['scNym_probabilities']);
  const withEmbedding = predictionAnnotations(full, card);
  assert.deepEqual(Object.keys(withEmbedding.obsm!).sort(), ['X_scnym', 'scNym_probabilities']);
  assert.deepEqual(withEmbedding.obsm!.X_scnym.shape, [11, 8]);
  m.network.dispose();
});

test('onBatch streams every batch in order; retain: false keeps nothing', async () => {
  const m = model();
  const x = counts(23, 12, 8);
  const whole = await predict(m, x);
  for (const retain of [true, false]) {
    const batches: PredictionBatch[] = [];
    const p = await predict(m, blocksOf(x, [10, 13]), {
      batchSize: 4,
      retain,
      onBatch: (b) => batches.push({ ...b, probabilities: b.probabilities.slice() }),
    });
    assert.equal(p.nCells, 23);
    assert.deepEqual(
      batches.map((b) => [b.start, b.nCells]),
      [
        [0, 4],
        [4, 4],
        [8, 2],
        [10, 4],
        [14, 4],
        [18, 4],
        [22, 1],
      ],
    );
    const joined = (key: 'codes' | 'confidence' | 'probabilities' | 'embedding') =>
      batches.flatMap((b) => Array.from(b[key]));
    assert.deepEqual(joined('codes'), Array.from(whole.codes));
    assert.deepEqual(joined('confidence'), Array.from(whole.confidence));
    assert.deepEqual(joined('probabilities'), Array.from(whole.probabilities));
    assert.deepEqual(joined('embedding'), Array.from(whole.embedding));
    if (retain) sameOutputs(p, whole, 'retained');
    else {
      assert.equal(p.labels.length, 0);
      assert.equal(p.probabilities.length, 0);
      assert.equal(p.embedding.length, 0);
    }
  }
  m.network.dispose();
});

test('CLI: predict/annotate --no-embedding write no X_scnym; the default does; --help says so', async () => {
  const query = sharedFile('tiny', 'target.zarr');
  const ad = await openAnnDataFile(query);
  const queryGenes = await ad.varNames();
  await ad.close();
  const modelDir = join(tempDir(), 'model');
  await saveModelDir(modelDir, await untrainedModelFiles(queryGenes, classNames, 1));

  const obsmKeys = async (file: string) => {
    const written = await openAnnDataFile(file);
    try {
      return (await written.obsmKeys()).sort();
    } finally {
      await written.close();
    }
  };
  const without = tempCopy(query);
  const r = runScnym(['predict', '--model', modelDir, '--query', without, '--no-embedding']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /X_scnym/);
  assert.match(r.stdout, /obsm\['scNym_probabilities'\]/);
  assert.ok(!(await obsmKeys(without)).includes('X_scnym'));
  assert.ok((await obsmKeys(without)).includes('scNym_probabilities'));

  const withEmbedding = tempCopy(query);
  const d = runScnym(['predict', '--model', modelDir, '--query', withEmbedding, '--json']);
  assert.equal(d.status, 0, d.stderr);
  assert.equal(JSON.parse(d.stdout).nCells, 200);
  assert.ok((await obsmKeys(withEmbedding)).includes('X_scnym'));

  const annotated = tempCopy(query);
  const a = runScnym([
    'annotate',
    '--reference',
    sharedFile('tiny', 'reference.h5ad'),
    '--label-key',
    'cell_type',
    '--query',
    annotated,
    '--epochs',
    '1',
    '--no-embedding',
    '--quiet',
  ]);
  assert.equal(a.status, 0, a.stderr);
  assert.doesNotMatch(a.stdout, /X_scnym/);
  const keys = await obsmKeys(annotated);
  assert.ok(!keys.includes('X_scnym') && keys.includes('scNym_probabilities'), String(keys));

  for (const command of ['predict', 'annotate']) {
    assert.match(runScnym([command, '--help']).stdout, /--no-embedding/);
  }
});

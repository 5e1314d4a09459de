/**
 * The linear baseline (core/src/linear/softmax.ts) on the shared tiny pair: control PBMCs →
 * IFN-β-stimulated PBMCs, 200 → 200 cells, 300 genes, 5 types; the target's labels only score.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  AbortError,
  cp10kFromCpm,
  predictLinear,
  trainLinear,
  type LinearModel,
  prepareTraining,
  readLabels,
} from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { Rng } from '../../core/src/random.js';
import { accuracy } from '@scnym/core/scores';
import { splitLabeled } from '../../core/src/train/sampling.js';
import type { TrainingData } from '../../core/src/train/trainer.js';
import { sharedFile } from '../helpers/paths.js';

let data: TrainingData;
let query: NonNullable<TrainingData['unlabeled']>;
/** The target's cell types as codes of data.classNames. */
let truth: Int32Array;

before(async () => {
  const reference = await openAnnDataFile(sharedFile('tiny', 'reference.h5ad'));
  const target = await openAnnDataFile(sharedFile('tiny', 'target.h5ad'));
  try {
    data = (await prepareTraining(reference, target, { labelKey: 'cell_type' })).data;
    query = data.unlabeled!;
    const labels = await readLabels(target, 'cell_type');
    const index = new Map(data.classNames.map((c, i) => [c, i]));
    truth = Int32Array.from(labels.codes, (c) => index.get(labels.names[c])!);
  } finally {
    await reference.close();
    await target.close();
  }
});

/** Recall of class `c` on the target. */
function recall(predicted: Int32Array, c: number): number {
  let hits = 0;
  let n = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] !== c) continue;
    n++;
    if (predicted[i] === c) hits++;
  }
  return hits / n;
}

test('transfers labels from control to stimulated cells (tiny: 0.650 CellTypist, 0.785 unscaled)', async () => {
  // Measured on all 200 reference cells: the CellTypist recipe 0.650, without the per-gene
  // standardisation 0.785 (chance 0.2, the largest class 0.24); floors a few points below.
  const celltypist = await trainLinear(data, null);
  const unscaled = await trainLinear(data, null, { standardize: false });
  const a = accuracy(truth, predictLinear(celltypist, query).codes);
  const b = accuracy(truth, predictLinear(unscaled, query).codes);
  assert.ok(a >= 0.62, `CellTypist recipe accuracy ${a}`);
  assert.ok(b >= 0.75, `unscaled accuracy ${b}`);
  assert.ok(celltypist.summary.converged && unscaled.summary.converged);
  assert.equal(celltypist.summary.nTrain, 200);
});

test('predicts what the standardised, clipped dense model computes', async () => {
  const model = await trainLinear(data, null);
  // A dense reference: z = min((log1p(CP10k) − mean) / sd, 10) for every gene, logits = zW + b.
  const nClasses = model.classNames.length;
  const nGenes = model.genes.length;
  const rows = [0, 1, 57, 199];
  const p = predictLinear(model, query);
  let largest = 0;
  for (const r of rows) {
    const x = new Float64Array(nGenes);
    for (let k = query.indptr[r]; k < query.indptr[r + 1]; k++) {
      x[query.indices[k]] = cp10kFromCpm(query.data[k]);
    }
    const logits = Float64Array.from(model.bias);
    for (let g = 0; g < nGenes; g++) {
      const z = Math.min((x[g] - model.mean[g]) / model.scale[g], 10);
      if (z > 9.99) largest++;
      for (let c = 0; c < nClasses; c++) logits[c] += z * model.weights[g * nClasses + c];
    }
    const max = logits.reduce((m, v) => Math.max(m, v), -Infinity);
    const e = logits.map((v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    for (let c = 0; c < nClasses; c++) {
      assert.ok(Math.abs(e[c] / sum - p.probabilities[r * nClasses + c]) < 1e-5, `row ${r}`);
    }
  }
  // The clip is exercised: some of these cells hold values more than 10 sd above the mean.
  assert.ok(largest > 0, 'no clipped value among the rows checked');
});

test('class weights balance an imbalanced reference', async () => {
  // A class cut to a few reference cells; unweighted, the model calls most of the target's cells
  // of that class something else. Measured minority recall, weighted vs not: FCGR3A+ monocytes
  // (36 → 2 cells, CellTypist recipe) 0.697 vs 0.485; B cells (42 → 8, unscaled) 0.683 vs 0.488.
  const cases = [
    { name: 'FCGR3A+ Monocytes', keep: 2, options: {} },
    { name: 'B cells', keep: 8, options: { standardize: false } },
  ];
  for (const { name, keep, options } of cases) {
    const minority = data.classNames.indexOf(name);
    let kept = 0;
    const rows = Int32Array.from(data.labels.keys()).filter(
      (r) => data.labels[r] !== minority || kept++ < keep,
    );
    const balanced = await trainLinear(data, rows, options);
    const plain = await trainLinear(data, rows, { ...options, balanced: false });
    // n / (k · n_c) for the minority; 1 for every class unweighted.
    assert.equal(balanced.summary.classWeights[minority], rows.length / (5 * keep));
    assert.deepEqual(plain.summary.classWeights, [1, 1, 1, 1, 1]);
    const withWeights = recall(predictLinear(balanced, query).codes, minority);
    const without = recall(predictLinear(plain, query).codes, minority);
    assert.ok(withWeights >= without + 0.12, `${name} recall ${withWeights} vs ${without}`);
  }
});

test('a seed reproduces the model exactly; another seed trains on other cells', async () => {
  const fit = async (seed: number): Promise<LinearModel> => {
    const split = splitLabeled(data.labeled.nRows, 0.1, 0.1, new Rng(seed));
    return trainLinear(data, split.train);
  };
  const [a, b, c] = [await fit(3), await fit(3), await fit(4)];
  assert.deepEqual(a.weights, b.weights);
  assert.deepEqual(a.bias, b.bias);
  assert.deepEqual(predictLinear(a, query), predictLinear(b, query));
  assert.notDeepEqual(a.weights, c.weights);
});

test('stops when aborted', async () => {
  const controller = new AbortController();
  const training = trainLinear(
    data,
    null,
    { tolerance: 0 },
    {
      signal: controller.signal,
      onIteration: (iteration) => {
        if (iteration === 3) controller.abort();
      },
    },
  );
  await assert.rejects(training, AbortError);
});

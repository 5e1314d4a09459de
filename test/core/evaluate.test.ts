// `evaluate` with known answers: the report on hand-made predictions (Unknown, novel classes,
// missing truth), then `scnym evaluate` on a tiny file annotated by construction through
// python anndata, and its errors for a missing prediction or truth column.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { evaluatePredictions } from '../../core/src/evaluate.js';
import { PYTHON, sharedFile } from '../helpers/paths.js';
import { runScnym } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const close = (a: number, b: number, tol = 1e-9, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

const scnym = (...args: string[]) => runScnym(args);

test('report on hand-made predictions: Unknown, novel classes, missing truth', () => {
  const report = evaluatePredictions({
    truth: ['A', 'A', 'A', 'B', 'B', 'N', 'N', null],
    predicted: ['A', 'A', 'Unknown', 'B', 'A', 'B', 'Unknown', 'A'],
    confidence: [0.9, 0.8, 0.3, 0.95, 0.6, 0.55, 0.2, 0.99],
    bestClass: ['A', 'A', 'A', 'B', 'A', 'B', 'A', 'A'],
    modelClasses: ['A', 'B'],
  });
  assert.equal(report.nCells, 7);
  assert.equal(report.nUnlabeled, 1);
  close(report.accuracy, 3 / 7);
  // Recall A 2/3, B 1/2, N 0.
  close(report.balancedAccuracy, (2 / 3 + 1 / 2 + 0) / 3);
  assert.equal(report.nUnknown, 2);
  close(report.coverage, 5 / 7);
  close(report.accuracyCovered, 3 / 5);
  const a = report.classes.find((c) => c.name === 'A')!;
  assert.deepEqual([a.support, a.predicted], [3, 3]);
  close(a.precision, 2 / 3);
  close(a.recall, 2 / 3);
  close(a.f1, 2 / 3);
  // Mean confidence of the cells predicted A (the unlabelled cell left out): 0.9, 0.8, 0.6.
  close(a.meanConfidence, 2.3 / 3, 1e-12);
  close(report.classes.find((c) => c.name === 'B')!.meanConfidence, 0.75, 1e-12);
  const n = report.classes.find((c) => c.name === 'N')!;
  assert.ok(Number.isNaN(n.meanConfidence));
  assert.deepEqual([n.support, n.predicted, n.recall, n.f1], [2, 0, 0, 0]);
  assert.deepEqual(report.confusion.rows, ['A', 'B', 'N']);
  assert.deepEqual(report.confusion.columns, ['A', 'B', 'Unknown']);
  assert.deepEqual(report.confusion.counts, [
    [2, 0, 1],
    [1, 1, 0],
    [0, 1, 1],
  ]);
  // The best class is scored: cell 3 (Unknown, best A, truth A) counts as right.
  assert.equal(report.calibration.scored, 'best-class');
  assert.equal(report.calibration.nCells, 7);
  const curve = Object.fromEntries(report.coverageCurve.map((p) => [p.threshold, p]));
  close(curve[0].coverage, 5 / 7);
  close(curve[0.7].coverage, 3 / 7);
  close(curve[0.7].accuracy, 1);
  close(curve[0.95].coverage, 1 / 7);
  const v = report.novelty!;
  assert.deepEqual(v.classes, ['N']);
  assert.deepEqual([v.nNovel, v.nKnown], [2, 5]);
  // Novel confidences 0.55, 0.2 vs known 0.9, 0.8, 0.3, 0.95, 0.6: pairs with a novel cell
  // less confident: 0.55 < 4 of 5, 0.2 < 5 of 5 → 9/10.
  close(v.auroc, 0.9);
  close(v.unknownRateNovel, 0.5);
  close(v.unknownRateKnown, 0.2);
});

test('scnym evaluate on a tiny file annotated by construction', () => {
  const dir = tempDir();
  const file = join(dir, 'annotated.h5ad');
  // 150 right (confidence 0.97), 30 wrong (0.65), 20 Unknown (0.3, best class right).
  const r = spawnSync(
    PYTHON,
    [
      '-c',
      `
import anndata, numpy as np, pandas as pd
a = anndata.read_h5ad(${JSON.stringify(sharedFile('tiny', 'target.h5ad'))})
classes = list(a.obs['cell_type'].cat.categories)
truth = [classes.index(t) for t in a.obs['cell_type']]
n, k = a.n_obs, len(classes)
best = list(truth); conf = np.full(n, 0.97, dtype=np.float32); label = [classes[t] for t in truth]
for i in range(150, 180):
    best[i] = (truth[i] + 1) % k; conf[i] = 0.65; label[i] = classes[best[i]]
for i in range(180, 200):
    conf[i] = 0.3; label[i] = 'Unknown'
probs = np.zeros((n, k), dtype=np.float32)
for i in range(n):
    probs[i, :] = (1 - conf[i]) / (k - 1); probs[i, best[i]] = conf[i]
a.obs['pred'] = pd.Categorical(label)
a.obs['pred_confidence'] = conf
a.obsm['pred_probabilities'] = probs
a.uns['pred_classes'] = np.array(classes, dtype=object)
a.write_h5ad(${JSON.stringify(file)})
`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);

  const out = scnym(
    'evaluate',
    '--data',
    file,
    '--truth-key',
    'cell_type',
    '--pred-key',
    'pred',
    '--json',
  );
  assert.equal(out.status, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assert.equal(report.schema, 'scnym.evaluate/1');
  assert.equal(report.nCells, 200);
  close(report.accuracy, 0.75);
  close(report.coverage, 0.9);
  close(report.accuracyCovered, 150 / 180);
  assert.equal(report.nUnknown, 20);
  // |1 − 0.97|·0.75 + |0 − 0.65|·0.15 + |1 − 0.3|·0.10
  close(report.calibration.ece, 0.03 * 0.75 + 0.65 * 0.15 + 0.7 * 0.1, 1e-6, 'ece');
  assert.equal(report.calibration.bins.length, 10);
  assert.equal(
    report.calibration.bins.reduce((s: number, b: { count: number }) => s + b.count, 0),
    200,
  );
  const curve = Object.fromEntries(
    report.coverageCurve.map((p: { threshold: number }) => [p.threshold, p]),
  );
  close(curve[0.5].accuracy, 150 / 180, 1e-9);
  close(curve[0.7].coverage, 0.75);
  close(curve[0.7].accuracy, 1);
  const { rows, columns, counts } = report.confusion;
  assert.equal(columns[columns.length - 1], 'Unknown');
  let diagonal = 0;
  rows.forEach((row: string, i: number) => {
    const j = columns.indexOf(row);
    if (j >= 0) diagonal += counts[i][j];
  });
  assert.equal(diagonal, 150);
  assert.equal(
    counts.reduce((s: number, row: number[]) => s + row[columns.length - 1], 0),
    20,
  );
  assert.equal(report.novelty, null);
  assert.equal(report.classes.length, 5);

  const text = scnym('evaluate', '--data', file, '--truth-key', 'cell_type', '--pred-key', 'pred');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /accuracy 75\.0%/);
  assert.match(text.stdout, /'Unknown' 20 cells: coverage 90\.0%/);
  assert.match(text.stdout, /confusion \(rows = truth, columns = predicted\)/);

  // Missing prediction / truth columns.
  const noPred = scnym('evaluate', '--data', file, '--truth-key', 'cell_type');
  assert.equal(noPred.status, 1);
  assert.match(
    noPred.stderr,
    /obs has no column 'scNym' \(predictions\); available columns: .*pred/,
  );
  assert.match(noPred.stderr, /--pred-key/);
  const noTruth = scnym(
    'evaluate',
    '--data',
    file,
    '--truth-key',
    'celltype',
    '--pred-key',
    'pred',
  );
  assert.equal(noTruth.status, 1);
  assert.match(noTruth.stderr, /no column 'celltype' \(true labels\)/);
  const usage = scnym('evaluate', '--data', file);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--truth-key are required/);
});

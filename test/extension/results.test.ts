// summarizeResults (the results webview's model): hand-computed counts, histogram edges,
// low-confidence ordering and runner-up classes, truth scores; the scores agree with core's
// evaluatePredictions on random data; and the demo's cell_type scored against itself.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openAnnDataFile } from '@scnym/core/node';
import { evaluatePredictions } from '@scnym/core/scores';
import { CATEGORY_PALETTE, UNKNOWN_COLOR } from '@scnym/core/vocabulary';
import { Rng } from '../../core/src/random.js';
import { histogram, summarizeResults, type ResultsInput } from '../../extension/src/results.js';
import { REPO } from '../helpers/paths.js';

const close = (actual: number | undefined, expected: number, tol = 1e-6) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tol, `${actual} ≉ ${expected}`);

// Six cells, classes A, B, C; cell 1 abstained ('Unknown'), cell 5 has no truth label.
const small: ResultsInput = {
  dataset: 'small.h5ad',
  path: '/data/small.h5ad',
  keyAdded: 'scNym',
  cellNames: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'],
  labels: ['A', 'Unknown', 'A', 'C', 'B', 'B'],
  confidence: Float32Array.from([0.9, 0.4, 1.0, 0.5, 0.375, 0.75]),
  classNames: ['A', 'B', 'C'],
  probabilities: {
    nClasses: 3,
    classNames: ['A', 'B', 'C'],
    data: Float32Array.from([
      ...[0.9, 0.06, 0.04],
      ...[0.3, 0.4, 0.3],
      ...[1, 0, 0],
      ...[0.25, 0.25, 0.5],
      ...[0.35, 0.375, 0.275],
      ...[0.25, 0.75, 0],
    ]),
  },
  bins: 4,
  nLow: 4,
};

test('counts, fractions, mean confidences and colours, largest class first', () => {
  const r = summarizeResults(small);
  assert.equal(r.nCells, 6);
  assert.equal(r.dataset, 'small.h5ad');
  assert.equal(r.path, '/data/small.h5ad');
  close(r.meanConfidence, 3.925 / 6);
  assert.deepEqual(
    r.classes.map((c) => [c.label, c.count]),
    [
      ['A', 2],
      ['B', 2],
      ['C', 1],
      ['Unknown', 1],
    ],
  );
  close(r.classes[0].fraction, 2 / 6);
  close(r.classes[3].fraction, 1 / 6);
  close(r.classes[0].meanConfidence, 0.95);
  close(r.classes[1].meanConfidence, 0.5625);
  // Palette in the model's class order (as core writes uns colours), Unknown grey.
  assert.deepEqual(
    r.classes.map((c) => c.color),
    [CATEGORY_PALETTE[0], CATEGORY_PALETTE[1], CATEGORY_PALETTE[2], UNKNOWN_COLOR],
  );
  const own = summarizeResults({ ...small, colors: { B: '#123456' } });
  assert.equal(own.classes[1].color, '#123456');
  assert.equal(own.classes[0].color, CATEGORY_PALETTE[0]);
  assert.equal(r.evaluation, undefined);
  assert.equal(r.classes[0].precision, undefined);
});

test('histogram: edges, a value on an edge goes up, confidence 1 falls in the last bin', () => {
  const r = summarizeResults(small);
  assert.deepEqual(r.histogram.edges, [0, 0.25, 0.5, 0.75, 1]);
  // 0.9 → 3, 0.4 → 1, 1.0 → 3 (closed), 0.5 → 2, 0.375 → 1, 0.75 → 3.
  assert.deepEqual(r.histogram.counts, [0, 2, 1, 3]);
  assert.equal(r.threshold, 0.5);
  assert.equal(r.nBelow, 2);

  // Every edge k/20 lands in bin k (the last edge, 1, in bin 19), whatever x·20 rounds to.
  const edges = Array.from({ length: 21 }, (_, k) => k / 20);
  const h = histogram(edges, 20);
  assert.deepEqual(h.counts, [...new Array(19).fill(1), 2]);
  // Just below an edge stays below it; non-finite values are left out.
  const below = histogram([0.05 - 1e-12, 1 - 1e-12, NaN, Infinity], 20);
  assert.equal(below.counts[0], 1);
  assert.equal(below.counts[19], 1);
  assert.equal(
    below.counts.reduce((a, b) => a + b, 0),
    2,
  );
  assert.deepEqual(summarizeResults({ ...small, bins: 20 }).histogram.edges.length, 21);
});

test('least confident cells: lowest first, ties by row, runner-up from the probabilities', () => {
  const r = summarizeResults(small);
  assert.deepEqual(
    r.lowConfidence.map((c) => [c.index, c.cell, c.label, c.runnerUp]),
    [
      [4, 'c4', 'B', 'A'],
      // An 'Unknown' cell's runner-up is its best class.
      [1, 'c1', 'Unknown', 'B'],
      // Tie between A and B (0.25 each): the first class.
      [3, 'c3', 'C', 'A'],
      [5, 'c5', 'B', 'A'],
    ],
  );
  close(r.lowConfidence[1].confidence, 0.4);
  const ties = summarizeResults({
    ...small,
    confidence: [0.5, 0.2, 0.5, 0.2, 0.9, 0.5],
    probabilities: undefined,
    nLow: 50,
  });
  assert.deepEqual(
    ties.lowConfidence.map((c) => c.index),
    [1, 3, 0, 2, 5, 4],
  );
  assert.equal(ties.lowConfidence[0].runnerUp, undefined);
  assert.equal(summarizeResults({ ...small, nLow: 0 }).lowConfidence.length, 0);
});

test('truth: per-class precision / recall / F1 / support and the evaluation', () => {
  const truth = ['A', 'B', 'A', 'C', 'B', null];
  const r = summarizeResults({ ...small, truth, truthKey: 'cell_type' });
  const e = r.evaluation!;
  assert.equal(e.truthKey, 'cell_type');
  assert.equal(e.nCells, 5);
  // Hits: cells 0, 2, 3, 4; cell 1 abstained (wrong).
  close(e.accuracy, 0.8);
  close(e.balancedAccuracy, (1 + 0.5 + 1) / 3);
  close(e.macroF1, (1 + 2 / 3 + 1) / 3);
  // Best classes A, B, A, C, B are all right: ECE = mean(1 − confidence).
  close(e.ece, (0.1 + 0.6 + 0 + 0.5 + 0.625) / 5);
  const row = (label: string) => r.classes.find((c) => c.label === label)!;
  assert.deepEqual(
    ['A', 'B', 'C'].map((l) => [row(l).support, row(l).precision, row(l).recall]),
    [
      [2, 1, 1],
      [2, 1, 0.5],
      [1, 1, 1],
    ],
  );
  close(row('B').f1, 2 / 3);
  assert.equal(row('Unknown').support, undefined);

  // Without probabilities ECE scores the labels, leaving the abstention out.
  const noProbs = summarizeResults({
    ...small,
    truth,
    truthKey: 'cell_type',
    probabilities: undefined,
  });
  close(noProbs.evaluation!.ece, (0.1 + 0 + 0.5 + 0.625) / 4);
  close(noProbs.evaluation!.accuracy, 0.8);
});

test('the scores agree with core evaluatePredictions on random predictions', () => {
  const rng = new Rng(7);
  const names = ['T', 'B', 'NK', 'Mono', 'DC'];
  const n = 400;
  const k = names.length;
  const probs = new Float32Array(n * k);
  const labels: string[] = [];
  const confidence = new Float32Array(n);
  const truth: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += probs[i * k + j] = rng.uniform() ** 3;
    let best = 0;
    for (let j = 0; j < k; j++) {
      probs[i * k + j] /= sum;
      if (probs[i * k + j] > probs[i * k + best]) best = j;
    }
    confidence[i] = probs[i * k + best];
    labels.push(confidence[i] < 0.4 ? 'Unknown' : names[best]);
    const u = rng.uniform();
    truth.push(u < 0.05 ? null : u < 0.7 ? names[best] : names[Math.floor(rng.uniform() * k)]);
  }
  const probabilities = { data: probs, nClasses: k, classNames: names };
  const r = summarizeResults({
    dataset: 'x',
    path: '/x',
    keyAdded: 'scNym',
    cellNames: labels.map((_, i) => `cell${i}`),
    labels,
    confidence,
    probabilities,
    truth,
    truthKey: 't',
  });
  const bestClass = Array.from({ length: n }, (_, i) => {
    let b = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j] > probs[i * k + b]) b = j;
    return names[b];
  });
  const core = evaluatePredictions({
    truth,
    predicted: labels,
    confidence,
    bestClass,
    modelClasses: names,
  });
  const e = r.evaluation!;
  close(e.accuracy, core.accuracy, 1e-12);
  close(e.balancedAccuracy, core.balancedAccuracy, 1e-12);
  close(e.macroF1, core.macroF1, 1e-12);
  close(e.ece, core.calibration.ece, 1e-12);
  assert.equal(e.nCells, core.nCells);
  for (const c of r.classes.filter((c) => c.label !== 'Unknown')) {
    const s = core.classes.find((x) => x.name === c.label)!;
    assert.equal(c.support, s.support, c.label);
    for (const key of ['precision', 'recall', 'f1'] as const) {
      if (Number.isNaN(s[key])) assert.ok(Number.isNaN(c[key]), `${c.label} ${key}`);
      else close(c[key], s[key], 1e-12);
    }
  }
  assert.equal(
    r.classes.reduce((a, c) => a + c.count, 0),
    n,
  );
  assert.equal(r.nBelow, Array.from(confidence).filter((c) => c < 0.5).length);
});

test('mismatched lengths are refused', () => {
  assert.throws(() => summarizeResults({ ...small, cellNames: ['a'] }), RangeError);
  assert.throws(() => summarizeResults({ ...small, truth: ['A'] }), RangeError);
  assert.throws(
    () =>
      summarizeResults({
        ...small,
        probabilities: { ...small.probabilities!, nClasses: 2, classNames: ['A', 'B'] },
      }),
    RangeError,
  );
  assert.throws(() => summarizeResults({ ...small, bins: 0 }), RangeError);
});

test('the demo target: cell_type against itself scores 1, counts sum to 1,039', async () => {
  const ad = await openAnnDataFile(join(REPO, 'core', 'demo', 'target.zarr'));
  try {
    const column = await ad.obsColumn('cell_type');
    assert.equal(column.kind, 'categorical');
    if (column.kind !== 'categorical') return;
    const labels = Array.from(column.codes, (c) => column.categories[c]);
    const n = labels.length;
    // Confidences spread evenly over [0, 1] (the demo stores no predictions).
    const confidence = Float32Array.from({ length: n }, (_, i) => i / (n - 1));
    const r = summarizeResults({
      dataset: 'target.zarr',
      path: join(REPO, 'core', 'demo', 'target.zarr'),
      keyAdded: 'cell_type',
      cellNames: await ad.obsNames(),
      labels,
      confidence,
      truth: labels,
      truthKey: 'cell_type',
    });
    assert.equal(r.nCells, 1039);
    assert.equal(
      r.classes.reduce((a, c) => a + c.count, 0),
      1039,
    );
    assert.equal(r.classes.length, 7);
    assert.deepEqual(r.classes[0], { ...r.classes[0], label: 'CD4T', count: 356 });
    for (let i = 1; i < r.classes.length; i++)
      assert.ok(r.classes[i - 1].count >= r.classes[i].count);
    assert.equal(r.evaluation!.accuracy, 1);
    assert.equal(r.evaluation!.balancedAccuracy, 1);
    assert.equal(r.evaluation!.macroF1, 1);
    // All right, so ECE = mean(1 − confidence) = 0.5.
    close(r.evaluation!.ece, 0.5, 1e-6);
    for (const c of r.classes) assert.deepEqual([c.precision, c.recall, c.f1], [1, 1, 1]);
    assert.deepEqual(
      r.classes.map((c) => c.support),
      r.classes.map((c) => c.count),
    );
    assert.equal(
      r.histogram.counts.reduce((a, b) => a + b, 0),
      1039,
    );
    // The cell with confidence exactly 1 is in the last bin; the first cell in the first.
    assert.ok(r.histogram.counts[19] >= 1 && r.histogram.counts[0] >= 1);
    assert.equal(r.lowConfidence.length, 50);
    assert.equal(r.lowConfidence[0].index, 0);
    assert.equal(r.lowConfidence[0].cell, 'ACCGAAACATTGGC-1-stimulated');
    assert.equal(r.nBelow, Array.from(confidence).filter((c) => c < 0.5).length);
  } finally {
    await ad.close();
  }
});

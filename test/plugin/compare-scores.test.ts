// Compare's scoring in the panel's worker (compare-scores.ts): the labels as codes against a
// column of known labels as codes give core's evaluatePredictions report on the same names, and
// requests that queue up are answered once, for the latest (the page shows only that one).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openAnnDataFile } from '@scnym/core/node';
import { evaluatePredictions } from '@scnym/core/scores';
import {
  CompareScorer,
  scoreLabels,
} from '../../plugin/src/panels/transfer-labels/compare-scores.js';
import type { FromWorker, ScoreRequest } from '../../plugin/src/shared/worker-messages.js';
import { REPO } from '../helpers/paths.js';

/** The demo query's cell types, and labels that differ: every 7th cell moved, every 11th Unknown. */
async function demo() {
  const ad = await openAnnDataFile(join(REPO, 'core', 'demo', 'target.zarr'));
  try {
    const column = await ad.obsColumn('cell_type');
    assert.equal(column.kind, 'categorical');
    if (column.kind !== 'categorical') throw new Error('unreachable');
    const truth = { codes: column.codes, names: [...column.categories] };
    const k = truth.names.length;
    const codes = Int32Array.from(truth.codes, (c, i) =>
      i % 11 === 0 ? -1 : i % 7 === 0 ? (c + 1) % k : c,
    );
    // the panel's categories: the model's order, not the file's
    const names = [...truth.names].reverse();
    const labels = { codes: codes.map((c) => (c < 0 ? c : k - 1 - c)), names };
    const confidence = Float32Array.from(codes, (_, i) => ((i * 37) % 100) / 100);
    truth.codes[3] = -1; // a cell without a known label is left out
    return { truth, labels, confidence };
  } finally {
    await ad.close();
  }
}

test('Compare scores codes in the worker as core scores the names', async () => {
  const { truth, labels, confidence } = await demo();
  const report = scoreLabels(truth, labels, confidence);
  const expected = evaluatePredictions({
    truth: Array.from(truth.codes, (c) => (c < 0 ? null : truth.names[c])),
    predicted: Array.from(labels.codes, (c) => (c < 0 ? 'Unknown' : labels.names[c])),
    confidence,
  });
  assert.deepEqual(report, expected);
  assert.equal(report.nCells, truth.codes.length - 1);
  assert.ok(report.accuracy > 0.7 && report.accuracy < 0.85, `accuracy ${report.accuracy}`);
  assert.ok(report.confusion.columns.includes('Unknown'));
  assert.throws(
    () => scoreLabels(truth, { codes: labels.codes.subarray(1), names: labels.names }, confidence),
    /known labels for/,
  );
});

test('Compare in the worker: queued requests are answered once, for the latest', async () => {
  const { truth, labels, confidence } = await demo();
  const answers: Extract<FromWorker, { type: 'scores' }>[] = [];
  let answered: () => void = () => undefined;
  const scorer = new CompareScorer((m) => {
    if (m.type === 'scores') answers.push(m);
    answered();
  });
  const request = (id: number, codes: Int32Array): ScoreRequest => ({
    type: 'score',
    id,
    truth,
    labels: { codes, names: labels.names },
    confidence,
  });
  const allUnknown = new Int32Array(labels.codes.length).fill(-1);
  const done = new Promise<void>((ok) => (answered = ok));
  scorer.request(request(1, allUnknown));
  scorer.request(request(2, allUnknown));
  scorer.request(request(3, labels.codes));
  await done;
  await new Promise((ok) => setTimeout(ok, 0)); // nothing else is answered after it
  assert.deepEqual(
    answers.map((a) => a.id),
    [3],
  );
  assert.deepEqual(answers[0].report, scoreLabels(truth, labels, confidence));
  // a request that cannot be scored is answered with why
  const failed = new Promise<void>((ok) => (answered = ok));
  scorer.request({ ...request(4, labels.codes), confidence: confidence.subarray(2) });
  await failed;
  assert.equal(answers[1].id, 4);
  assert.equal(answers[1].report, null);
  assert.match(answers[1].error ?? '', /confidences/);
});

// Class-balanced pseudolabel rounds (training option pseudolabelRounds, issue 17): after a round,
// the most confident query cells of each predicted class join the labelled cells and training
// runs again; model selection and calibration stay on reference cells.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  choosePseudolabels,
  initBackend,
  predictAnnData,
  readLabels,
  trainOnAnnData,
  type TrainOptions,
} from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { sharedFile } from '../helpers/paths.js';

before(async () => {
  await initBackend('auto');
});

test('choosePseudolabels: the confident top fraction of each predicted class, capped per class', () => {
  // 8 cells × 2 classes: six predicted class 0 (confidence .99 .98 .97 .96 .95 .5), two class 1.
  const p0 = [0.99, 0.98, 0.97, 0.96, 0.95, 0.5, 0.05, 0.08];
  const probabilities = Float32Array.from(p0.flatMap((p) => [p, 1 - p]));
  const half = choosePseudolabels(probabilities, 2, { threshold: 0.9, fraction: 0.5 });
  // Class 0: ⌈0.5·6⌉ = 3 of its 5 confident cells, the most confident; class 1: ⌈0.5·2⌉ = 1,
  // the more confident of the two. The cap ⌈0.5·8/2⌉ = 2 binds on class 0 first.
  assert.deepEqual([...half.rows], [0, 1, 6]);
  assert.deepEqual([...half.codes], [0, 0, 1]);
  const all = choosePseudolabels(probabilities, 2, { threshold: 0.9, fraction: 1 });
  // Every confident cell, but no class beyond an even share (4): cell 5 (0.5) never qualifies.
  assert.deepEqual([...all.rows], [0, 1, 2, 3, 6, 7]);
  assert.deepEqual([...all.codes], [0, 0, 0, 0, 1, 1]);
  // Ties in confidence go to the lower row.
  const tied = choosePseudolabels(Float32Array.from([0.95, 0.05, 0.95, 0.05]), 2, {
    threshold: 0.9,
    fraction: 0.5,
  });
  assert.deepEqual([...tied.rows], [0]);
});

test('pseudolabel rounds retrain with the confident query cells of round 0 (tiny)', async () => {
  const reference = await openAnnDataFile(sharedFile('tiny', 'reference.h5ad'));
  const query = await openAnnDataFile(sharedFile('tiny', 'target.h5ad'));
  try {
    const overrides: Partial<TrainOptions> = { seed: 3, nEpochs: 12, minEpochs: 4 };
    const request = { labelKey: 'cell_type', preset: 'default' as const };
    const plain = await trainOnAnnData(reference, query, { ...request, overrides });
    // Round 0's choice, from its own (uncalibrated) probabilities of the query.
    const round0 = await predictAnnData(plain.model, query, { temperature: 1, embedding: false });
    plain.model.network.dispose();
    const nClasses = round0.classNames.length;
    const choice = choosePseudolabels(round0.probabilities, nClasses, {
      threshold: 0.9,
      fraction: 0.5,
    });
    assert.ok(choice.rows.length > 0, 'some query cells are confident');
    const truth = await readLabels(query, 'cell_type');
    const right = Array.from(choice.rows).filter(
      (r, i) => truth.names[truth.codes[r]] === round0.classNames[choice.codes[i]],
    ).length;
    assert.ok(
      right / choice.rows.length >= 0.9,
      `pseudolabels ${right}/${choice.rows.length} right`,
    );

    const run = () =>
      trainOnAnnData(reference, query, {
        ...request,
        overrides: { ...overrides, pseudolabelRounds: 1 },
      });
    const first = await run();
    const second = await run();
    try {
      const summary = first.model.summary;
      assert.deepEqual(summary.pseudolabelled, [choice.rows.length]);
      assert.deepEqual(first.card.training.summary, summary);
      // Two rounds' steps; model selection still on the reference's cells only.
      assert.ok(summary.steps > plain.model.summary.steps, `${summary.steps} steps`);
      assert.deepEqual(first.model.split.selection, plain.model.split.selection);
      assert.deepEqual(first.model.split.heldOut, plain.model.split.heldOut);
      assert.equal(
        first.model.split.train.length,
        plain.model.split.train.length + choice.rows.length,
      );
      // Deterministic for a seed.
      const [a, b] = await Promise.all(
        [first, second].map((t) => predictAnnData(t.model, query, { embedding: false })),
      );
      assert.deepEqual(a.probabilities, b.probabilities);
    } finally {
      first.model.network.dispose();
      second.model.network.dispose();
    }
  } finally {
    await reference.close();
    await query.close();
  }
});

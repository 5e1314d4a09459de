// The label-shift-aware adversary (training option danClassWeighted, issue 17): the adversary's
// reference cells are weighted by the query's predicted class proportions over the batch's.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  initBackend,
  labelShiftWeights,
  predictAnnData,
  trainOnAnnData,
  type TrainOptions,
} from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { sharedFile } from '../helpers/paths.js';

before(async () => {
  await initBackend('auto');
});

test('labelShiftWeights: q(c) / p(c), scaled to mean 1 over the labelled rows', () => {
  // A balanced labelled batch (2 + 2) against a query predicted 3:1.
  const query = Float32Array.from([1, 0, 1, 0, 0.5, 0.5, 0.5, 0.5]); // mean (0.75, 0.25)
  const w = labelShiftWeights([0, 0, 1, 1], query, 2);
  // Raw 0.75/0.5 = 1.5 and 0.25/0.5 = 0.5: already mean 1.
  assert.deepEqual([...w], [1.5, 1.5, 0.5, 0.5]);
  // A class the query never shows weighs 0; the rest are rescaled to mean 1.
  const w2 = labelShiftWeights([0, 1, 1], Float32Array.from([0, 1, 0, 1]), 2);
  assert.deepEqual([...w2], [0, 1.5, 1.5]);
});

test('danClassWeighted changes the adversary and stays deterministic (tiny)', async () => {
  const reference = await openAnnDataFile(sharedFile('tiny', 'reference.h5ad'));
  const query = await openAnnDataFile(sharedFile('tiny', 'target.h5ad'));
  try {
    const base: Partial<TrainOptions> = { seed: 1, nEpochs: 8, minEpochs: 3, danMaxWeight: 0.1 };
    const probabilities = async (overrides: Partial<TrainOptions>) => {
      const { model } = await trainOnAnnData(reference, query, {
        labelKey: 'cell_type',
        overrides: { ...base, ...overrides },
      });
      try {
        assert.equal(model.options.danClassWeighted, overrides.danClassWeighted ?? false);
        return (await predictAnnData(model, query, { embedding: false, temperature: 1 }))
          .probabilities;
      } finally {
        model.network.dispose();
      }
    };
    const plain = await probabilities({});
    const weighted = await probabilities({ danClassWeighted: true });
    const again = await probabilities({ danClassWeighted: true });
    assert.deepEqual(weighted, again);
    assert.notDeepEqual(weighted, plain);
  } finally {
    await reference.close();
    await query.close();
  }
});

// Training on the reference's most variable shared genes (training option topGenes, issue 17):
// the model records the genes it was trained on, and prediction matches the query by them.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  initBackend,
  predictAnnData,
  prepareTraining,
  trainOnAnnData,
  variableGenes,
} from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { sharedFile } from '../helpers/paths.js';

before(async () => {
  await initBackend('auto');
});

test("variableGenes: kang_ifnb's 2,000 most variable genes hold the PBMC markers", async () => {
  const reference = await openAnnDataFile(sharedFile('kang_ifnb', 'reference.h5ad'));
  try {
    const { data } = await prepareTraining(reference, null, { labelKey: 'cell_type' });
    const keep = variableGenes(data.labeled, 2000);
    assert.equal(keep.length, 2000);
    assert.ok(
      keep.every((g, i) => i === 0 || g > keep[i - 1]),
      'ascending columns',
    );
    const names = new Set(Array.from(keep, (g) => data.genes[g]));
    for (const marker of ['CD14', 'LYZ', 'MS4A1', 'CD79A', 'GNLY', 'NKG7', 'FCGR3A', 'CD8A'])
      assert.ok(names.has(marker), `${marker} is among the variable genes`);
    assert.deepEqual(variableGenes(data.labeled, 2000), keep, 'deterministic');
    // All of them when asked for as many as there are.
    assert.equal(variableGenes(data.labeled, data.genes.length).length, data.genes.length);
  } finally {
    await reference.close();
  }
});

test('topGenes: the model is trained on and records the selected genes; predict uses them', async () => {
  const reference = await openAnnDataFile(sharedFile('tiny', 'reference.h5ad'));
  const query = await openAnnDataFile(sharedFile('tiny', 'target.h5ad'));
  try {
    const { data } = await prepareTraining(reference, query, { labelKey: 'cell_type' });
    const want = Array.from(variableGenes(data.labeled, 100), (g) => data.genes[g]);
    const trained = await trainOnAnnData(reference, query, {
      labelKey: 'cell_type',
      overrides: { seed: 0, nEpochs: 12, minEpochs: 4, topGenes: 100 },
    });
    try {
      assert.deepEqual(trained.card.genes, want);
      assert.equal(trained.model.network.config.nGenes, 100);
      assert.equal(trained.model.options.topGenes, 100);
      const prediction = await predictAnnData(trained.model, query, { embedding: false });
      assert.equal(prediction.nMissingGenes, 0);
      assert.equal(prediction.nCells, query.nObs);
    } finally {
      trained.model.network.dispose();
    }
  } finally {
    await reference.close();
    await query.close();
  }
});

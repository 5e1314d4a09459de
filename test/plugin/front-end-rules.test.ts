// Rules the viewer, the Vitessce view and VS Code share through core's vocabulary: one
// low-confidence threshold, one number ramp for the confidence charts and the plot, and the
// obsm entries offered as embeddings (never scNym's 256-d latent space); training progress in
// one format with the time left, computed once in core. The viewer's own use
// of the threshold and ramp is checked in Chromium (test/e2e/viewer-polish.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CATEGORY_PALETTE,
  categoryColors,
  DEFAULT_UNKNOWN_THRESHOLD,
  embeddingChoices,
  labelColors,
  LOW_CONFIDENCE_THRESHOLD,
  rampColor,
  rampColors,
  timeLeft,
  trainingProgress,
} from '@scnym/core/vocabulary';
import { summarizeResults } from '../../extension/src/results.js';
import { join } from 'node:path';
import { openAnnDataFile } from '@scnym/core/node';
import { ColumnStore } from '../../plugin/src/host/column-store.js';
import type { DataClient } from '../../plugin/src/host/data-client.js';
import { fromNewColumn, toColourColumn } from '../../plugin/src/host/columns.js';
import { REPO } from '../helpers/paths.js';
import { embeddingKeys } from '../../plugin/src/host/embedding.js';
import type { DatasetSummary } from '../../plugin/src/shared/worker-messages.js';
import { MISSING_COLOR, viridis } from '../../plugin/src/ui/colors.js';
import {
  binnedTree,
  CONFIDENCE_EDGES,
  hexToRgb,
  type SetLeaf,
} from '../../plugin/vitessce/src/sets.js';

test('one low-confidence threshold: core’s, in VS Code’s summary and Vitessce’s bins', () => {
  assert.equal(LOW_CONFIDENCE_THRESHOLD, DEFAULT_UNKNOWN_THRESHOLD);
  const confidence = [0.2, 0.45, 0.49, 0.5, 0.65, 0.95];
  const model = summarizeResults({
    dataset: 'q',
    path: 'q.zarr',
    keyAdded: 'scNym',
    cellNames: confidence.map((_, i) => `c${i}`),
    labels: confidence.map(() => 'B'),
    confidence,
  });
  assert.equal(model.threshold, LOW_CONFIDENCE_THRESHOLD);
  assert.equal(model.nBelow, 3);
  assert.equal(CONFIDENCE_EDGES[0], LOW_CONFIDENCE_THRESHOLD);
  const bins = binnedTree(
    'c',
    confidence.map((_, i) => `c${i}`),
    confidence,
  );
  assert.equal(bins.node.children[0].name, `< ${LOW_CONFIDENCE_THRESHOLD}`);
  assert.equal((bins.node.children[0] as SetLeaf).set.length, 3);
});

test('one number ramp: the plot’s steps are core’s ramp, Vitessce’s bins take their middles’ colour', () => {
  assert.deepEqual(viridis(10), rampColors(10));
  assert.equal(rampColor(0), '#440154');
  assert.equal(rampColor(1), '#fde725');
  assert.equal(rampColor(Number.NaN), rampColor(0));
  const { node } = binnedTree('c', ['a', 'b'], Float32Array.from([0.1, 0.95]));
  assert.deepEqual(
    node.children.map((c) => (c as { color?: number[] }).color),
    [hexToRgb(rampColor(0.25)), hexToRgb(rampColor(0.95))],
  );
});

test('one colour per label name: core’s rule, kept across columns, Unknown grey', () => {
  const P = CATEGORY_PALETTE;
  const assigned = new Map<string, string>();
  assert.deepEqual(labelColors(['B cells', 'T cells'], assigned), [P[0], P[1]]);
  // another column: shared names keep their colour, new ones take colours no name has yet
  assert.deepEqual(labelColors(['NK', 'T cells', 'Unknown', 'B cells'], assigned), [
    P[2],
    P[1],
    MISSING_COLOR,
    P[0],
  ]);
  assert.equal(assigned.get('NK'), P[2]);
  assert.ok(!assigned.has('Unknown'), 'Unknown takes no palette colour');
  // once every colour is taken, a column's new names still differ from each other
  const many = Array.from({ length: 18 }, (_, i) => `c${i}`);
  labelColors(many, assigned);
  const late = labelColors(['x', 'y', 'B cells'], assigned);
  assert.equal(new Set(late).size, 3, late.join(' '));
  assert.deepEqual(late, [P[1], P[2], P[0]]);
  // one column alone: the palette in category order, Unknown grey
  assert.deepEqual(categoryColors(['a', 'Unknown', 'b']), [P[0], MISSING_COLOR, P[1]]);
});

test('one colour per label name in the viewer: a file’s column and the panel’s predictions', () => {
  const assigned = new Map<string, string>();
  const file = toColourColumn(
    {
      kind: 'categorical',
      codes: Int32Array.from([0, 1, 2]),
      categories: ['B cells', 'Monocytes', 'T cells'],
      ordered: false,
    },
    assigned,
  );
  // what the panel adds (the model's class order, no colours of its own)
  const predicted = fromNewColumn(
    {
      kind: 'categorical',
      codes: Int32Array.from([2, 3, 0]),
      categories: ['NK', 'T cells', 'B cells', 'Unknown'],
    },
    assigned,
  );
  assert.ok(file?.kind === 'categorical' && predicted.kind === 'categorical');
  const colourOf = (c: { categories: string[]; colors: string[] }, name: string) =>
    c.colors[c.categories.indexOf(name)];
  for (const name of ['B cells', 'T cells']) {
    assert.equal(colourOf(predicted, name), colourOf(file, name), name);
  }
  assert.equal(colourOf(predicted, 'Unknown'), MISSING_COLOR);
  assert.equal(new Set(predicted.colors).size, 4);
  // colours a plugin gives are its own
  const own = fromNewColumn(
    { kind: 'categorical', values: ['B cells'], categories: ['B cells'], colors: ['#000000'] },
    assigned,
  );
  assert.ok(own.kind === 'categorical' && own.colors[0] === '#000000');
});

test('what a Save writes as <key>_colors is what the page shows: the file’s colours by name', async () => {
  // The demo query's cell_type, read from the file as the viewer's data worker reads it.
  const ad = await openAnnDataFile(join(REPO, 'core', 'demo', 'target.zarr'));
  try {
    const client = { obsColumn: (name: string) => ad.obsColumn(name) } as unknown as DataClient;
    const store = new ColumnStore(client);
    const file = await store.colour('cell_type');
    assert.ok(file?.kind === 'categorical');
    // predictions in another order, with Unknown first: position-based colours would differ
    const categories = ['Unknown', ...[...file.categories].reverse()];
    store.add('scNym', { kind: 'categorical', values: categories, categories });
    const shown = await store.colour('scNym');
    assert.ok(shown?.kind === 'categorical');
    const saved = store.colorsOf(categories);
    assert.deepEqual(saved, shown.colors);
    for (const [i, name] of file.categories.entries()) {
      assert.equal(saved[categories.indexOf(name)], file.colors[i], name);
    }
    assert.notDeepEqual(saved, categoryColors(categories));
  } finally {
    await ad.close();
  }
});

test('embeddings offered: 2-D or wider X_*, never scNym’s latent space', () => {
  const obsm = [
    { key: 'X_pca', shape: [5, 50] },
    { key: 'X_scnym', shape: [5, 256] },
    { key: 'X_run2', shape: [5, 256] },
    { key: 'X_umap', shape: [5, 2] },
    { key: 'X_one', shape: [5, 1] },
    { key: 'spatial', shape: [5, 2] },
  ];
  assert.deepEqual(embeddingChoices(obsm), ['X_pca', 'X_run2', 'X_umap']);
  // a run saved under key_added 'run2' left obs run2_confidence: its X_run2 is latent too
  assert.deepEqual(embeddingChoices(obsm, ['cell_type', 'run2', 'run2_confidence']), [
    'X_pca',
    'X_umap',
  ]);
  const summary: DatasetSummary = {
    nObs: 5,
    nVars: 3,
    columns: [{ name: 'scNym_confidence', kind: 'numeric', dtype: 'float32' }],
    obsm,
  };
  assert.deepEqual(embeddingKeys(summary), ['X_pca', 'X_run2', 'X_umap']);
});

test('training progress: one format from the first step, with the time left by the clock', () => {
  let ms = 0;
  const progress = trainingProgress(() => ms);
  const start = progress({ type: 'start', nEpochs: 2, stepsPerEpoch: 4 });
  assert.deepEqual(start, { stage: 'training', done: 0, total: 8, detail: 'epoch 1/2' });
  ms = 2000;
  const step = progress({ type: 'step', epoch: 0, stepInEpoch: 1, loss: 0.51234 });
  assert.equal(step.done, 2);
  assert.equal(step.detail, 'epoch 1/2 loss 0.512 · 6 s left');
  ms = 4000;
  const epoch = progress({ type: 'epoch', epoch: 0, nEpochs: 2, valAccuracy: 0.8 });
  assert.equal(epoch.detail, 'epoch 2/2 loss 0.512 val acc 0.800 · 4 s left');
  ms = 100_000;
  const next = progress({ type: 'step', epoch: 1, stepInEpoch: 0, loss: 0.4 });
  assert.equal(next.detail, 'epoch 2/2 loss 0.400 val acc 0.800 · 1 min 0 s left');
  const last = progress({ type: 'epoch', epoch: 1, nEpochs: 2, valAccuracy: Number.NaN });
  assert.equal(last.detail, 'epoch 2/2 loss 0.400 val acc 0.800');
  assert.equal(timeLeft(7325), '2 h 2 min left');
});

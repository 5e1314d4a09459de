// The extension's pure decisions (dataset kinds, model memory), and the rules it takes from
// core's vocabulary: progress lines in the notification, the order of the label-column pick.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeProgress, LINEAR_HEAD_STAGE, rankLabelColumns } from '@scnym/core/vocabulary';
import {
  datasetKind,
  MAX_MODELS,
  modelFolderName,
  modelsFor,
  plural,
  rememberModel,
  type ModelRecord,
} from '../../extension/src/choices.js';

test('datasetKind: .zarr folders (with or without a trailing slash) and .h5ad files', () => {
  assert.equal(datasetKind('/data/pbmc.zarr'), 'zarr');
  assert.equal(datasetKind('/data/pbmc.ZARR/'), 'zarr');
  assert.equal(datasetKind('C:\\data\\pbmc.h5ad'), 'h5ad');
  assert.equal(datasetKind('/data/pbmc.h5'), '');
  assert.equal(datasetKind('/data/notes.txt'), '');
});

const model = (dir: string, created: number, query?: string): ModelRecord => ({
  dir,
  label: dir,
  reference: '/r.zarr',
  query,
  created,
});

test('rememberModel: newest first, one record per folder, at most MAX_MODELS', () => {
  let list: ModelRecord[] = [];
  for (let i = 0; i < MAX_MODELS + 5; i++) list = rememberModel(list, model(`/m${i}`, i));
  assert.equal(list.length, MAX_MODELS);
  assert.equal(list[0].dir, `/m${MAX_MODELS + 4}`);
  list = rememberModel(list, model('/m10', 100));
  assert.equal(list[0].dir, '/m10');
  assert.equal(list.filter((m) => m.dir === '/m10').length, 1);
});

test('modelsFor: the newest model that annotated the dataset comes first', () => {
  const list = [model('/a', 1, '/q.zarr'), model('/b', 3), model('/c', 2, '/q.zarr')];
  assert.deepEqual(
    modelsFor(list, '/q.zarr').map((m) => m.dir),
    ['/c', '/b', '/a'],
  );
  assert.deepEqual(
    modelsFor(list, '/other.zarr').map((m) => m.dir),
    ['/b', '/c', '/a'],
  );
});

test('modelFolderName: dataset name and a timestamp, nothing a path dislikes', () => {
  const date = new Date('2026-11-24T06:05:09.123Z');
  assert.equal(modelFolderName('/d/my data.zarr/', date), 'my_data-20261124T060509');
  assert.equal(modelFolderName('C:\\x\\pbmc.h5ad', date), 'pbmc-20261124T060509');
});

test('describeProgress: training dominates the bar; messages carry epoch and loss', () => {
  const reading = describeProgress({ stage: 'reading reference', done: 5, total: 10 });
  assert.equal(reading.message, 'reading reference 5/10');
  assert.ok(Math.abs(reading.fraction - 0.025) < 1e-9);
  const training = describeProgress({
    stage: 'training',
    done: 30,
    total: 60,
    detail: ' epoch 15/30 val acc 0.800 loss 0.512',
  });
  assert.equal(training.message, 'training: epoch 15/30 val acc 0.800 loss 0.512');
  assert.ok(Math.abs(training.fraction - (0.05 + 0.8 / 2)) < 1e-9);
  // The linear head follows training, before predicting.
  const head = describeProgress({ stage: LINEAR_HEAD_STAGE, done: 50, total: 1000 });
  assert.ok(head.fraction > 0.85 && head.fraction < 0.9, `${head.fraction}`);
  const saved = describeProgress({ stage: 'saving', done: 1, total: 1 });
  assert.equal(saved.fraction, 1);
  assert.equal(saved.message, 'saving');
});

test('rankLabelColumns: remembered, then cell-type-like names, single categories last', () => {
  const cols = [
    { name: 'condition', nCategories: 1 },
    { name: 'donor', nCategories: 8 },
    { name: 'cell_type_src', nCategories: 7 },
    { name: 'leiden', nCategories: 12 },
    { name: 'cell_type', nCategories: 7 },
  ];
  assert.deepEqual(
    rankLabelColumns(cols).map((c) => c.name),
    ['cell_type', 'cell_type_src', 'donor', 'leiden', 'condition'],
  );
  assert.equal(rankLabelColumns(cols, 'leiden')[0].name, 'leiden');
  assert.equal(plural(1, 'category', 'categories'), '1 category');
  assert.equal(plural(1039, 'cell'), '1,039 cells');
});

// The extension's worker_thread (extension/dist/worker.mjs, built by `npm run build`) driven
// through the extension host's WorkerClient, as the commands drive it: reading columns,
// annotating the demo (labels written, results summarised, model saved), saliency, evaluate,
// cancellation leaving the files untouched (core's AbortError), and core's errors passed through
// with their codes.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { AbortError, isAbortError, isScnymError } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { LINEAR_HEAD_STAGE } from '@scnym/core/vocabulary';
import { JobError, WorkerClient } from '../../extension/src/worker-client.js';
import type { JobRequest, TrainSettings } from '../../extension/src/messages.js';
import { makeGeneFixtures } from '../helpers/gene-fixtures.js';
import { PYTHON, REPO } from '../helpers/paths.js';
import { makeFilteredH5ads } from '../helpers/python.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const WORKER = join(REPO, 'extension', 'dist', 'worker.mjs');
const DEMO = join(REPO, 'core', 'demo');
const SETTINGS: TrainSettings = {
  preset: 'default',
  config: 'no_new_identity',
  epochs: 12,
  seed: 0,
};

before(() => {
  assert.ok(existsSync(WORKER), `${WORKER} is missing: run npm run build first`);
});

/** One job in a fresh worker, as the commands run it. */
async function run(job: JobRequest, signal?: AbortSignal, onEvent = (_e: unknown) => {}) {
  const client = new WorkerClient(WORKER);
  try {
    return await client.run(job, onEvent, signal);
  } finally {
    client.dispose();
  }
}

const workspace = tempDir();
const query = tempCopy(join(DEMO, 'target.zarr'), 'target.zarr');
const reference = join(DEMO, 'reference.zarr');
const modelOut = join(workspace, 'model');

test('columns: the obs columns of a dataset, with kinds and category counts', async () => {
  const r = await run({ type: 'columns', path: reference });
  assert.equal(r.type, 'columns');
  if (r.type !== 'columns') return;
  assert.equal(r.nObs, 936);
  const cellType = r.columns.find((c) => c.name === 'cell_type');
  assert.deepEqual(cellType, { name: 'cell_type', kind: 'categorical', nCategories: 7 });
  assert.ok(r.columns.some((c) => c.kind === 'numeric'));
});

test(
  'columns of an lzf .h5ad: the bundle carries the HDF5 filter plugins (dist/h5plugins)',
  {
    // Outside CI a machine without Debian's anndata skips this; in CI (CI=true) it must run.
    skip: existsSync(PYTHON) || process.env.CI ? false : `needs ${PYTHON} with anndata`,
  },
  async () => {
    const dir = tempDir();
    makeFilteredH5ads(dir);
    const r = await run({ type: 'columns', path: join(dir, 'lzf.h5ad') });
    assert.equal(r.type, 'columns');
    if (r.type !== 'columns') return;
    assert.equal(r.nObs, 200);
    const cellType = r.columns.find((c) => c.name === 'cell_type');
    assert.deepEqual(cellType, { name: 'cell_type', kind: 'categorical', nCategories: 5 });
  },
);

test('annotate: trains, writes the labels into the query, saves the model, summarises', async () => {
  const stages = new Set<string>();
  const details: string[] = [];
  const r = await run(
    {
      type: 'annotate',
      query,
      reference,
      labelKey: 'cell_type',
      settings: SETTINGS,
      keyAdded: 'scNym',
      overwrite: false,
      modelOut,
    },
    undefined,
    (e) => {
      const event = e as { type: string; stage?: string; detail?: string };
      if (event.type === 'progress') stages.add(event.stage!);
      if (event.detail) details.push(event.detail);
    },
  );
  assert.equal(r.type, 'annotate');
  if (r.type !== 'annotate') return;
  assert.deepEqual([...stages].sort(), [
    LINEAR_HEAD_STAGE,
    'predicting',
    'reading query',
    'reading reference',
    'saving',
    'training',
  ]);
  assert.ok(
    details.some((d) => /epoch \d+\/12/.test(d) && /loss \d/.test(d)),
    details.join('|'),
  );
  assert.equal(r.written, query);
  assert.ok(existsSync(join(modelOut, 'scnym.json')) && existsSync(join(modelOut, 'weights.bin')));
  const res = r.results;
  assert.equal(res.nCells, 1039);
  assert.equal(
    res.classes.reduce((s, c) => s + c.count, 0),
    1039,
  );
  assert.equal(
    res.histogram.counts.reduce((s, c) => s + c, 0),
    1039,
  );
  assert.equal(res.training?.backend, 'wasm');
  assert.equal(res.training?.epochs, 12);

  // What was written is what the summary says, and it is good: compare with the known labels.
  const ad = await openAnnDataFile(query);
  try {
    const predicted = await ad.obsColumn('scNym');
    const truth = await ad.obsColumn('cell_type');
    assert.equal(predicted.kind, 'categorical');
    assert.equal(truth.kind, 'categorical');
    if (predicted.kind !== 'categorical' || truth.kind !== 'categorical') return;
    let right = 0;
    for (let i = 0; i < 1039; i++) {
      const p = predicted.categories[predicted.codes[i]];
      if (p === truth.categories[truth.codes[i]]) right++;
    }
    assert.ok(right / 1039 >= 0.7, `accuracy ${right / 1039}`);
    for (const c of res.classes) {
      const code = predicted.categories.indexOf(c.label);
      const n: number = predicted.codes.filter((x) => x === code).length;
      assert.equal(n, c.count, c.label);
    }
  } finally {
    await ad.close();
  }
});

test('evaluate and results read the written predictions back', async () => {
  const e = await run({
    type: 'evaluate',
    dataset: query,
    truthKey: 'cell_type',
    keyAdded: 'scNym',
  });
  assert.equal(e.type, 'evaluate');
  if (e.type !== 'evaluate') return;
  const ev = e.results.evaluation!;
  assert.equal(ev.truthKey, 'cell_type');
  assert.ok(ev.accuracy >= 0.7 && ev.accuracy <= 1, `accuracy ${ev.accuracy}`);
  assert.ok(ev.ece >= 0 && ev.ece < 0.3, `ece ${ev.ece}`);
  assert.ok(e.results.classes.every((c) => c.recall !== undefined || c.support === undefined));
  const r = await run({ type: 'results', dataset: query, keyAdded: 'scNym' });
  assert.equal(r.type, 'results');
  if (r.type !== 'results') return;
  assert.equal(r.results.nCells, 1039);
  assert.equal(r.results.evaluation, undefined);
  // Runner-up classes come from the stored probabilities.
  assert.ok(r.results.lowConfidence.every((c) => typeof c.runnerUp === 'string'));
});

test('saliency: marker genes per predicted class from the saved model', async () => {
  const r = await run({
    type: 'saliency',
    dataset: query,
    model: modelOut,
    method: 'gradient',
    top: 15,
    maxCells: 100,
    groupby: 'scNym',
  });
  assert.equal(r.type, 'saliency');
  if (r.type !== 'saliency') return;
  const b = r.saliency.classes.find((c) => c.name === 'B');
  assert.ok(b, 'class B is explained');
  assert.equal(b.genes.length, 15);
  const expected = ['CD79A', 'CD79B', 'MS4A1', 'CD74', 'HLA-DRA', 'HLA-DRB1', 'HLA-DQA1'];
  assert.ok(
    b.genes.slice(0, 10).some((g) => expected.includes(g)),
    `B markers: ${b.genes.join(', ')}`,
  );
  assert.ok(b.nExplained <= 100 && b.nExplained > 0);
});

test('scnym.geneKey: a CELLxGENE reference (Ensembl var_names) is matched by feature_name', async () => {
  const genes = makeGeneFixtures(tempDir());
  const copy = tempCopy(join(DEMO, 'target.zarr'), 'genes.zarr');
  const warnings: string[] = [];
  const onEvent = (e: unknown) => {
    const event = e as { type: string; message?: string };
    if (event.type === 'warning') warnings.push(event.message!);
  };
  const model = join(workspace, 'genes-model');
  const r = await run(
    {
      type: 'annotate',
      query: copy,
      reference: genes.cellxgeneReference,
      labelKey: 'cell_type',
      settings: { ...SETTINGS, epochs: 1, geneKey: 'feature_name' },
      keyAdded: 'scNym',
      overwrite: false,
      modelOut: model,
    },
    undefined,
    onEvent,
  );
  assert.equal(r.type, 'annotate');
  if (r.type !== 'annotate') return;
  assert.equal(r.results.training?.nGenes, 6997);
  assert.ok(
    warnings.some((w) => /reference var\['feature_name'\] ↔ query var_names: 6,997 shared/.test(w)),
    warnings.join('\n'),
  );
  // The saved model predicts a CELLxGENE query (Ensembl var_names) by its feature_name.
  const query = tempCopy(genes.cellxgeneQuery);
  const p = await run(
    { type: 'predict', query, model, keyAdded: 'scNym', overwrite: false, geneKey: 'auto' },
    undefined,
    onEvent,
  );
  assert.equal(p.type, 'predict');
  if (p.type !== 'predict') return;
  assert.equal(p.results.nCells, 1039);
  assert.ok(warnings.some((w) => /to query var\['feature_name'\]: 6,997 of 6,997/.test(w)));
});

test('cancel: the job stops and the query is left exactly as it was', async () => {
  const copy = tempCopy(join(DEMO, 'target.zarr'), 'cancelled.zarr');
  const before = treeDigest(copy);
  const controller = new AbortController();
  const started = Date.now();
  await assert.rejects(
    run(
      {
        type: 'annotate',
        query: copy,
        reference,
        labelKey: 'cell_type',
        settings: { ...SETTINGS, epochs: 200 },
        keyAdded: 'scNym',
        overwrite: false,
        modelOut: join(workspace, 'cancelled-model'),
      },
      controller.signal,
      (e) => {
        if ((e as { stage?: string }).stage === 'training') controller.abort();
      },
    ),
    (err: unknown) => err instanceof AbortError && isAbortError(err),
  );
  assert.ok(Date.now() - started < 60_000, 'cancel is prompt');
  assert.equal(treeDigest(copy), before);
  assert.ok(!existsSync(join(workspace, 'cancelled-model')));
});

test('errors from core reach the extension with their code, the file, the element and the fix', async () => {
  await assert.rejects(
    run({
      type: 'annotate',
      query,
      reference,
      labelKey: 'no_such_column',
      settings: SETTINGS,
      keyAdded: 'other',
      overwrite: false,
      modelOut: join(workspace, 'never'),
    }),
    (err: unknown) =>
      err instanceof JobError &&
      isScnymError(err, 'not-found') &&
      err.file === reference &&
      err.element === 'obs' &&
      /no_such_column/.test(err.message) &&
      /cell_type/.test(err.message),
  );
  await assert.rejects(
    run({ type: 'columns', path: join(workspace, 'missing.h5ad') }),
    (err: unknown) =>
      isScnymError(err, 'not-found') &&
      err.file === join(workspace, 'missing.h5ad') &&
      err.hint !== undefined &&
      /missing\.h5ad/.test(err.message),
  );
});

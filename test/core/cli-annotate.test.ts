// `scnym annotate / train / predict` end to end on the real tiny pair: the labels written to the
// query load in python anndata under the original's key names, beat chance by a wide margin, and
// a saved model predicts exactly what the trained one did. Bad inputs get clear messages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelDirDigest } from '@scnym/core/node';
import { PYTHON, sharedFile } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { runScnym } from '../helpers/cli.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const EPOCHS = '40';

const scnym = (...args: string[]) => runScnym(args, 300_000);

function python(code: string): void {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function accuracy(file: string): number {
  const back = readBack(file);
  const pred: string[] = back.obs.scNym.values;
  const truth: string[] = back.obs.cell_type.values;
  return pred.filter((p, i) => p === truth[i]).length / truth.length;
}

const dir = tempDir();
const annotated = join(dir, 'annotated.zarr');
const modelDir = join(dir, 'model');
let annotateJson: { training: { seed: number; steps: number }; prediction: { nCells: number } };

test('annotate: tiny reference → target, written with the original key names, accuracy well above chance', async () => {
  const r = scnym(
    'annotate',
    '--reference',
    sharedFile('tiny', 'reference.h5ad'),
    '--label-key',
    'cell_type',
    '--query',
    sharedFile('tiny', 'target.zarr'),
    '--out',
    annotated,
    '--model-out',
    modelDir,
    '--epochs',
    EPOCHS,
    '--seed',
    '0',
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  annotateJson = JSON.parse(r.stdout);
  assert.equal(annotateJson.prediction.nCells, 200);
  const back = readBack(annotated);
  assert.equal(back.obs.scNym.dtype, 'category');
  assert.equal(back.obs.scNym_confidence.dtype, 'float32');
  assert.deepEqual(back.obsm.X_scnym.shape, [200, 256]);
  assert.deepEqual(back.obsm.scNym_probabilities.shape, [200, 5]);
  assert.deepEqual(back.uns.scNym_classes, [
    'B cells',
    'CD14+ Monocytes',
    'CD4 T cells',
    'CD8 T cells',
    'FCGR3A+ Monocytes',
  ]);
  assert.equal(back.uns.scNym_colors.length, 5);
  assert.equal(back.uns.scNym_train_results.n_genes, 300);
  // The model that made the predictions is named, with its files' digest.
  assert.deepEqual(back.uns.scNym_model, {
    path: modelDir,
    digest: await modelDirDigest(modelDir),
    where: 'given',
  });
  // Chance is 0.2 (5 classes); logistic regression gets 0.815.
  const acc = accuracy(annotated);
  assert.ok(acc >= 0.6, `accuracy ${acc}`);
  // The source query is untouched.
  assert.equal(readBack(sharedFile('tiny', 'target.zarr')).obs.scNym, undefined);
});

test('predict with the saved model reproduces the annotate run exactly; in place by default', () => {
  const query = tempCopy(sharedFile('tiny', 'target.h5ad'));
  const r = scnym('predict', '--model', modelDir, '--query', query, '--json');
  assert.equal(r.status, 0, r.stderr);
  const fromModel = readBack(query);
  const fromAnnotate = readBack(annotated);
  assert.deepEqual(fromModel.obs.scNym.values, fromAnnotate.obs.scNym.values);
  assert.deepEqual(fromModel.obs.scNym_confidence.values, fromAnnotate.obs.scNym_confidence.values);
  assert.deepEqual(fromModel.obsm.X_scnym, fromAnnotate.obsm.X_scnym);
  // Predicting again refuses to replace the keys, then replaces them with --overwrite.
  const again = scnym('predict', '--model', modelDir, '--query', query);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds obs\/scNym/);
  assert.match(again.stderr, /--overwrite/);
  assert.equal(
    scnym('predict', '--model', modelDir, '--query', query, '--overwrite', '--key-added', 'run2')
      .status,
    0,
  );
  const both = readBack(query);
  assert.ok(both.obs.run2 && both.obs.scNym, 'both prefixes present');
  assert.deepEqual(both.obsm.X_run2.shape, [200, 256]);
  assert.equal(both.uns.run2_model.path, modelDir);
  assert.equal(both.uns.run2_model.digest, both.uns.scNym_model.digest);
});

test('the same seed trains the same model (one backend)', () => {
  const out = join(tempDir(), 'again.zarr');
  const r = scnym(
    'annotate',
    '--reference',
    sharedFile('tiny', 'reference.h5ad'),
    '--label-key',
    'cell_type',
    '--query',
    sharedFile('tiny', 'target.zarr'),
    '--out',
    out,
    '--epochs',
    EPOCHS,
    '--seed',
    '0',
    '--quiet',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    readBack(out).obs.scNym_confidence.values,
    readBack(annotated).obs.scNym_confidence.values,
  );
});

test('--max-steps, --max-reference-cells and --max-query-cells bound training and say what was sampled', () => {
  const out = join(tempDir(), 'bounded.zarr');
  const args = [
    'annotate',
    '--reference',
    sharedFile('tiny', 'reference.h5ad'),
    '--label-key',
    'cell_type',
    '--query',
    sharedFile('tiny', 'target.zarr'),
    '--out',
    out,
    '--seed',
    '0',
    '--quiet',
    '--json',
  ];
  const r = scnym(
    ...args,
    '--max-steps',
    '12',
    '--max-reference-cells',
    '100',
    '--max-query-cells',
    '50',
  );
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.ok(json.training.steps <= 12, `${json.training.steps} steps`);
  // Every query cell is still predicted.
  assert.equal(json.prediction.nCells, 200);
  assert.match(
    r.stderr,
    /training on 100 of 200 reference cells \(class-balanced; 10 others for model selection and calibration, 10 held out\) and 50 of 200 query cells/,
  );
  assert.match(r.stderr, /training for at most 12 steps \(12 epochs of 1;/);
  const bad = scnym(...args, '--max-steps', 'many');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--max-steps must be an integer ≥ 0 \(got 'many'\)/);
});

test('bad inputs: label column missing, one class, no shared genes, model/query mismatch', () => {
  const d = tempDir();
  const missing = scnym(
    'annotate',
    '--reference',
    sharedFile('tiny', 'reference.h5ad'),
    '--label-key',
    'celltype',
    '--query',
    sharedFile('tiny', 'target.h5ad'),
    '--out',
    join(d, 'x.h5ad'),
  );
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /reference\.h5ad: obs: no column 'celltype'/);
  assert.match(missing.stderr, /available columns: .*cell_type/);

  const oneClass = join(d, 'one_class.h5ad');
  const renamed = join(d, 'renamed.h5ad');
  python(`
import anndata, pandas as pd
a = anndata.read_h5ad(${JSON.stringify(sharedFile('tiny', 'reference.h5ad'))})
a.obs['cell_type'] = pd.Categorical(['T'] * a.n_obs)
a.write_h5ad(${JSON.stringify(oneClass)})
b = anndata.read_h5ad(${JSON.stringify(sharedFile('tiny', 'target.h5ad'))})
b.var_names = ['X' + g for g in b.var_names]
b.write_h5ad(${JSON.stringify(renamed)})
`);
  const one = scnym(
    'annotate',
    '--reference',
    oneClass,
    '--label-key',
    'cell_type',
    '--query',
    sharedFile('tiny', 'target.h5ad'),
    '--out',
    join(d, 'y.h5ad'),
  );
  assert.equal(one.status, 1);
  assert.match(
    one.stderr,
    /one_class\.h5ad: obs\/cell_type: column 'cell_type' has only one class \('T'\)/,
  );

  const noShared = scnym(
    'annotate',
    '--reference',
    sharedFile('tiny', 'reference.h5ad'),
    '--label-key',
    'cell_type',
    '--query',
    renamed,
    '--out',
    join(d, 'z.h5ad'),
  );
  assert.equal(noShared.status, 1);
  assert.match(noShared.stderr, /share 0 genes/);
  assert.match(noShared.stderr, /gene naming/);

  const mismatch = scnym(
    'predict',
    '--model',
    modelDir,
    '--query',
    renamed,
    '--out',
    join(d, 'w.h5ad'),
  );
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, /only 0 of the model's 300 genes are in the data/);
  assert.match(mismatch.stderr, /renamed\.h5ad/);
});

test('model folders are validated: truncated weights, newer format, gene count vs weights', () => {
  const broken = (name: string, edit: (dir: string) => void) => {
    const copy = tempCopy(modelDir, name);
    edit(copy);
    return scnym(
      'predict',
      '--model',
      copy,
      '--query',
      sharedFile('tiny', 'target.h5ad'),
      '--out',
      join(tempDir(), 'o.h5ad'),
    );
  };
  const truncated = broken('truncated', (d) => truncateSync(join(d, 'weights.bin'), 1000));
  assert.equal(truncated.status, 1);
  assert.match(truncated.stderr, /truncated\/weights\.bin: holds 1000 bytes/);

  const editCard = (d: string, change: (card: Record<string, unknown>) => void) => {
    const card = JSON.parse(readFileSync(join(d, 'scnym.json'), 'utf8'));
    change(card);
    writeFileSync(join(d, 'scnym.json'), JSON.stringify(card));
  };
  const newer = broken('newer', (d) => editCard(d, (c) => (c.formatVersion = 99)));
  assert.equal(newer.status, 1);
  assert.match(newer.stderr, /newer scNym/);
  assert.match(newer.stderr, /upgrade/);

  const genes = broken('genes', (d) =>
    editCard(d, (c) => (c.genes = (c.genes as string[]).slice(0, 250))),
  );
  assert.equal(genes.status, 1);
  assert.match(genes.stderr, /takes 300 genes but scnym\.json lists 250/);

  const notModel = scnym(
    'predict',
    '--model',
    tempDir(),
    '--query',
    tempCopy(sharedFile('tiny', 'target.h5ad')),
  );
  assert.equal(notModel.status, 1);
  assert.match(notModel.stderr, /not an scNym model folder/);
});

// The additive writer: what it adds loads in real anndata with every old key intact; existing
// keys are refused unless overwriting; a failed write leaves the file as it was.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WriteConflictError } from '../../core/src/errors.js';
import type { Annotations } from '../../core/src/anndata/write.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { writeAnnotationsToFile } from '../../core/src/node/write-file.js';
import { sharedFile } from '../helpers/paths.js';
import { ensureFixtures, readBack } from '../helpers/python.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

function annotationsFor(nObs: number): Annotations {
  const codes = new Int32Array(nObs);
  const conf = new Float32Array(nObs);
  const emb = new Float32Array(nObs * 3);
  for (let i = 0; i < nObs; i++) {
    codes[i] = i % 5 === 4 ? -1 : i % 3;
    conf[i] = (i % 100) / 100;
    for (let j = 0; j < 3; j++) emb[i * 3 + j] = i + j / 10;
  }
  return {
    obs: {
      scNym: { kind: 'categorical', codes, categories: ['T cell', 'B cell', 'Monocyte é'] },
      scNym_confidence: { kind: 'float', values: conf },
    },
    obsm: { X_scnym: { data: emb, shape: [nObs, 3] } },
    uns: {
      scNym_classes: ['T cell', 'B cell', 'Monocyte é'],
      scNym_colors: ['#1f77b4', '#ff7f0e', '#2ca02c'],
      scNym_train_results: {
        final_acc: 0.875,
        n_genes: 300,
        config: 'no_new_identity',
        note: 'ok',
      },
    },
  };
}

const CASES = [
  { label: 'zarr v2 (kang_ifnb target)', src: () => sharedFile('kang_ifnb', 'target.zarr') },
  { label: 'h5ad gzip (kang_ifnb target)', src: () => sharedFile('kang_ifnb', 'target.h5ad') },
  { label: 'zarr v2 with .zmetadata', src: () => join(ensureFixtures(), 'consolidated.zarr') },
  { label: 'zarr v2 zstd', src: () => join(ensureFixtures(), 'zstd.zarr') },
];

for (const c of CASES) {
  test(`writer: ${c.label} — new keys load in python anndata, old ones intact`, async () => {
    const file = tempCopy(c.src());
    const before = readBack(file);
    const nObs = before.n_obs;
    await writeAnnotationsToFile(file, annotationsFor(nObs));
    const after = readBack(file);
    // Everything that was there is unchanged.
    for (const [name, col] of Object.entries(before.obs))
      assert.deepEqual(after.obs[name], col, `obs/${name}`);
    for (const [key, v] of Object.entries(before.obsm))
      assert.deepEqual(after.obsm[key], v, `obsm/${key}`);
    for (const [key, v] of Object.entries(before.uns))
      assert.deepEqual(after.uns[key], v, `uns/${key}`);
    assert.equal(after.X.nnz, before.X.nnz);
    assert.equal(after.X.sum, before.X.sum);
    // And the new keys are what we wrote.
    const label = after.obs.scNym;
    assert.equal(label.dtype, 'category');
    assert.deepEqual(label.categories, ['T cell', 'B cell', 'Monocyte é']);
    assert.equal(label.values[0], 'T cell');
    assert.equal(label.values[4], null);
    assert.equal(after.obs.scNym_confidence.dtype, 'float32');
    assert.ok(Math.abs(after.obs.scNym_confidence.values[37] - 0.37) < 1e-6);
    assert.deepEqual(after.obsm.X_scnym.shape, [nObs, 3]);
    assert.deepEqual(after.uns.scNym_classes, ['T cell', 'B cell', 'Monocyte é']);
    assert.equal(after.uns.scNym_train_results.final_acc, 0.875);
    assert.equal(after.uns.scNym_train_results.note, 'ok');
    assert.deepEqual(after.obs_columns.slice(-2), ['scNym', 'scNym_confidence']);
    if (after.consolidated_obs_keys) {
      assert.ok(
        after.consolidated_obs_keys.consolidated.includes('scNym'),
        'consolidated metadata lacks the new column',
      );
      assert.equal(after.consolidated_obs_keys.same, true);
    }
    // Our own reader sees them too.
    const ad = await openAnnDataFile(file);
    try {
      const col = await ad.obsColumn('scNym');
      assert.equal(col.kind, 'categorical');
      assert.deepEqual(await ad.uns('scNym_colors'), ['#1f77b4', '#ff7f0e', '#2ca02c']);
    } finally {
      await ad.close();
    }
  });
}

test('writer: existing keys are refused by name unless overwrite is asked for', async () => {
  for (const src of [sharedFile('tiny', 'target.zarr'), sharedFile('tiny', 'target.h5ad')]) {
    const file = tempCopy(src);
    await writeAnnotationsToFile(file, annotationsFor(200));
    await assert.rejects(writeAnnotationsToFile(file, annotationsFor(200)), (err: Error) => {
      assert.ok(err instanceof WriteConflictError);
      assert.match(err.message, /obs\/scNym/);
      assert.match(err.message, /--overwrite/);
      return true;
    });
    const ann = annotationsFor(200);
    if (ann.obs?.scNym.kind === 'categorical') ann.obs.scNym.categories = ['a', 'b', 'c'];
    await writeAnnotationsToFile(file, ann, { overwrite: true });
    const back = readBack(file);
    assert.deepEqual(back.obs.scNym.categories, ['a', 'b', 'c']);
    assert.equal(back.obs_columns.filter((c: string) => c === 'scNym').length, 1);
  }
});

test('writer: a refused or failed write leaves the h5ad byte-identical and no temporary file', async () => {
  const file = tempCopy(sharedFile('tiny', 'target.h5ad'));
  const original = readFileSync(file);
  const bad = annotationsFor(200);
  bad.obsm = { X_scnym: { data: new Float32Array(10), shape: [5, 2] } }; // wrong number of cells
  await assert.rejects(writeAnnotationsToFile(file, bad), /does not fit 200 cells/);
  assert.deepEqual(readFileSync(file), original);
  assert.deepEqual(
    readdirSync(join(file, '..')).filter((n) => n.includes('scnym-tmp')),
    [],
  );
});

test('writer: --out writes a copy and leaves the input untouched', async () => {
  for (const src of [sharedFile('tiny', 'target.zarr'), sharedFile('tiny', 'target.h5ad')]) {
    const file = tempCopy(src);
    const out = join(tempDir(), src.endsWith('.zarr') ? 'out.zarr' : 'out.h5ad');
    await writeAnnotationsToFile(file, annotationsFor(200), { outPath: out });
    assert.equal(readBack(file).obs.scNym, undefined);
    assert.equal(readBack(out).obs.scNym.dtype, 'category');
    await assert.rejects(
      writeAnnotationsToFile(file, annotationsFor(200), { outPath: out }),
      /already exists/,
    );
  }
});

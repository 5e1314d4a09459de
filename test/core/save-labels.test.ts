// Saving labels edited by hand (core's LabelEdits → saveLabelsFile): the label column and its
// colours replace what was there in a real .h5ad and a real .zarr, and real anndata reads them
// back with every other key as it was; empty categories are dropped; another writer of the file
// is refused at once and bad labels are refused, both leaving the file exactly as it was.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isScnymError, LabelEdits, labelAnnotations } from '@scnym/core';
import { openAnnDataFile, saveLabelsFile } from '@scnym/core/node';
import { holdLockAsLiveRun } from '../helpers/crash.js';
import { PYTHON, REPO, sharedFile } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { tempCopy, treeDigest } from '../helpers/tmp.js';

const H5AD = sharedFile('tiny', 'target.h5ad');
const ZARR = join(REPO, 'core', 'demo', 'target.zarr');
const hasPython = existsSync(PYTHON) || process.env.CI;

/** cell_type's labels, as the viewer starts from a column of the file. */
async function cellTypes(path: string): Promise<{ codes: Int32Array; categories: string[] }> {
  const ad = await openAnnDataFile(path);
  try {
    const col = await ad.obsColumn('cell_type');
    assert.equal(col.kind, 'categorical');
    if (col.kind !== 'categorical') throw new Error('not categorical');
    return { codes: Int32Array.from(col.codes), categories: [...col.categories] };
  } finally {
    await ad.close();
  }
}

async function savedLabels(path: string, key: string): Promise<(string | null)[]> {
  const ad = await openAnnDataFile(path);
  try {
    const col = await ad.obsColumn(key);
    assert.equal(col.kind, 'categorical');
    if (col.kind !== 'categorical') return [];
    return Array.from(col.codes, (c) => (c < 0 ? null : col.categories[c]));
  } finally {
    await ad.close();
  }
}

test('labelAnnotations: the label column without empty categories, and its colours', () => {
  const edits = new LabelEdits(Int32Array.from([0, 0, 1, 2]), ['A', 'B', 'C']);
  edits.relabel([2], 'A'); // B is empty now
  edits.relabel([3], 'New');
  const a = labelAnnotations('scNym_run2', edits);
  assert.deepEqual(Object.keys(a.obs ?? {}), ['scNym_run2']);
  const col = a.obs!.scNym_run2;
  assert.equal(col.kind, 'categorical');
  if (col.kind !== 'categorical') return;
  assert.deepEqual(
    col.categories,
    ['A', 'C', 'New'].filter((c) => c !== 'C'),
  );
  assert.deepEqual(Array.from(col.codes), [0, 0, 0, 1]);
  assert.deepEqual(a.uns, { scNym_run2_colors: ['#1f77b4', '#ff7f0e'] });
  assert.equal(a.obsm, undefined);
});

for (const [kind, source] of [
  ['h5ad', H5AD],
  ['zarr', ZARR],
] as const) {
  test(
    `saveLabelsFile into a ${kind}: relabels and a rename saved, read back by core and anndata`,
    {
      skip: hasPython ? false : `needs ${PYTHON} with anndata`,
    },
    async () => {
      const path = tempCopy(source);
      const start = await cellTypes(path);
      const edits = new LabelEdits(start.codes, start.categories);
      edits.relabel([0, 1, 2], 'Doublets');
      edits.rename(start.categories.length - 1, 'Renamed');
      const events: string[] = [];
      const written = await saveLabelsFile(
        path,
        { keyAdded: 'scNym', codes: edits.codes, categories: edits.categories },
        { onEvent: (e) => events.push(`${e.type}:${e.type === 'progress' ? e.done : ''}`) },
      );
      assert.deepEqual(written, ['obs/scNym', 'uns/scNym_colors']);
      assert.deepEqual(events, ['progress:0', 'progress:1']);
      const expected = Array.from(edits.codes, (c) => edits.categories[c]);
      assert.deepEqual(await savedLabels(path, 'scNym'), expected);

      const py = readBack(path);
      assert.deepEqual(py.obs.scNym.values, expected);
      assert.ok(py.obs.scNym.categories.includes('Doublets'));
      assert.ok(py.obs.scNym.categories.includes('Renamed'));
      assert.equal(py.uns.scNym_colors.length, py.obs.scNym.categories.length);
      // The column the labels came from is left as it was.
      assert.deepEqual(
        py.obs.cell_type.values,
        Array.from(start.codes, (c) => start.categories[c]),
      );

      // A second save replaces the first (the rename undone: the relabels stay).
      edits.undo();
      await saveLabelsFile(path, {
        keyAdded: 'scNym',
        codes: edits.codes,
        categories: edits.categories,
      });
      const again = await savedLabels(path, 'scNym');
      assert.deepEqual(
        again,
        Array.from(edits.codes, (c) => edits.categories[c]),
      );
      assert.ok(!again.includes('Renamed') && again.includes('Doublets'));
      assert.ok(again.includes(start.categories[start.categories.length - 1]));
    },
  );
}

test('saveLabelsFile refuses at once while another scNym run writes the file', async () => {
  const path = tempCopy(H5AD);
  // A live owner on this host (this very process) holds the file's lock.
  const lock = await holdLockAsLiveRun(path);
  const before = treeDigest(path);
  const { codes, categories } = await cellTypes(path);
  const started = Date.now();
  await assert.rejects(
    saveLabelsFile(path, { keyAdded: 'scNym', codes, categories }),
    (err) => isScnymError(err, 'busy') && /being written by another scNym run/.test(err.message),
  );
  assert.ok(Date.now() - started < 5000, 'refused without waiting for the other writer');
  assert.equal(treeDigest(path), before);
  await lock.release();
});

test('saveLabelsFile refuses bad labels and a bad prefix, writing nothing', async () => {
  const path = tempCopy(ZARR);
  const before = treeDigest(path);
  const { codes, categories } = await cellTypes(path);
  const cases: [string, Parameters<typeof saveLabelsFile>[1], RegExp][] = [
    [
      'code',
      { keyAdded: 'scNym', codes: Int32Array.from(codes).fill(99, 5, 6), categories },
      /cell 5 has label code 99/,
    ],
    [
      'duplicate',
      { keyAdded: 'scNym', codes, categories: [...categories.slice(1), categories[1]] },
      /twice/,
    ],
    [
      'empty',
      { keyAdded: 'scNym', codes, categories: ['', ...categories.slice(1)] },
      /empty label/,
    ],
    ['prefix', { keyAdded: '1bad', codes, categories }, /cannot prefix/],
    ['length', { keyAdded: 'scNym', codes: codes.subarray(1), categories }, /./],
  ];
  for (const [what, labels, message] of cases) {
    await assert.rejects(saveLabelsFile(path, labels), (err) => {
      assert.ok(isScnymError(err), `${what}: ${String(err)}`);
      assert.match((err as Error).message, message, what);
      return true;
    });
  }
  assert.equal(treeDigest(path), before);
});

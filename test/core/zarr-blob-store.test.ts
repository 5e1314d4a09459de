// core's store over picked files (what a browser page gets from a chosen or dropped folder):
// the tiny reference written by anndata 0.8 / zarr 2.13, read through Blobs, equals the same
// folder read from disk; a range read and the listing behave as the file-system store's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blobZarrStore, openAnnData, openZarr } from '@scnym/core/anndata';
import { openAnnDataFile } from '@scnym/core/node';

const TINY = fileURLToPath(new URL('../../../shared/data/tiny/reference.zarr', import.meta.url));

async function pickedFiles(root: string): Promise<[string, Blob][]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile());
  return Promise.all(
    files.map(async (e) => {
      const path = join(e.parentPath ?? e.path, e.name);
      return [relative(root, path), await openAsBlob(path)] as [string, Blob];
    }),
  );
}

test('a zarr folder read through Blobs equals the same folder read from disk', async () => {
  const store = blobZarrStore(await pickedFiles(TINY));
  const picked = await openAnnData(await openZarr(store, 'reference.zarr'));
  const disk = await openAnnDataFile(TINY);
  try {
    assert.deepEqual([picked.nObs, picked.nVars], [disk.nObs, disk.nVars]);
    assert.deepEqual(await picked.obsColumnNames(), await disk.obsColumnNames());
    assert.deepEqual(await picked.obsColumn('cell_type'), await disk.obsColumn('cell_type'));
    assert.deepEqual(await picked.varNames(), await disk.varNames());
    const [a, b] = [await picked.matrix(), await disk.matrix()];
    assert.deepEqual(await a.rows(0, picked.nObs), await b.rows(0, disk.nObs));
  } finally {
    await picked.close();
    await disk.close();
  }
});

test('the store lists the picked paths and reads ranges clamped to the file', async () => {
  const store = blobZarrStore([
    ['obs/.zattrs', new Blob(['{}'])],
    ['/X/data/0', new Blob([new Uint8Array([1, 2, 3, 4, 5])])],
  ]);
  assert.deepEqual(await store.list!(''), ['X', 'obs']);
  assert.deepEqual(await store.list!('X/data'), ['0']);
  assert.deepEqual(await store.list!('missing'), []);
  assert.equal(await store.get('X/data/1'), undefined);
  assert.deepEqual(
    await store.getRange!('X/data/0', { offset: 3, length: 10 }),
    Uint8Array.of(4, 5),
  );
  assert.deepEqual(await store.getRange!('X/data/0', { suffixLength: 2 }), Uint8Array.of(4, 5));
});

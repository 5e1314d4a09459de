// Consolidated metadata built in memory for a store that has none (what `scnym view` serves to
// the browser, which cannot list a store): a reader that cannot list reads the fixtures through
// it exactly as the file-system reader does; the store is never written; consolidated stores
// need nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openAnnData } from '../../core/src/anndata/read.js';
import type { AnnData } from '../../core/src/anndata/types.js';
import { openZarr, type ZarrStore } from '../../core/src/anndata/zarr.js';
import { consolidatedMetadataFile } from '../../core/src/node/consolidated.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { FileSystemZarrStore } from '../../core/src/node/zarr-store.js';
import { ensureFixtures, expectedFixtureValues } from '../helpers/python.js';
import { treeDigest } from '../helpers/tmp.js';

const dir = ensureFixtures();
const fixtures = Object.entries(
  expectedFixtureValues().fixtures as Record<
    string,
    { format: string; bad: boolean; consolidated: boolean; zarr_format?: number }
  >,
).filter(([, f]) => f.format === 'zarr' && !f.bad);

/** What a browser has: keys by name, no listing; `overlay` answers for one key. */
function getOnly(path: string, overlay?: { key: string; bytes: Uint8Array }): ZarrStore {
  const fs = new FileSystemZarrStore(path);
  return {
    get: (key) => (key === overlay?.key ? Promise.resolve(overlay.bytes) : fs.get(key)),
    getRange: (key, range) => fs.getRange(key, range),
  };
}

async function summary(ad: AnnData) {
  const columns = await ad.obsColumnNames();
  const values = [];
  for (const name of columns) values.push(await ad.obsColumn(name));
  const m = await ad.matrix();
  const rows = await m.rows(0, Math.min(ad.nObs, 5));
  return {
    shape: [ad.nObs, ad.nVars],
    obsNames: await ad.obsNames(),
    columns,
    values,
    obsm: await ad.obsmKeys(),
    uns: await ad.unsKeys(),
    rows: [Array.from(rows.indptr), Array.from(rows.indices), Array.from(rows.data)],
  };
}

test('the fixtures include unconsolidated v2 and v3 stores', () => {
  assert.ok(fixtures.some(([, f]) => !f.consolidated && f.zarr_format === 3));
  assert.ok(fixtures.some(([, f]) => !f.consolidated && f.zarr_format !== 3));
});

for (const [name, note] of fixtures) {
  test(`fixture ${name}: read without listing through the built metadata`, async () => {
    const path = join(dir, name);
    const digest = treeDigest(path);
    const built = await consolidatedMetadataFile(path);
    assert.equal(treeDigest(path), digest, 'the store is only read');
    if (note.consolidated) {
      assert.equal(built, undefined, 'a consolidated store needs nothing');
      return;
    }
    assert.ok(built);
    assert.equal(built.key, note.zarr_format === 3 ? 'zarr.json' : '.zmetadata');
    // Without it, a reader that cannot list fails on the first group it must list.
    const bare = await openAnnData(await openZarr(getOnly(path), name))
      .then(summary)
      .catch((err: Error) => err);
    assert.ok(bare instanceof Error, 'cannot be read without listing');
    const ad = await openAnnData(await openZarr(getOnly(path, built), name));
    const want = await openAnnDataFile(path);
    try {
      assert.deepEqual(await summary(ad), await summary(want));
    } finally {
      await want.close();
    }
  });
}

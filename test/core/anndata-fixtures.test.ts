// Every readable fixture written by test/fixtures/make_fixtures.py (real anndata 0.8 / zarr, plus
// hand-encoded zarr v3 and sharded stores) must read back exactly the values expected.json lists.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AnnData } from '../../core/src/anndata/types.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { ensureFixtures, expectedFixtureValues } from '../helpers/python.js';

const expected = expectedFixtureValues();
const dir = ensureFixtures();
const readable = Object.entries(expected.fixtures as Record<string, FixtureNote>).filter(
  ([, f]) => !f.bad,
);

interface FixtureNote {
  format: 'zarr' | 'h5ad';
  zarr_format?: number;
  x_encoding: 'csr' | 'csc' | 'dense';
  legacy: boolean;
  consolidated: boolean;
  sharded: boolean;
  missing_obs_columns: string[];
  bad: boolean;
}

async function denseRows(ad: AnnData, name: string, blockRows: number): Promise<number[][]> {
  const m = await ad.matrix(name);
  const out: number[][] = [];
  for (let s = 0; s < m.shape[0]; s += blockRows) {
    const b = await m.rows(s, Math.min(m.shape[0], s + blockRows));
    for (let r = 0; r < b.nRows; r++) {
      const row = new Array<number>(b.nCols).fill(0);
      for (let k = b.indptr[r]; k < b.indptr[r + 1]; k++) row[b.indices[k]] = b.data[k];
      out.push(row);
    }
  }
  return out;
}

function close(a: number, b: number | null): boolean {
  if (b === null) return Number.isNaN(a);
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
}

test('the fixture set covers what the reader must support', () => {
  const notes = readable.map(([, f]) => f);
  assert.ok(notes.some((f) => f.zarr_format === 3 && f.sharded));
  assert.ok(notes.some((f) => f.zarr_format === 3 && f.consolidated));
  assert.ok(notes.some((f) => f.legacy && f.format === 'h5ad'));
  assert.ok(notes.some((f) => f.x_encoding === 'csc'));
  assert.ok(notes.some((f) => f.x_encoding === 'dense'));
  assert.ok(readable.length >= 20, `only ${readable.length} readable fixtures`);
});

for (const [name, note] of readable) {
  test(`fixture ${name}: reads as python anndata does`, async () => {
    const ad = await openAnnDataFile(join(dir, name));
    try {
      assert.equal(ad.format, note.format);
      if (note.format === 'zarr') assert.equal(ad.zarrFormat, note.zarr_format);
      assert.equal(ad.nObs, expected.n_obs);
      assert.equal(ad.nVars, expected.n_vars);
      assert.deepEqual(await ad.obsNames(), expected.obs_names);
      assert.deepEqual(await ad.varNames(), expected.var_names);

      const wantCols = (expected.obs_column_order as string[]).filter(
        (c) => !note.missing_obs_columns.includes(c),
      );
      assert.deepEqual(await ad.obsColumnNames(), wantCols);
      for (const col of wantCols) {
        const want = expected.obs[col];
        const got = await ad.obsColumn(col);
        const info = await ad.obsColumnInfo(col);
        if (want.kind === 'categorical') {
          assert.equal(got.kind, 'categorical', col);
          assert.equal(info.nCategories, want.categories.length, col);
          if (got.kind !== 'categorical') continue;
          assert.deepEqual(Array.from(got.codes), want.codes, col);
          assert.deepEqual(got.categories, want.categories, col);
          assert.equal(got.ordered, want.ordered, col);
        } else if (want.kind === 'numeric' || want.kind === 'nullable-integer') {
          assert.equal(got.kind, 'numeric', col);
          if (got.kind !== 'numeric') continue;
          (want.values as (number | null)[]).forEach((v, i) => {
            if (v === null && got.mask)
              assert.equal(got.mask[i], 1, `${col}[${i}] should be masked`);
            else assert.ok(close(got.values[i], v), `${col}[${i}]: ${got.values[i]} vs ${v}`);
          });
        } else if (want.kind === 'bool' || want.kind === 'nullable-boolean') {
          assert.equal(got.kind, 'bool', col);
          if (got.kind !== 'bool') continue;
          (want.values as (boolean | null)[]).forEach((v, i) => {
            if (v === null) assert.equal(got.mask?.[i], 1, `${col}[${i}] should be masked`);
            else assert.equal(got.values[i], v ? 1 : 0, `${col}[${i}]`);
          });
        } else {
          assert.equal(got.kind, 'string', col);
          if (got.kind === 'string') assert.deepEqual(got.values, want.values, col);
        }
      }

      assert.deepEqual((await ad.obsmKeys()).sort(), Object.keys(expected.obsm).sort());
      const umap = await ad.obsm('X_umap');
      assert.deepEqual(Array.from(umap.data), (expected.obsm.X_umap.values as number[][]).flat());
      const pcaCol3 = await ad.obsm('X_pca', [3]);
      assert.deepEqual(
        Array.from(pcaCol3.data),
        (expected.obsm.X_pca.values as number[][]).map((r) => r[3]),
      );

      const m = await ad.matrix('X');
      assert.equal(m.encoding, note.x_encoding);
      if (note.x_encoding !== 'dense') assert.equal(m.nnz, expected.X.nnz);
      for (const block of [1, 7, 16, 60]) {
        assert.deepEqual(
          await denseRows(ad, 'X', block),
          expected.X.dense,
          `X in blocks of ${block}`,
        );
      }
      assert.deepEqual(await ad.layerNames(), Object.keys(expected.layers));
      assert.deepEqual(await denseRows(ad, 'layers/counts', 13), expected.layers.counts.dense);
      assert.equal(await ad.hasRaw(), true);
      assert.deepEqual(await denseRows(ad, 'raw/X', 11), expected.raw.X_dense);
      if (note.x_encoding === 'csc') assert.match(ad.warnings.join('\n'), /CSC/);

      if (!note.legacy) {
        assert.deepEqual((await ad.unsKeys()).sort(), Object.keys(expected.uns).sort());
        for (const [key, value] of Object.entries(expected.uns)) {
          assert.deepEqual(await ad.uns(key), value, `uns/${key}`);
        }
      }
    } finally {
      await ad.close();
    }
  });
}

// The real PBMC pairs in ../shared/data: .zarr and .h5ad copies must read identically, and match
// what python anndata reports for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnData } from '../../core/src/anndata/types.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { sharedFile } from '../helpers/paths.js';

async function withBoth(pair: string, name: string, fn: (z: AnnData, h: AnnData) => Promise<void>) {
  const z = await openAnnDataFile(sharedFile(pair, `${name}.zarr`));
  const h = await openAnnDataFile(sharedFile(pair, `${name}.h5ad`));
  try {
    await fn(z, h);
  } finally {
    await z.close();
    await h.close();
  }
}

async function sumAndNnz(ad: AnnData, blockRows: number): Promise<{ sum: number; nnz: number }> {
  const m = await ad.matrix('X');
  let sum = 0;
  let nnz = 0;
  for (let s = 0; s < ad.nObs; s += blockRows) {
    const b = await m.rows(s, Math.min(ad.nObs, s + blockRows));
    nnz += b.data.length;
    for (const v of b.data) sum += v;
  }
  return { sum, nnz };
}

test('kang_ifnb target: shape, labels and embedding as python anndata reads them', async () => {
  await withBoth('kang_ifnb', 'target', async (z, h) => {
    for (const ad of [z, h]) {
      assert.equal(ad.nObs, 1039);
      assert.equal(ad.nVars, 6998);
      const names = await ad.obsNames();
      assert.deepEqual(names.slice(0, 2), [
        'ACCGAAACATTGGC-1-stimulated',
        'TAGTCTTGAGCACT-1-stimulated',
      ]);
      assert.deepEqual((await ad.varNames()).slice(0, 3), [
        'AL627309.1',
        'RP11-206L10.9',
        'LINC00115',
      ]);
      assert.deepEqual(await ad.obsColumnNames(), [
        'condition',
        'cell_type_src',
        'n_counts_allgenes',
        'n_genes',
        'cell_type',
        'domain',
      ]);
      const ct = await ad.obsColumn('cell_type');
      assert.equal(ct.kind, 'categorical');
      if (ct.kind !== 'categorical') return;
      assert.deepEqual(ct.categories, [
        'B',
        'CD14+Mono',
        'CD4T',
        'CD8T',
        'Dendritic',
        'FCGR3A+Mono',
        'NK',
      ]);
      const counts = new Map<string, number>();
      for (const c of ct.codes)
        counts.set(ct.categories[c], (counts.get(ct.categories[c]) ?? 0) + 1);
      assert.equal(counts.get('CD4T'), 356);
      assert.equal(counts.get('FCGR3A+Mono'), 289);
      assert.deepEqual(await ad.obsmKeys(), ['X_umap']);
      const umap = await ad.obsm('X_umap', [0, 1]);
      assert.deepEqual(umap.shape, [1039, 2]);
      assert.ok(Math.abs(umap.data[0] - -9.287672996520996) < 1e-6);
      assert.ok(Math.abs(umap.data[1] - 1.2135570049285889) < 1e-6);
      const m = await ad.matrix('X');
      assert.equal(m.encoding, 'csr');
      assert.equal(m.nnz, 336046);
    }
    assert.deepEqual(await z.obsColumn('n_genes'), await h.obsColumn('n_genes'));
  });
});

test('the .zarr and .h5ad copies give identical X row blocks, whatever the block size', async () => {
  await withBoth('kang_ifnb', 'reference', async (z, h) => {
    const mz = await z.matrix('X');
    const mh = await h.matrix('X');
    for (const [s, e] of [
      [0, 1],
      [0, 100],
      [417, 936],
      [935, 936],
      [10, 10],
    ]) {
      assert.deepEqual(await mz.rows(s, e), await mh.rows(s, e), `rows ${s}-${e}`);
    }
    for (const ad of [z, h]) {
      const small = await sumAndNnz(ad, 97);
      assert.equal(small.nnz, 307403);
      assert.equal(small.sum, 990450);
      assert.deepEqual(await sumAndNnz(ad, 1000), small);
    }
  });
});

test('tiny: both formats agree on every obs column and the t-SNE', async () => {
  for (const name of ['reference', 'target']) {
    await withBoth('tiny', name, async (z, h) => {
      assert.deepEqual(await z.obsNames(), await h.obsNames());
      assert.deepEqual(await z.varNames(), await h.varNames());
      for (const col of await z.obsColumnNames()) {
        assert.deepEqual(await z.obsColumn(col), await h.obsColumn(col), col);
      }
      assert.deepEqual(await z.obsm('X_tsne'), await h.obsm('X_tsne'));
      assert.deepEqual(
        await (await z.matrix()).rows(0, 200),
        await (await h.matrix()).rows(0, 200),
      );
    });
  }
});

// The dot plot's numbers on real data: the demo query's genes as the viewer reads them (the
// server's gene-major cache, log1p(CPM)), grouped by its cell_type with core's groupExpression,
// equal the fraction expressing and the mean log1p(CPM) that scanpy-style numpy computes from X
// (python anndata); then the edge cases (cells with no group, an empty group) and the columns.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { openAnnDataFile } from '@scnym/core/node';
import { dotPlotGenes, groupExpression, groupSizes } from '@scnym/core/scores';
import { GeneMajorCache } from '../../plugin/src/server/gene-cache.js';
import { PYTHON, REPO } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const QUERY = join(REPO, 'core', 'demo', 'target.zarr');
const GENES = ['CD14', 'LYZ', 'MS4A1', 'NKG7', 'GNLY', 'FCGR3A', 'CD3E', 'PPBP'];

/** Per cell_type category and gene: [fraction of cells with X > 0, mean log1p(CPM)], by numpy. */
function expected(): { categories: string[]; fraction: number[][]; mean: number[][] } {
  const script = [
    'import sys, json, anndata, numpy as np',
    'a = anndata.read_zarr(sys.argv[1])',
    'genes = json.loads(sys.argv[2])',
    'X = a.X.toarray().astype(np.float64)',
    'lib = X.sum(axis=1, keepdims=True)',
    'L = np.log1p(np.divide(X, lib, out=np.zeros_like(X), where=lib > 0) * 1e6)',
    'ct = a.obs["cell_type"]',
    'cats = list(ct.cat.categories)',
    'cols = [list(a.var_names).index(g) for g in genes]',
    'frac = [[float((X[(ct == c).values][:, j] > 0).mean()) for j in cols] for c in cats]',
    'mean = [[float(L[(ct == c).values][:, j].mean()) for j in cols] for c in cats]',
    'print(json.dumps({"categories": cats, "fraction": frac, "mean": mean}))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, QUERY, JSON.stringify(GENES)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ReturnType<typeof expected>;
}

test('dot plot numbers: the gene cache grouped by cell_type equal numpy on X', async () => {
  const want = expected();
  const ad = await openAnnDataFile(QUERY);
  const labels = await ad.obsColumn('cell_type');
  await ad.close();
  assert.equal(labels.kind, 'categorical');
  if (labels.kind !== 'categorical') return;
  assert.deepEqual(labels.categories, want.categories);
  const nGroups = labels.categories.length;
  const sizes = groupSizes(labels.codes, nGroups);
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    1039,
  );
  const cache = await GeneMajorCache.open(QUERY, { root: join(tempDir(), 'cache') });
  try {
    for (const [j, gene] of GENES.entries()) {
      const index = cache.names.var_names.indexOf(gene);
      assert.ok(index >= 0, gene);
      const values = await cache.gene(index, 'log1p');
      const got = groupExpression(values, labels.codes, nGroups, sizes);
      for (let g = 0; g < nGroups; g++) {
        const what = `${gene} in ${want.categories[g]}`;
        // The fraction is a count over a count: exact.
        assert.equal(got.fraction[g], want.fraction[g][j], `${what}: fraction`);
        // The cache holds float32 log1p(CPM): a relative 1e-6.
        const m = want.mean[g][j];
        assert.ok(
          Math.abs(got.mean[g] - m) <= 1e-5 * Math.max(1, m),
          `${what}: ${got.mean[g]} ${m}`,
        );
      }
    }
    // Real markers look like markers: CD14 is in most CD14+ monocytes and few T cells.
    const cd14 = groupExpression(
      await cache.gene(cache.names.var_names.indexOf('CD14'), 'log1p'),
      labels.codes,
      nGroups,
    );
    const at = (name: string) => want.categories.indexOf(name);
    assert.ok(cd14.fraction[at('CD14+Mono')] > 0.5 && cd14.fraction[at('CD4T')] < 0.1);
    assert.ok(cd14.mean[at('CD14+Mono')] > 3 * cd14.mean[at('CD4T')]);
  } finally {
    await cache.close();
  }
});

test('dot plot numbers: cells with no group, an empty group, NaN; the columns', () => {
  const codes = Int32Array.from([0, 0, 0, 1, -1, 5, 1]);
  const values = Float32Array.from([0, 2, 4, 0, 9, 9, NaN]);
  const got = groupExpression(values, codes, 3);
  assert.deepEqual(Array.from(got.fraction), [2 / 3, 0, NaN]);
  assert.deepEqual(Array.from(got.mean), [2, 0, NaN]);
  assert.deepEqual(Array.from(groupSizes(codes, 3)), [3, 2, 0]);
  assert.throws(() => groupExpression(values.subarray(1), codes, 3), /6 values for 7 cells/);
  const markers = [{ genes: ['A', 'B', 'C'] }, { genes: ['B', 'D', 'E'] }, { genes: [] }];
  assert.deepEqual(dotPlotGenes(markers, 2), ['A', 'B', 'D', 'E']);
  assert.deepEqual(dotPlotGenes(markers, 1), ['A', 'B']);
  assert.deepEqual(dotPlotGenes([{ genes: ['A', 'B'] }, { genes: ['A', 'C'] }], 1), ['A', 'C']);
});

// The viewer's gene-major cache on real files (the demo query, written by anndata; the Kang
// target as .h5ad): each gene's values equal X's column, stored and as log1p(CPM) computed here
// from the counts; the cache lives outside the dataset, which is left exactly as it was; it is
// reused while the file is unchanged and built again (the old entry removed) once X changes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { openAnnDataFile, writeAnnotationsToFile } from '@scnym/core/node';
import { GeneMajorCache, quickFingerprint } from '../../plugin/src/server/gene-cache.js';
import { GeneService } from '../../plugin/src/server/gene-service.js';
import { PYTHON, REPO, sharedFile } from '../helpers/paths.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

/** X as dense columns for some genes, and each cell's total count. */
async function columnsOfX(path: string, genes: number[]) {
  const ad = await openAnnDataFile(path);
  try {
    const x = await ad.matrix('X');
    const [nObs] = x.shape;
    const m = await x.rows(0, nObs);
    const cols = genes.map(() => new Float32Array(nObs));
    const totals = new Float64Array(nObs);
    const where = new Map(genes.map((g, i) => [g, i]));
    for (let r = 0; r < nObs; r++) {
      for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
        totals[r] += m.data[k];
        const i = where.get(m.indices[k]);
        if (i !== undefined) cols[i][r] = m.data[k];
      }
    }
    return { cols, totals, names: await ad.varNames() };
  } finally {
    await ad.close();
  }
}

async function checkGenes(path: string, cache: GeneMajorCache, genes: number[]) {
  const x = await columnsOfX(path, genes);
  assert.deepEqual(cache.names.var_names, x.names);
  for (const [i, g] of genes.entries()) {
    const raw = await cache.gene(g, 'raw');
    assert.deepEqual(raw, x.cols[i], `gene ${g} (${x.names[g]}): stored values`);
    const log = await cache.gene(g, 'log1p');
    for (let r = 0; r < raw.length; r++) {
      const want = x.totals[r] > 0 ? Math.log1p((raw[r] / x.totals[r]) * 1e6) : 0;
      assert.ok(Math.abs(log[r] - want) <= 1e-5 * Math.max(1, want), `gene ${g}, cell ${r}`);
    }
  }
}

test('gene-major cache: values equal X, outside the dataset, rebuilt when X changes', async () => {
  const query = tempCopy(join(REPO, 'core', 'demo', 'target.zarr'));
  const root = join(tempDir(), 'cache');
  const before = treeDigest(query);
  const progress: number[] = [];
  // Small segments: the demo's 1,039 cells make several, as a large file does.
  const options = { root, segmentNnz: 50_000, onProgress: (done: number) => progress.push(done) };
  const cache = await GeneMajorCache.open(query, options);
  try {
    assert.equal(cache.built, true);
    assert.equal(cache.matrix, 'X');
    assert.equal(cache.nObs, 1039);
    assert.ok(!relative(query, cache.dir).match(/^[^.]/), 'the cache is not inside the dataset');
    assert.equal(progress.at(-1), 1039);
    const genes = [0, 1, 2, 1000, 3456, 6997];
    const names = cache.names.var_names;
    genes.push(names.indexOf('CD14'), names.indexOf('MS4A1'), names.indexOf('LYZ'));
    assert.ok(genes.every((g) => g >= 0));
    await checkGenes(query, cache, genes);
  } finally {
    await cache.close();
  }
  assert.deepEqual(treeDigest(query), before, 'nothing in the dataset was written');

  const again = await GeneMajorCache.open(query, options);
  const firstDir = again.dir;
  await again.close();
  assert.equal(again.built, false, 'an unchanged file reuses its cache');

  // X changes (every count doubled, written by anndata): a new entry, the old one removed.
  const r = spawnSync(
    PYTHON,
    [
      '-c',
      'import anndata,sys; a=anndata.read_zarr(sys.argv[1]); a.X=a.X*2; a.write_zarr(sys.argv[1])',
      query,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const changed = await GeneMajorCache.open(query, options);
  try {
    assert.equal(changed.built, true, 'a changed file is built again');
    assert.notEqual(changed.dir, firstDir);
    assert.deepEqual(readdirSync(root), [relative(root, changed.dir)]);
    await checkGenes(query, changed, [0, 3456, 6997]);
  } finally {
    await changed.close();
  }
});

test('gene-major cache of an .h5ad file', async () => {
  const target = sharedFile('kang_ifnb', 'target.h5ad');
  const before = treeDigest(target);
  const cache = await GeneMajorCache.open(target, { root: join(tempDir(), 'cache') });
  try {
    const n = cache.names.var_names.length;
    await checkGenes(target, cache, [0, Math.floor(n / 2), n - 1]);
  } finally {
    await cache.close();
  }
  assert.deepEqual(treeDigest(target), before);
});

test("the server's gene service: a cheap check per request, a changed X noticed, our Save not", async () => {
  const query = tempCopy(join(REPO, 'core', 'demo', 'target.zarr'));
  const root = join(tempDir(), 'cache');
  const service = new GeneService(query, () => Promise.resolve(), root);
  try {
    const ad = await openAnnDataFile(query);
    const x = await (await ad.matrix('X')).rows(0, 1);
    await ad.close();
    // cell 0's first stored gene, to see a writer's change in
    const [g, value] = [x.indices[0], x.data[0]];
    assert.equal((await service.gene(g, 'raw'))[0], value);
    const quick = await quickFingerprint(query);
    assert.equal(await quickFingerprint(query), quick, 'the cheap check is stable');
    const entries = readdirSync(root);

    // our own Save (predictions into obs, obsm, uns): the cheap check changes, X did not
    const n = 1039;
    await writeAnnotationsToFile(query, {
      obs: {
        scNym: { kind: 'categorical', codes: new Int32Array(n), categories: ['B'] },
        scNym_confidence: { kind: 'float', values: new Float32Array(n).fill(0.9) },
      },
    });
    assert.notEqual(await quickFingerprint(query), quick);
    assert.equal((await service.gene(g, 'raw'))[0], value);
    assert.deepEqual(readdirSync(root), entries, 'the cache was kept');

    // another writer changes one chunk of X (zarr replaces the chunk file): seen, rebuilt
    const r = spawnSync(
      PYTHON,
      ['-c', 'import zarr,sys; z=zarr.open(sys.argv[1]+"/X/data"); z[0:1]=z[0:1]*3', query],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await service.gene(g, 'raw'))[0], value * 3, 'the changed X is read');
    assert.notDeepEqual(readdirSync(root), entries);
    const rebuilt = await GeneMajorCache.open(query, { root });
    await checkGenes(query, rebuilt, [g]).finally(() => rebuilt.close());
  } finally {
    await service.close();
  }
});

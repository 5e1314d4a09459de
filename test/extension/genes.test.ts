// Colour by gene in the VS Code viewer: the viewer's worker (extension/dist/worker.mjs) answers
// the gene names and one gene's values of the demo (.zarr) and a real .h5ad, equal to what real
// anndata computes (the stored values, and log1p of counts per million: core's normalisation);
// a matrix larger than the bound is refused with a pointer to `scnym view`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { GeneRequest, GeneResponse } from '../../extension/src/messages.js';
import { GeneReader } from '../../extension/src/worker/genes.js';
import { WorkerClient } from '../../extension/src/worker-client.js';
import { PYTHON, REPO, sharedFile } from '../helpers/paths.js';

const WORKER = join(REPO, 'extension', 'dist', 'worker.mjs');
const ZARR = join(REPO, 'core', 'demo', 'target.zarr');
const H5AD = sharedFile('tiny', 'target.h5ad');
const hasPython = existsSync(PYTHON) || process.env.CI;

/** A gene's stored values and log1p(CPM) in every cell, as anndata and numpy compute them. */
function anndataGene(path: string, gene: string): { raw: number[]; log: number[] } {
  const script = [
    'import sys, json, anndata, numpy as np',
    'path, gene = sys.argv[1], sys.argv[2]',
    "a = anndata.read_zarr(path) if path.endswith('.zarr') else anndata.read_h5ad(path)",
    'g = list(a.var_names).index(gene)',
    'X = a.X',
    'total = np.asarray(X.sum(axis=1)).ravel().astype(np.float64)',
    'col = np.asarray(X[:, g].todense()).ravel().astype(np.float64)',
    "print(json.dumps({'raw': col.tolist(), 'log': np.log1p(col / total * 1e6).tolist()}))",
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, path, gene], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function close(actual: Float32Array, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = 1e-5 + 1e-5 * Math.abs(expected[i]);
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tolerance,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

const client = new WorkerClient(WORKER);
after(() => client.dispose());

/** One gene request through the worker, as the viewer panel sends it. */
let id = 0;
type Ask = { type: 'status' } | Omit<Extract<GeneRequest, { type: 'values' }>, 'id'>;
function ask(path: string, request: Ask): Promise<GeneResponse> {
  const mine = ++id;
  return new Promise((answer) => {
    client.onGene((r) => {
      if (r.id === mine) answer(r);
    });
    client.postGene(path, { ...request, id: mine } as GeneRequest);
  });
}

test(
  'the viewer worker: gene names and a gene’s values of the demo, as anndata computes them',
  { skip: hasPython ? false : `needs ${PYTHON} with anndata` },
  async () => {
    assert.ok(existsSync(WORKER), `${WORKER} is missing: run npm run build first`);
    const status = await ask(ZARR, { type: 'status' });
    assert.ok('status' in status, JSON.stringify(status));
    if (!('status' in status)) return;
    assert.equal(status.status.state, 'ready');
    assert.equal(status.status.matrix, 'X');
    const names = status.status.names!.var_names;
    assert.equal(names.length, 6998);
    const index = names.indexOf('CD79A');
    assert.ok(index >= 0);
    const expected = anndataGene(ZARR, 'CD79A');
    assert.ok(
      expected.raw.some((v) => v > 0),
      'CD79A is expressed somewhere',
    );
    for (const kind of ['log1p', 'raw'] as const) {
      const r = await ask(ZARR, { type: 'values', index, kind });
      assert.ok('values' in r, JSON.stringify(r));
      if ('values' in r) close(r.values, kind === 'raw' ? expected.raw : expected.log, kind);
    }
    const bad = await ask(ZARR, { type: 'values', index: names.length, kind: 'raw' });
    assert.ok('error' in bad && /no gene 6998/.test(bad.error), JSON.stringify(bad));
  },
);

test(
  'GeneReader on a real .h5ad; a matrix over the bound is refused, naming scnym view',
  { skip: hasPython ? false : `needs ${PYTHON} with anndata` },
  async () => {
    const reader = new GeneReader(H5AD);
    try {
      const status = await reader.status();
      assert.equal(status.state, 'ready');
      const names = status.names!.var_names;
      const gene = names[7];
      close(await reader.values(7, 'log1p'), anndataGene(H5AD, gene).log, gene);
    } finally {
      await reader.close();
    }
    const bounded = new GeneReader(H5AD, 1000);
    try {
      const status = await bounded.status();
      assert.equal(status.state, 'failed');
      assert.match(status.error!, /X holds [\d,]+ values .*at most 1,000.*scnym view/);
      await assert.rejects(bounded.values(0, 'raw'), /scnym view/);
    } finally {
      await bounded.close();
    }
  },
);

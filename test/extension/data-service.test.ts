// The viewer's reads in the VS Code extension: answerData (extension/src/worker/data.ts, the
// plugin's DataService over core's Node reader) on the demo's .zarr and the shared .h5ad copy
// of the same cells, the transfer lists, and failures answered as {type: 'error'} responses.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { AnnData } from '@scnym/core';
import type { DataRequest, DataResponse, DatasetLocation } from '@scnym/plugin/data-messages';
import { DataService } from '@scnym/plugin/data-service';
import { answerData, closeData } from '../../extension/src/worker/data.js';
import { makeGeneFixtures } from '../helpers/gene-fixtures.js';
import { REPO, sharedFile } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

type Answer = Awaited<ReturnType<typeof answerData>>;

const ZARR: DatasetLocation = {
  url: join(REPO, 'core', 'demo', 'target.zarr'),
  format: 'zarr',
  name: 'target.zarr',
};
const H5AD: DatasetLocation = {
  url: sharedFile('kang_ifnb', 'target.h5ad'),
  format: 'h5ad',
  name: 'target.h5ad',
};
const CELL_TYPES = ['B', 'CD14+Mono', 'CD4T', 'CD8T', 'Dendritic', 'FCGR3A+Mono', 'NK'];

/** Distributes `Omit` over the union, so each request keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

let nextId = 1;
/** A request with a fresh id; the answer must carry the same id. */
async function ask(req: WithoutId<DataRequest>): Promise<Answer> {
  const id = nextId++;
  const answer = await answerData({ ...req, id } as DataRequest);
  assert.equal(answer.response.id, id);
  return answer;
}

function expect<T extends DataResponse['type']>(
  answer: Answer,
  type: T,
): Extract<DataResponse, { type: T }> {
  const r = answer.response;
  assert.equal(r.type, type, r.type === 'error' ? r.message : undefined);
  return r as Extract<DataResponse, { type: T }>;
}

/** Posts the answer through a real MessageChannel with its transfer list, as the worker does. */
function throughChannel(answer: Answer): Promise<DataResponse> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((ok) => {
    port2.once('message', (m: DataResponse) => {
      port1.close();
      ok(m);
    });
    port1.postMessage(answer.response, answer.transfer);
  });
}

interface Read {
  codes: Int32Array;
  umap: Float32Array;
  names: string[];
}

async function readDemo(where: DatasetLocation): Promise<Read> {
  const opened = expect(await ask({ type: 'open', dataset: where }), 'opened');
  assert.equal(opened.summary.nObs, 1039);
  assert.equal(opened.summary.nVars, 6998);
  assert.deepEqual(
    opened.summary.columns.find((c) => c.name === 'cell_type'),
    { name: 'cell_type', kind: 'categorical', dtype: 'string', nCategories: 7 },
  );
  assert.deepEqual(opened.summary.obsm, [{ key: 'X_umap', shape: [1039, 2] }]);

  const colAnswer = await ask({ type: 'obsColumn', name: 'cell_type' });
  const column = expect(colAnswer, 'obsColumn').column;
  assert.equal(column.kind, 'categorical');
  if (column.kind !== 'categorical') throw new Error('unreachable');
  assert.deepEqual(column.categories, CELL_TYPES);
  assert.equal(column.codes.length, 1039);
  assert.deepEqual(colAnswer.transfer, [column.codes.buffer]);
  const codes = Int32Array.from(column.codes);
  // Transferred, not copied: the worker's copy is detached and the receiver gets typed arrays.
  const received = await throughChannel(colAnswer);
  assert.equal(column.codes.buffer.byteLength, 0);
  assert.ok(received.type === 'obsColumn' && received.column.kind === 'categorical');
  assert.deepEqual(received.column.codes, codes);

  const numeric = expect(await ask({ type: 'obsColumn', name: 'n_counts_allgenes' }), 'obsColumn');
  assert.equal(numeric.column.kind, 'numeric');

  const mAnswer = await ask({ type: 'obsm', key: 'X_umap', columns: [0, 1] });
  const m = expect(mAnswer, 'obsm');
  assert.deepEqual(m.shape, [1039, 2]);
  assert.ok(m.data instanceof Float32Array);
  assert.equal(m.data.length, 2078);
  assert.ok(m.data.every(Number.isFinite));
  assert.deepEqual(mAnswer.transfer, [m.data.buffer]);
  const umap = Float32Array.from(m.data);

  const names = expect(await ask({ type: 'obsNames' }), 'obsNames').names;
  assert.equal(names.length, 1039);
  assert.equal(names[0], 'ACCGAAACATTGGC-1-stimulated');
  return { codes, umap, names };
}

test('answerData: the demo .zarr and the same cells as .h5ad read identically', async () => {
  const zarr = await readDemo(ZARR);
  // Opening another dataset replaces the first (one open dataset per worker).
  const h5ad = await readDemo(H5AD);
  assert.deepEqual(h5ad.codes, zarr.codes);
  assert.deepEqual(h5ad.names, zarr.names);
  for (let i = 0; i < zarr.umap.length; i++) {
    assert.ok(Math.abs(h5ad.umap[i] - zarr.umap[i]) < 1e-5, `X_umap[${i}]`);
  }
  await closeData();
});

test('answerData: failures come back as error responses, never as throws', async () => {
  const missing = expect(
    await ask({ type: 'open', dataset: { ...H5AD, url: join(tempDir(), 'nothing.h5ad') } }),
    'error',
  );
  assert.match(missing.message, /no such file/);
  assert.ok(missing.hint, 'core hint passed on');
  // Nothing is open after a failed open.
  assert.match(
    expect(await ask({ type: 'obsColumn', name: 'cell_type' }), 'error').message,
    /no dataset is open/,
  );

  expect(await ask({ type: 'open', dataset: ZARR }), 'opened');
  const noColumn = expect(await ask({ type: 'obsColumn', name: 'no_such_column' }), 'error');
  assert.match(noColumn.message, /no_such_column/);
  const noObsm = expect(await ask({ type: 'obsm', key: 'X_pca', columns: [0, 1] }), 'error');
  assert.match(noObsm.message, /X_pca/);
  assert.deepEqual((await ask({ type: 'obsColumn', name: 'nope' })).transfer, []);
  // The dataset stays usable after errors.
  expect(await ask({ type: 'obsNames' }), 'obsNames');
  await closeData();
  assert.match(expect(await ask({ type: 'obsNames' }), 'error').message, /no dataset is open/);
});

test('DataService: reads wait for an open in progress; open closes the previous dataset', async () => {
  const closed: string[] = [];
  const fake = (name: string): AnnData =>
    ({
      nObs: 2,
      nVars: 3,
      obsColumnNames: async () => ['c'],
      obsColumnInfo: async (n: string) => ({ name: n, kind: 'numeric', dtype: 'float64' }),
      obsColumn: async () => ({
        kind: 'numeric',
        dtype: 'float64',
        values: Float64Array.of(1, 2),
      }),
      obsmKeys: async () => [],
      obsNames: async () => [`${name}-a`, `${name}-b`],
      close: async () => void closed.push(name),
    }) as unknown as AnnData;
  let release!: () => void;
  const gate = new Promise<void>((ok) => (release = ok));
  const service = new DataService(async (where) => {
    if (where.name === 'slow') await gate;
    return fake(where.name);
  });
  const location = (name: string): DatasetLocation => ({ url: name, format: 'zarr', name });

  const early = await service.answer({ type: 'obsNames', id: 1 });
  assert.deepEqual(early.response, { type: 'error', id: 1, message: 'no dataset is open' });

  assert.equal(
    (await service.answer({ type: 'open', id: 2, dataset: location('a') })).response.type,
    'opened',
  );
  const opening = service.answer({ type: 'open', id: 3, dataset: location('slow') });
  const names = service.answer({ type: 'obsNames', id: 4 });
  release();
  assert.equal((await opening).response.type, 'opened');
  assert.deepEqual((await names).response, {
    type: 'obsNames',
    id: 4,
    names: ['slow-a', 'slow-b'],
  });
  assert.deepEqual(closed, ['a']);
  await service.close();
  assert.deepEqual(closed, ['a', 'slow']);

  const unknown = await service.answer({ type: 'bogus', id: 5 } as unknown as DataRequest);
  assert.equal(unknown.response.type, 'error');
});

test('open lists the var columns that can name genes (for the Gene names choice)', async () => {
  const genes = makeGeneFixtures(tempDir());
  const cxg = expect(
    await ask({
      type: 'open',
      dataset: { url: genes.cellxgeneQuery, format: 'zarr', name: 'cxg_query.zarr' },
    }),
    'opened',
  );
  assert.deepEqual(cxg.summary.varColumns, ['feature_name']);
  const demo = expect(await ask({ type: 'open', dataset: ZARR }), 'opened');
  assert.deepEqual(demo.summary.varColumns, []);
  await closeData();
});

// Hand labels of query cells (the viewer's "Retrain with my corrections") join the reference's
// labelled cells in prepareTraining: the query's own rows of log1p(CPM), their labels as codes
// into the reference's classes with a new name appended, the query's domain; bad rows refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takeRows } from '../../core/src/csr.js';
import { isScnymError, prepareTraining } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { sharedFile } from '../helpers/paths.js';

const NEW = 'NK (checked by hand)';

test('corrected query cells are trained on as labelled cells, after the reference', async () => {
  const reference = await openAnnDataFile(sharedFile('kang_ifnb', 'reference.h5ad'));
  const query = await openAnnDataFile(sharedFile('kang_ifnb', 'target.h5ad'));
  try {
    const options = { labelKey: 'cell_type', domainKey: 'condition' };
    const plain = await prepareTraining(reference, query, options);
    const rows = Int32Array.from([3, 10, 50, 1000]);
    const { data } = await prepareTraining(reference, query, {
      ...options,
      queryLabels: { rows, codes: Int32Array.from([0, 1, 1, 0]), names: ['CD4T', NEW] },
    });
    const nRef = plain.data.labeled.nRows;
    assert.equal(data.labeled.nRows, nRef + 4);
    assert.deepEqual(data.classNames, [...plain.data.classNames, NEW]);
    const cd4 = plain.data.classNames.indexOf('CD4T');
    const added = plain.data.classNames.length;
    assert.deepEqual([...data.labels.subarray(nRef)], [cd4, added, added, cd4]);
    assert.deepEqual(data.labels.subarray(0, nRef), plain.data.labels);
    // The rows are the query's, as training reads it; the reference's come first, unchanged.
    const tail = takeRows(data.labeled, [nRef, nRef + 1, nRef + 2, nRef + 3]);
    const want = takeRows(plain.data.unlabeled!, rows);
    assert.deepEqual(tail.indptr, want.indptr);
    assert.deepEqual(tail.indices, want.indices);
    assert.deepEqual(tail.data, want.data);
    const head = takeRows(
      data.labeled,
      Array.from({ length: nRef }, (_, i) => i),
    );
    assert.deepEqual(head.data, plain.data.labeled.data);
    // Their domain is their condition in the query.
    assert.deepEqual(
      [...data.labeledDomains!.subarray(nRef)],
      Array.from(rows, (r) => plain.data.unlabeledDomains![r]),
    );
    assert.equal(data.unlabeled!.nRows, query.nObs);

    // Without a domain column: reference cells domain 0, the query's (corrections too) 1.
    const noDomain = await prepareTraining(reference, query, {
      labelKey: 'cell_type',
      queryLabels: { rows, codes: Int32Array.from([0, 0, 0, 0]), names: ['B'] },
    });
    assert.deepEqual([...new Set(noDomain.data.labeledDomains!.subarray(0, nRef))], [0]);
    assert.deepEqual([...noDomain.data.labeledDomains!.subarray(nRef)], [1, 1, 1, 1]);

    // Rows out of order or out of range, or a code naming no label: one clear error each.
    for (const queryLabels of [
      { rows: Int32Array.from([10, 3]), codes: Int32Array.from([0, 0]), names: ['B'] },
      { rows: Int32Array.from([query.nObs]), codes: Int32Array.from([0]), names: ['B'] },
      { rows: Int32Array.from([1]), codes: Int32Array.from([1]), names: ['B'] },
    ]) {
      await assert.rejects(
        prepareTraining(reference, query, { labelKey: 'cell_type', queryLabels }),
        (err) => isScnymError(err) && /hand/.test((err as Error).message),
      );
    }
  } finally {
    await reference.close();
    await query.close();
  }
});

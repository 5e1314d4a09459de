// The save endpoint's wire format: base64 typed arrays round-trip exactly, and the decoder
// accepts only scNym's keys and well-formed columns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeSaveRequest, isScnymKey, SaveRejected } from '../../plugin/src/server/save.js';
import {
  fromBase64,
  fromWireArray,
  toBase64,
  wireArray,
} from '../../plugin/src/shared/save-format.js';

test('base64 round-trips any bytes and matches Node', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const text = toBase64(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64'));
      assert.deepEqual(fromBase64(text), bytes);
    }),
  );
  assert.throws(() => fromBase64('ab$d'), /invalid base64/);
});

test('typed arrays round-trip through the wire form', () => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true }), { maxLength: 100 }), (values) => {
      const f = Float32Array.from(values);
      assert.deepEqual(fromWireArray(wireArray(f)), f);
    }),
  );
  const i = Int32Array.from([-1, 0, 5, 2 ** 31 - 1]);
  assert.deepEqual(fromWireArray(wireArray(i)), i);
});

test('only scNym keys are writable', () => {
  for (const k of ['scNym', 'scNym_confidence', 'scNym_train_results', 'scNym_a_b'])
    assert.ok(isScnymKey('obs', k), k);
  assert.ok(isScnymKey('obsm', 'X_scnym'));
  for (const k of ['cell_type', 'X_umap', 'scnym', 'scNym_', 'scNym/../x', 'scNymX', '_scNym'])
    assert.equal(isScnymKey('obsm', k), false, k);
  assert.equal(isScnymKey('obs', 'X_scnym'), false);
});

test('the decoder builds core annotations and rejects malformed bodies', () => {
  const a = decodeSaveRequest({
    schema: 'scnym.save/1',
    obs: {
      scNym: {
        kind: 'categorical',
        codes: wireArray(Int32Array.from([0, 1, -1])),
        categories: ['A', 'B'],
      },
    },
    obsm: { X_scnym: { data: wireArray(new Float32Array(6)), shape: [3, 2] } },
    uns: { scNym_train_results: { tool: 'x', n: 3, nested: { list: [1, 2] } } },
  });
  const col = a.obs!.scNym;
  assert.equal(col.kind, 'categorical');
  if (col.kind === 'categorical') assert.deepEqual([...col.codes], [0, 1, -1]);
  assert.deepEqual(a.obsm!.X_scnym.shape, [3, 2]);
  const bad: unknown[] = [
    null,
    [],
    {
      schema: 'scnym.save/1',
      obs: { scNym: { kind: 'float', values: wireArray(new Int32Array(2)) } },
    },
    {
      schema: 'scnym.save/1',
      obs: {
        scNym: { kind: 'categorical', codes: wireArray(new Int32Array(1)), categories: ['A', 'A'] },
      },
    },
    {
      schema: 'scnym.save/1',
      obsm: { X_scnym: { data: wireArray(new Float32Array(5)), shape: [3, 2] } },
    },
    { schema: 'scnym.save/1', uns: { scNym_x: Number.NaN } },
    { schema: 'scnym.save/1', uns: { scNym_x: [1, 'a'] } },
    {
      schema: 'scnym.save/1',
      obs: { scNym: { kind: 'float', values: { dtype: 'float32', base64: '!!' } } },
    },
  ];
  for (const body of bad)
    assert.throws(() => decodeSaveRequest(body), SaveRejected, JSON.stringify(body));
});

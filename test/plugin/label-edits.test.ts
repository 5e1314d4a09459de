// The viewer's hand edits of labels: relabel and rename (a rename onto an existing name merges),
// undo and redo back to the exact codes, "unsaved" as the user means it (an undo back to the
// saved state is saved; a new edit after undoing past a save is not), and the labels Save
// writes without the categories no cell holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LabelEdits } from '../../plugin/src/panels/transfer-labels/label-edits.js';

const names = (e: LabelEdits) => Array.from(e.codes, (c) => e.categories[c]);

test('relabel, rename, merge; undo and redo restore each state exactly', () => {
  const e = new LabelEdits(Int32Array.from([0, 0, 1, 1, 2]), ['A', 'B', 'C']);
  const states = [names(e)];
  e.relabel([0, 4], 'New');
  states.push(names(e));
  assert.deepEqual(states[1], ['New', 'A', 'B', 'B', 'New']);
  assert.equal(e.edited, 2);
  e.rename(1, 'Bee');
  states.push(names(e));
  assert.deepEqual(states[2], ['New', 'A', 'Bee', 'Bee', 'New']);
  e.rename(0, 'Bee'); // onto an existing name: A's cell joins Bee
  states.push(names(e));
  assert.deepEqual(states[3], ['New', 'Bee', 'Bee', 'Bee', 'New']);
  assert.equal(e.edited, 3);
  for (let k = states.length - 2; k >= 0; k--) {
    assert.ok(e.undo());
    assert.deepEqual(names(e), states[k]);
  }
  assert.equal(e.undo(), false);
  for (let k = 1; k < states.length; k++) {
    assert.ok(e.redo());
    assert.deepEqual(names(e), states[k]);
  }
  assert.equal(e.redo(), false);
  // Save's labels: A and C have no cells left.
  assert.deepEqual(e.compact(), {
    codes: Int32Array.from([1, 0, 0, 0, 1]),
    categories: ['Bee', 'New'],
  });
});

test('unsaved: after edits, not after undoing back to the save, again after a new branch', () => {
  const e = new LabelEdits(Int32Array.from([0, 1]), ['A', 'B']);
  assert.equal(e.dirty, false);
  e.relabel([0], 'B');
  assert.equal(e.dirty, true);
  e.markSaved();
  assert.equal(e.dirty, false);
  e.undo();
  assert.equal(e.dirty, true);
  e.redo();
  assert.equal(e.dirty, false);
  e.undo();
  e.relabel([1], 'A'); // a new edit from before the save: the saved state is gone
  assert.equal(e.dirty, true);
  e.undo();
  assert.equal(e.dirty, true);
});

test('compact keeps the used categories in order and every cell its name', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 40 }), (codes) => {
      const cats = ['a', 'b', 'c', 'd', 'e', 'f'];
      const { codes: out, categories } = new LabelEdits(Int32Array.from(codes), cats).compact();
      assert.deepEqual(
        Array.from(out, (c) => (c < 0 ? null : categories[c])),
        codes.map((c) => (c < 0 ? null : cats[c])),
      );
      assert.deepEqual(
        categories,
        cats.filter((_, k) => codes.includes(k)),
      );
    }),
  );
});

test('corrections: the cells relabelled away from the prediction; renames apart', () => {
  const predicted = Int32Array.from([0, 0, 1, 1, 2]);
  const e = new LabelEdits(predicted, ['A', 'B', 'C']);
  e.relabel([1, 3], 'New');
  e.relabel([4], 'C'); // the prediction's own label: not a correction
  e.rename(0, 'Aa'); // a rename changes no code
  e.relabel([2], 'Aa');
  assert.deepEqual(e.corrections(), {
    rows: Int32Array.from([1, 2, 3]),
    codes: Int32Array.from([0, 1, 0]),
    names: ['New', 'Aa'],
  });
  assert.deepEqual(e.renamed(), [['A', 'Aa']]);
  assert.deepEqual(predicted, Int32Array.from([0, 0, 1, 1, 2]), 'the prediction is left alone');
});

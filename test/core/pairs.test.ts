// The extra reference → query pairs (test/fixtures/pairs): what build.py writes opens in core with
// the shape its index.json documents: the cells and classes per side, one gene list in one order
// on both sides, raw integer counts in X, and the label column as a categorical.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { openAnnDataFile } from '@scnym/core/node';
import { buildPairs, pairPaths, pairsMissing, type BuiltPairs } from '../helpers/pairs.js';
import { tempDir } from '../helpers/tmp.js';

const missing = pairsMissing();
const needsSources = { skip: missing ?? false };

let built: BuiltPairs;
before(() => {
  if (!missing) built = buildPairs(tempDir());
});

test(
  'the index lists at least four pairs, each with its shift, source and classes',
  needsSources,
  () => {
    assert.ok(built.pairs.length >= 4, `${built.pairs.length} pairs`);
    assert.equal(new Set(built.pairs.map((p) => p.name)).size, built.pairs.length);
    for (const p of built.pairs) {
      assert.ok(p.shift.length > 10 && p.source.startsWith('https://'), p.name);
      assert.equal(p.labelKey, 'cell_type');
      assert.ok(p.classes.length >= 3, p.name);
      assert.deepEqual(Object.keys(p.reference.classCounts).sort(), [...p.classes].sort(), p.name);
      for (const c of Object.keys(p.query.classCounts)) assert.ok(p.classes.includes(c), c);
    }
  },
);

test(
  'every pair opens in core with the documented cells, genes, labels and integer counts',
  needsSources,
  async () => {
    for (const p of built.pairs) {
      const files = pairPaths(built, p.name);
      const genes: string[][] = [];
      for (const [side, file] of [
        [p.reference, files.reference],
        [p.query, files.query],
      ] as const) {
        const ad = await openAnnDataFile(file);
        try {
          assert.equal(ad.nObs, side.cells, file);
          assert.equal(ad.nVars, p.genes, file);
          genes.push(await ad.varNames());
          const labels = await ad.obsColumn(p.labelKey);
          assert.equal(labels.kind, 'categorical', file);
          if (labels.kind !== 'categorical') continue;
          const perClass: Record<string, number> = {};
          for (const code of labels.codes) {
            assert.ok(code >= 0, `${file}: a cell without a label`);
            const name = labels.categories[code];
            perClass[name] = (perClass[name] ?? 0) + 1;
          }
          assert.deepEqual(perClass, side.classCounts, file);
          const x = await ad.matrix('X');
          let total = 0;
          for (let s = 0; s < ad.nObs; s += 128) {
            const block = await x.rows(s, Math.min(ad.nObs, s + 128));
            for (const v of block.data) {
              assert.ok(Number.isInteger(v) && v >= 0, `${file}: X holds ${v}, not a count`);
              total += v;
            }
          }
          assert.ok(total > 100 * ad.nObs, `${file}: ${total} counts in all`);
        } finally {
          await ad.close();
        }
      }
      assert.deepEqual(genes[1], genes[0], `${p.name}: the two sides' genes differ`);
    }
  },
);

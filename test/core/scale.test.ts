// Atlas scale, end to end through the real CLI: `scnym annotate` on a 100,000-cell reference and
// a 60,000-cell query (160,000 cells; real demo cells resampled and thinned by
// test/fixtures/generate_scale.py, control → IFN-β stimulated), one epoch, then `scnym predict`
// with the saved model. Any per-cell array spread into a function's arguments (`Math.max(...x)`,
// `push(...x)`) or recursed over overflows the stack well before 100k cells, which is how the
// first 100k-cell annotate died; this test is there so that it cannot come back unnoticed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runScnym } from '../helpers/cli.js';
import { checkLabels, differingLabels, scalePair } from '../helpers/scale-data.js';
import { tempDir } from '../helpers/tmp.js';

const REFERENCE_CELLS = 100_000;
const QUERY_CELLS = 60_000;

test(`annotate and predict on ${REFERENCE_CELLS + QUERY_CELLS} cells through the CLI`, async (t) => {
  // 2,000 genes (the demo's most-counted) keep the steps cheap; the cells are what matter here.
  const pair = scalePair({
    referenceCells: REFERENCE_CELLS,
    queryCells: QUERY_CELLS,
    genes: 2000,
  });
  const dir = tempDir();
  const annotated = join(dir, 'annotated.zarr');
  const modelDir = join(dir, 'model');
  const annotate = runScnym(
    [
      'annotate',
      ...['--reference', pair.reference, '--label-key', 'cell_type', '--query', pair.query],
      ...['--out', annotated, '--model-out', modelDir, '--epochs', '1', '--seed', '0'],
      ...['--json', '--quiet'],
    ],
    600_000,
  );
  assert.equal(annotate.status, 0, annotate.stderr);
  const summary = JSON.parse(annotate.stdout);
  assert.equal(summary.prediction.nCells, QUERY_CELLS);
  assert.ok(summary.training.steps > 0);

  const fromAnnotate = await checkLabels(annotated);
  assert.equal(fromAnnotate.nCells, QUERY_CELLS);
  assert.equal(fromAnnotate.labelled, QUERY_CELLS, 'every query cell gets a label');
  // Better than always answering the commonest type (CD4 T cells, ~35% of the query).
  assert.ok(
    fromAnnotate.accuracy > fromAnnotate.majority + 0.1,
    `accuracy ${fromAnnotate.accuracy} vs majority class ${fromAnnotate.majority}`,
  );

  // A fresh copy of the query, from the saved model: the same labels for every cell.
  const predicted = join(dir, 'predicted.zarr');
  const predict = runScnym(
    [
      'predict',
      '--model',
      modelDir,
      '--query',
      pair.query,
      '--out',
      predicted,
      '--json',
      '--quiet',
    ],
    600_000,
  );
  assert.equal(predict.status, 0, predict.stderr);
  assert.equal(JSON.parse(predict.stdout).nCells, QUERY_CELLS);
  const fromModel = await checkLabels(predicted);
  assert.equal(fromModel.labelled, QUERY_CELLS, 'every query cell gets a label');
  assert.equal(await differingLabels(predicted, annotated), 0);
  t.diagnostic(
    `${summary.training.steps} steps, accuracy ${fromAnnotate.accuracy.toFixed(3)} ` +
      `(majority class ${fromAnnotate.majority.toFixed(3)}); ` +
      `pair generated in ${pair.generatedSeconds.toFixed(1)} s (0: cached)`,
  );
});

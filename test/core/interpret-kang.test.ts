// Interpretation checked against biology on kang_ifnb (control → IFN-β stimulated PBMCs): one
// short supervised training through `scnym train` and `scnym predict`, then the three saliency methods must put known
// markers at the top (B: CD79A/CD79B/MS4A1, CD74 and HLA class II; CD14+ monocytes: CD14, LYZ,
// S100A8/9; NK: NKG7, GNLY). The same run checks the stored temperature, `scnym evaluate` on
// the annotated target and the saliency command's options and errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../core/src/backend.js';
import type { SaliencyMethod } from '../../core/src/interpret/gradients.js';
import { saliencyAnnData } from '../../core/src/interpret/saliency.js';
import type { LoadedModel } from '../../core/src/model/files.js';
import { loadModelDir } from '../../core/src/node/model-dir.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { sharedFile } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';
import { runScnym } from '../helpers/cli.js';

const EPOCHS = '40';
const REFERENCE = sharedFile('kang_ifnb', 'reference.h5ad');
const TARGET = sharedFile('kang_ifnb', 'target.h5ad');

const scnym = (...args: string[]) => runScnym(args, 600_000);

const dir = tempDir();
const modelDir = join(dir, 'model');
const annotated = join(dir, 'annotated.h5ad');
let trainText = '';
let model: LoadedModel;

before(async () => {
  // Supervised on the reference (no query: much faster than semi-supervised), then predict.
  const r = scnym(
    'train',
    '--reference',
    REFERENCE,
    '--label-key',
    'cell_type',
    '--model-out',
    modelDir,
    '--epochs',
    EPOCHS,
    '--seed',
    '0',
    '--quiet',
  );
  assert.equal(r.status, 0, r.stderr);
  trainText = r.stdout;
  const p = scnym('predict', '--model', modelDir, '--query', TARGET, '--out', annotated, '--quiet');
  assert.equal(p.status, 0, p.stderr);
  await initBackend('auto');
  model = await loadModelDir(modelDir);
});

const MARKERS: Record<string, { genes: string[]; atLeast: number; within: number }[]> = {
  B: [
    { genes: ['CD79A', 'CD79B', 'MS4A1'], atLeast: 2, within: 20 },
    {
      genes: ['CD74', 'HLA-DRA', 'HLA-DRB1', 'HLA-DPA1', 'HLA-DPB1', 'HLA-DQA1'],
      atLeast: 3,
      within: 20,
    },
  ],
  'CD14+Mono': [{ genes: ['CD14', 'LYZ', 'S100A8', 'S100A9'], atLeast: 2, within: 20 }],
  NK: [{ genes: ['NKG7', 'GNLY'], atLeast: 2, within: 10 }],
};

test('the three saliency methods rank known markers first (B, CD14+Mono, NK)', async (t) => {
  const data = await openAnnDataFile(TARGET);
  const reference = await openAnnDataFile(REFERENCE);
  const failures: string[] = [];
  try {
    for (const [className, expectations] of Object.entries(MARKERS)) {
      for (const method of ['gradient', 'integrated', 'expected'] as SaliencyMethod[]) {
        const result = await saliencyAnnData(
          model,
          data,
          { className, method, maxCells: 80, steps: 30, samples: 30, top: 20 },
          {},
          reference,
        );
        const top = result.top.map((g) => g.gene);
        t.diagnostic(`${className} ${method}: ${top.slice(0, 10).join(' ')}`);
        for (const e of expectations) {
          const found = e.genes.filter((g) => top.slice(0, e.within).includes(g));
          if (found.length < e.atLeast) {
            failures.push(
              `${className} ${method}: ${found.length} of ${e.genes.join('/')} in the top ${e.within}: ${top.join(' ')}`,
            );
          }
        }
        assert.ok(result.cells.nExplained > 10, `${className}: ${result.cells.nExplained} cells`);
      }
    }
  } finally {
    await data.close();
    await reference.close();
  }
  assert.deepEqual(failures, []);
});

test('the temperature is fitted on the selection split and stored in scnym.json', () => {
  const card = JSON.parse(readFileSync(join(modelDir, 'scnym.json'), 'utf8'));
  const c = card.training.calibration;
  assert.ok(c.nCells > 50, `selection cells ${c.nCells}`);
  assert.ok(c.fitted > 0 && Number.isFinite(c.eceBefore) && Number.isFinite(c.eceAfter));
  // Bounded to c.range; applied where that lowers ECE, never when the fit is below the range.
  assert.equal(c.applied, c.fitted >= c.range[0] && c.eceAfter < c.eceBefore);
  assert.equal(
    card.temperature,
    c.applied ? Math.min(c.range[1], Math.max(c.range[0], c.fitted)) : 1,
  );
  assert.match(
    trainText,
    /temperature \d\.\d{3}.*ECE \d\.\d{3} → \d\.\d{3} on \d+ selection cells/,
  );
  // Predictions carry the temperature they were made with.
  assert.equal(readBack(annotated).uns.scNym_train_results.temperature, card.temperature);
});

test('scnym evaluate on the annotated target agrees with the labels written', () => {
  const r = scnym('evaluate', '--data', annotated, '--truth-key', 'cell_type', '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const back = readBack(annotated);
  const pred: string[] = back.obs.scNym.values;
  const truth: string[] = back.obs.cell_type.values;
  const acc = pred.filter((p, i) => p === truth[i]).length / truth.length;
  assert.ok(Math.abs(report.accuracy - acc) < 1e-12);
  assert.ok(acc > 0.55, `accuracy ${acc}`);
  assert.equal(report.calibration.scored, 'best-class');
  assert.ok(report.calibration.ece > 0 && report.calibration.ece < 0.5);
  assert.equal(report.nCells, 1039);
  assert.equal(report.novelty, null);
});

test('scnym saliency: contrast, groupby, JSON, and clear errors', () => {
  // Why CD14+ rather than FCGR3A+ monocytes, on the cells labelled FCGR3A+Mono.
  const contrast = scnym(
    'saliency',
    '--model',
    modelDir,
    '--data',
    TARGET,
    '--class',
    'CD14+Mono',
    '--contrast',
    'FCGR3A+Mono',
    '--groupby',
    'cell_type',
    '--group',
    'FCGR3A+Mono',
    '--method',
    'gradient',
    '--top',
    '15',
    '--json',
    '--quiet',
  );
  assert.equal(contrast.status, 0, contrast.stderr);
  const result = JSON.parse(contrast.stdout);
  assert.equal(result.schema, 'scnym.saliency/1');
  assert.equal(result.contrast, 'FCGR3A+Mono');
  assert.deepEqual(
    [result.cells.by, result.cells.key, result.cells.group, result.cells.nMatching],
    ['obs', 'cell_type', 'FCGR3A+Mono', 289],
  );
  assert.equal(result.top.length, 15);
  const bottom = result.bottom.map((g: { gene: string }) => g.gene);
  assert.ok(
    ['FCGR3A', 'MS4A7'].some((g) => bottom.includes(g)),
    `FCGR3A+ markers should favour the contrast: ${bottom.join(' ')}`,
  );

  const text = scnym(
    'saliency',
    '--model',
    modelDir,
    '--data',
    TARGET,
    '--class',
    'NK',
    '--top',
    '5',
    '--samples',
    '10',
    '--max-cells',
    '20',
    '--per-cell',
    '--quiet',
  );
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /expected saliency of 'NK'/);
  assert.match(text.stdout, /over 20 cells predicted as NK \(a random 20 of \d+\)/);
  assert.match(text.stdout, /from \d+ reference cells of .*target\.h5ad/);
  assert.equal(text.stdout.split('\n').filter((l) => /^ {2}\S+: \S+, \S+/.test(l)).length, 20);

  const unknown = scnym('saliency', '--model', modelDir, '--data', TARGET, '--class', 'Bcell');
  assert.equal(unknown.status, 1);
  assert.match(
    unknown.stderr,
    /unknown class 'Bcell'; the model's classes are: B, CD14\+Mono, CD4T, CD8T, Dendritic, FCGR3A\+Mono, NK/,
  );
  const method = scnym(
    'saliency',
    '--model',
    modelDir,
    '--data',
    TARGET,
    '--class',
    'B',
    '--method',
    'shap',
  );
  assert.equal(method.status, 2);
  assert.match(method.stderr, /--method must be one of gradient, integrated, expected/);
});

test('saliency refuses a group absent from the column, naming its values', async () => {
  const data = await openAnnDataFile(TARGET);
  try {
    await assert.rejects(
      saliencyAnnData(model, data, { className: 'B', groupby: 'cell_type', group: 'Bcells' }),
      /no cells have 'Bcells' in obs column 'cell_type'; its values are: B, CD14\+Mono/,
    );
    await assert.rejects(
      saliencyAnnData(model, data, { className: 'B', contrast: 'B' }),
      /--contrast must differ from --class/,
    );
  } finally {
    await data.close();
  }
});

test('per-cell attributions average to the class scores', async () => {
  const data = await openAnnDataFile(TARGET);
  try {
    const r = await saliencyAnnData(model, data, {
      className: 'NK',
      method: 'gradient',
      maxCells: 12,
      perCell: true,
    });
    const g = r.genes.length;
    assert.equal(r.perCell!.rows.length, 12);
    assert.equal(r.perCell!.attributions.length, 12 * g);
    for (const gene of [0, 17, g - 1]) {
      let sum = 0;
      for (let i = 0; i < 12; i++) sum += r.perCell!.attributions[i * g + gene];
      assert.ok(Math.abs(sum / 12 - r.scores[gene]) < 1e-6);
    }
  } finally {
    await data.close();
  }
});

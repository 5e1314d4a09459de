// Training whose cost and memory do not grow with the files: the step budget, the class-balanced
// reference subsample and the query sample (only their rows kept, a block at a time), model
// selection and calibration on reference cells outside the training subsample, the shared pairs
// trained exactly as without the bounds, and the warning on a temperature fitted out of range.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { trainOnAnnData } from '../../core/src/annotate.js';
import type { AnnData, MatrixReader } from '../../core/src/anndata/types.js';
import { initBackend } from '../../core/src/backend.js';
import { fromDense, takeRows, type Csr } from '../../core/src/csr.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import {
  chooseMatrix,
  log1pCpmBlocks,
  prepareTraining,
  readLabels,
  type Sampling,
} from '../../core/src/prepare.js';
import { log1pCpm } from '../../core/src/preprocess.js';
import { Rng } from '../../core/src/random.js';
import {
  epochBatches,
  resolveOptions,
  sampleReference,
  sampleRows,
  stepPlan,
  train,
  type TrainEvent,
  type TrainOptions,
  type TrainingData,
} from '../../core/src/train/index.js';
import { sharedFile } from '../helpers/paths.js';

before(async () => {
  await initBackend('auto');
});

/** A small, fast network and schedule for the synthetic runs. */
const fast: Partial<TrainOptions> = {
  ...resolveOptions('default'),
  batchSize: 32,
  nEpochs: 4,
  minEpochs: 0,
  network: { ...resolveOptions('default').network, nHidden: 32, nHiddenInit: 32 },
};

/** n cells of 3 classes over 30 genes, each class with its own marker genes (log1p CPM). */
function synthetic(n: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const nGenes = 30;
  const values = new Float32Array(n * nGenes);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let g = 0; g < nGenes; g++)
      values[i * nGenes + g] = Math.floor(rng.uniform() * (g % 3 === labels[i] ? 8 : 2));
  }
  return {
    labeled: log1pCpm(fromDense(values, n, nGenes)),
    labels,
    classNames: ['a', 'b', 'c'],
    unlabeled: null,
    genes: Array.from({ length: nGenes }, (_, g) => `g${g}`),
  };
}

/** The AnnData with its matrices read through a spy: block rows as given, calls recorded. */
function spied(ad: AnnData, blockRows: number, calls: [number, number][]): AnnData {
  const wrap = (reader: MatrixReader): MatrixReader =>
    new Proxy(reader, {
      get(target, key) {
        if (key === 'preferredBlockRows') return blockRows;
        if (key === 'rows')
          return (start: number, end: number) => {
            calls.push([start, end]);
            return target.rows(start, end);
          };
        return Reflect.get(target, key, target) as unknown;
      },
    });
  return new Proxy(ad, {
    get(target, key) {
      if (key === 'matrix') return async (name?: string) => wrap(await target.matrix(name));
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

const sameCsr = (a: Csr, b: Csr) => {
  assert.equal(a.nRows, b.nRows);
  assert.deepEqual(Array.from(a.indptr), Array.from(b.indptr));
  assert.deepEqual(a.indices, b.indices);
  assert.deepEqual(a.data, b.data);
};

test('stepPlan: past the budget, epochs of ⌊maxSteps / nEpochs⌋ steps; the shared pairs as before', () => {
  const byDefault = resolveOptions('default');
  const original = resolveOptions('original');
  assert.equal(byDefault.maxSteps, 1000);
  assert.equal(original.maxSteps, 1000);
  // kang_ifnb's 758 and tiny's 162 training cells: 2 steps an epoch, as without a budget.
  for (const n of [758, 162]) {
    assert.deepEqual(stepPlan(n, byDefault), {
      nEpochs: 30,
      stepsPerEpoch: 2,
      stepsPerPass: 2,
      budgeted: false,
    });
  }
  assert.equal(stepPlan(758, original).nEpochs * stepPlan(758, original).stepsPerEpoch, 200);
  assert.equal(stepPlan(162, { ...original, batchSize: 64 }).stepsPerEpoch, 2);
  // 50,000 training cells: 195 steps a pass, cut to 33 (30 × 33 = 990 ≤ 1,000).
  assert.deepEqual(stepPlan(50_000, byDefault), {
    nEpochs: 30,
    stepsPerEpoch: 33,
    stepsPerPass: 195,
    budgeted: true,
  });
  // Fewer steps than epochs: one step an epoch; 0 lifts the budget.
  assert.deepEqual(stepPlan(50_000, { ...byDefault, maxSteps: 12 }).nEpochs, 12);
  assert.equal(stepPlan(50_000, { ...byDefault, maxSteps: 0 }).stepsPerEpoch, 195);
  // Never over the budget, and the plan is what epochBatches makes.
  const rng = new Rng(3);
  for (const n of [1, 10, 300, 5000]) {
    for (const maxSteps of [1, 7, 100, 1000]) {
      for (const minStepsPerEpoch of [1, 2, 5]) {
        const o = { nEpochs: 30, batchSize: 64, minStepsPerEpoch, maxSteps };
        const plan = stepPlan(n, o);
        assert.ok(plan.nEpochs * plan.stepsPerEpoch <= maxSteps, JSON.stringify({ n, o, plan }));
        const rows = Int32Array.from({ length: n }, (_, i) => i);
        const labels = Int32Array.from(rows, (r) => r % 3);
        for (const balanced of [false, true]) {
          const batches = epochBatches(rows, o.batchSize, rng, {
            labels,
            balanced,
            minBatches: Math.min(minStepsPerEpoch, plan.stepsPerEpoch),
            maxBatches: plan.budgeted ? plan.stepsPerEpoch : undefined,
          });
          assert.equal(batches.length, plan.stepsPerEpoch, JSON.stringify({ n, o, balanced }));
        }
      }
    }
  }
});

test('training under a step budget takes at most maxSteps steps and still selects an epoch', async () => {
  const data = synthetic(2000, 1);
  const events: TrainEvent[] = [];
  // Without the budget: 4 epochs × 50 steps (1,620 training cells, batches of 32).
  const model = await train(
    data,
    { ...fast, maxSteps: 20 },
    { onEvent: (e) => e.type !== 'step' && events.push(e) },
  );
  try {
    const start = events.find((e) => e.type === 'start');
    assert.ok(start?.type === 'start');
    assert.deepEqual([start.budgeted, start.stepsPerPass, start.stepsPerEpoch], [true, 50, 5]);
    assert.ok(model.summary.steps <= 20, `${model.summary.steps} steps`);
    assert.equal(model.history.length, model.summary.epochsRun);
    assert.ok(model.summary.heldOutAccuracy > 0.5, `held-out ${model.summary.heldOutAccuracy}`);
  } finally {
    model.network.dispose();
  }
});

test('reserved selection and held-out rows are never trained on', async () => {
  const data = synthetic(300, 2);
  data.labels[7] = -1; // an unlabelled reference cell stays out of every split
  const reserved = { selection: Int32Array.of(0, 5, 9, 200), heldOut: Int32Array.of(1, 7, 299) };
  const model = await train({ ...data, reserved }, { ...fast, nEpochs: 1 });
  try {
    assert.deepEqual(model.split.selection, reserved.selection);
    assert.deepEqual(model.split.heldOut, Int32Array.of(1, 299));
    const reservedRows = new Set([0, 5, 9, 200, 1, 7, 299]);
    assert.equal(model.split.train.length, 300 - reservedRows.size);
    for (const r of model.split.train) assert.ok(!reservedRows.has(r), `row ${r} trained on`);
  } finally {
    model.network.dispose();
  }
});

test('sampleReference: class-balanced, every class kept, seeded; selection and held-out outside it', async () => {
  const ad = await openAnnDataFile(sharedFile('kang_ifnb', 'reference.h5ad'));
  const { codes } = await readLabels(ad, 'cell_type');
  await ad.close();
  const fractions = { selection: 0.1, heldOut: 0.1 };
  const sample = sampleReference(codes, 300, fractions, new Rng(7))!;
  // Kang's 7 classes hold 54–278 cells: 300 is 42 or 43 of each.
  const perClass = new Map<number, number>();
  for (const r of sample.train) perClass.set(codes[r], (perClass.get(codes[r]) ?? 0) + 1);
  assert.equal(sample.train.length, 300);
  assert.equal(perClass.size, 7);
  for (const n of perClass.values()) assert.ok(n === 42 || n === 43, `${n} cells of a class`);
  assert.deepEqual([sample.selection.length, sample.heldOut.length], [30, 30]);
  const all = [...sample.train, ...sample.selection, ...sample.heldOut];
  assert.equal(new Set(all).size, 360, 'train, selection and held-out are disjoint');
  for (const rows of [sample.train, sample.selection, sample.heldOut])
    assert.ok(
      rows.every((r, i) => i === 0 || rows[i - 1] < r),
      'ascending',
    );
  // Seeded: the same seed picks the same cells, another seed others.
  assert.deepEqual(sampleReference(codes, 300, fractions, new Rng(7)), sample);
  assert.notDeepEqual(sampleReference(codes, 300, fractions, new Rng(8))!.train, sample.train);
  // Everything fits: no sample. 0: no limit.
  assert.equal(sampleReference(codes, 936, fractions, new Rng(7)), null);
  assert.equal(sampleReference(codes, 0, fractions, new Rng(7)), null);

  // A class smaller than the cap is kept whole; unlabelled cells (-1) are never chosen.
  const skewed = Int32Array.from({ length: 2105 }, (_, i) =>
    i < 5 ? 0 : i < 100 ? -1 : 1 + (i % 2),
  );
  const s = sampleReference(skewed, 501, fractions, new Rng(1))!;
  const count = (k: number) => s.train.filter((r) => skewed[r] === k).length;
  assert.deepEqual([count(0), count(1), count(2), count(-1)], [5, 248, 248, 0]);
});

test('sampleRows: k of n ascending and seeded; all of them when k ≥ n', () => {
  const rows = sampleRows(1000, 50, new Rng(4))!;
  assert.equal(rows.length, 50);
  assert.equal(new Set(rows).size, 50);
  assert.ok(rows.every((r, i) => r >= 0 && r < 1000 && (i === 0 || rows[i - 1] < r)));
  assert.deepEqual(sampleRows(1000, 50, new Rng(4)), rows);
  assert.equal(sampleRows(1000, 1000, new Rng(4)), null);
  assert.equal(sampleRows(1000, 0, new Rng(4)), null);
});

test('log1pCpmBlocks with rows reads only the blocks that hold them, and stops after the last', async () => {
  const ad = await openAnnDataFile(sharedFile('kang_ifnb', 'target.h5ad'));
  try {
    const calls: [number, number][] = [];
    const chosen = await chooseMatrix(spied(ad, 100, calls), undefined);
    calls.length = 0;
    const rows = Int32Array.of(5, 250, 251, 990);
    const blocks: Csr[] = [];
    for await (const b of log1pCpmBlocks(chosen, null, chosen.genes.length, 'q', {}, rows))
      blocks.push(b);
    assert.deepEqual(calls, [
      [0, 100],
      [200, 300],
      [900, 1000],
    ]);
    assert.deepEqual(
      blocks.map((b) => b.nRows),
      [1, 2, 1],
    );
    // The same values as those rows of the whole matrix.
    const whole: Csr[] = [];
    for await (const b of log1pCpmBlocks(chosen, null, chosen.genes.length, 'q')) whole.push(b);
    sameCsr(blocks[1], takeRows(whole[2], [50, 51]));
  } finally {
    await ad.close();
  }
});

test('prepareTraining keeps only the sampled rows of a reference and a query larger than the samples', async () => {
  const reference = await openAnnDataFile(sharedFile('kang_ifnb', 'reference.h5ad'));
  const query = await openAnnDataFile(sharedFile('kang_ifnb', 'target.h5ad'));
  try {
    const sampling: Sampling = {
      maxReferenceCells: 300,
      maxQueryCells: 200,
      seed: 0,
      selectionFraction: 0.1,
      heldOutFraction: 0.1,
    };
    const calls: [number, number][] = [];
    const notices: string[] = [];
    const options = { labelKey: 'cell_type', domainKey: 'condition' };
    const prepared = await prepareTraining(
      spied(reference, 100, calls),
      spied(query, 100, calls),
      { ...options, sampling },
      { onNotice: (m) => notices.push(m) },
    );
    assert.deepEqual(notices, [
      'training on 300 of 936 reference cells (class-balanced; 30 others for model selection ' +
        'and calibration, 30 held out) and 200 of 1,039 query cells (a seeded sample)',
    ]);
    // Memory holds the samples only, read a block at a time.
    const { data, sampled } = prepared;
    assert.equal(data.labeled.nRows, 360);
    assert.equal(data.unlabeled!.nRows, 200);
    assert.equal(data.labels.length, 360);
    assert.equal(data.labeledDomains!.length, 360);
    assert.equal(data.unlabeledDomains!.length, 200);
    assert.ok(
      calls.every(([s, e]) => e - s <= 100),
      'block-wise reads',
    );
    // They are those rows of the files, with their labels.
    const full = await prepareTraining(reference, query, options);
    const refRows = Int32Array.from([
      ...sampled.reference!.train,
      ...sampled.reference!.selection,
      ...sampled.reference!.heldOut,
    ]).sort();
    sameCsr(data.labeled, takeRows(full.data.labeled, refRows));
    sameCsr(data.unlabeled!, takeRows(full.data.unlabeled!, sampled.query!));
    assert.deepEqual(
      data.labels,
      Int32Array.from(refRows, (r) => full.data.labels[r]),
    );
    // The reserved positions are the selection and held-out cells.
    const at = (positions: Int32Array) => Int32Array.from(positions, (p) => refRows[p]);
    assert.deepEqual(at(data.reserved!.selection), sampled.reference!.selection);
    assert.deepEqual(at(data.reserved!.heldOut), sampled.reference!.heldOut);
    // The same seed reads the same cells.
    const again = await prepareTraining(reference, query, { ...options, sampling });
    assert.deepEqual(again.sampled, sampled);
    // Files that fit are read whole, as before.
    const whole = await prepareTraining(reference, query, {
      ...options,
      sampling: { ...sampling, maxReferenceCells: 1000, maxQueryCells: 0 },
    });
    assert.deepEqual(whole.sampled, { reference: null, query: null });
    assert.equal(whole.data.reserved, undefined);
    sameCsr(whole.data.labeled, full.data.labeled);
  } finally {
    await reference.close();
    await query.close();
  }
});

test('model selection and calibration see no training cell: the split comes from outside the subsample', async () => {
  const reference = await openAnnDataFile(sharedFile('kang_ifnb', 'reference.h5ad'));
  try {
    const { data, sampled } = await prepareTraining(reference, null, {
      labelKey: 'cell_type',
      sampling: {
        maxReferenceCells: 300,
        maxQueryCells: 0,
        seed: 1,
        selectionFraction: 0.1,
        heldOutFraction: 0.1,
      },
    });
    const model = await train(data, { ...fast, nEpochs: 2 });
    model.network.dispose();
    const s = sampled.reference!;
    const fileRows = Int32Array.from([...s.train, ...s.selection, ...s.heldOut]).sort();
    const toFile = (positions: Int32Array) => Int32Array.from(positions, (p) => fileRows[p]);
    // Every subsampled cell is trained on; selection and held-out are the cells outside it.
    assert.deepEqual(toFile(model.split.train), s.train);
    assert.deepEqual(toFile(model.split.selection), s.selection);
    assert.deepEqual(toFile(model.split.heldOut), s.heldOut);
    const trained = new Set(s.train);
    assert.ok(s.selection.every((r) => !trained.has(r)));
  } finally {
    await reference.close();
  }
});

test('the shared pairs train as without the bounds: tiny, the same steps and weights for a seed', async () => {
  const run = async (overrides: Partial<TrainOptions>) => {
    const reference = await openAnnDataFile(sharedFile('tiny', 'reference.h5ad'));
    const query = await openAnnDataFile(sharedFile('tiny', 'target.h5ad'));
    const notices: string[] = [];
    try {
      const { model } = await trainOnAnnData(
        reference,
        query,
        { labelKey: 'cell_type', overrides: { seed: 0, ...overrides } },
        { onNotice: (m) => notices.push(m) },
      );
      const weights = model.network.allVariables().map((v) => Array.from(v.dataSync()));
      model.network.dispose();
      return { steps: model.summary.steps, weights, notices };
    } finally {
      await reference.close();
      await query.close();
    }
  };
  const bounded = await run({});
  const unbounded = await run({ maxSteps: 0, maxReferenceCells: 0, maxQueryCells: 0 });
  assert.equal(bounded.steps, 60);
  assert.equal(unbounded.steps, 60);
  assert.deepEqual(bounded.weights, unbounded.weights);
  assert.deepEqual(bounded.notices, []);
});

test('a temperature fitted below the range on too few selection cells warns and is not applied', async () => {
  // tiny with the original preset, seed 1: its 18 selection cells are all predicted right and
  // the fit is 0.05 (the search's floor), which would sharpen every query confidence 20×.
  const reference = await openAnnDataFile(sharedFile('tiny', 'reference.h5ad'));
  const query = await openAnnDataFile(sharedFile('tiny', 'target.h5ad'));
  const warnings: string[] = [];
  try {
    const { model, calibration, card } = await trainOnAnnData(
      reference,
      query,
      { labelKey: 'cell_type', preset: 'original', overrides: { seed: 1, batchSize: 64 } },
      { onWarning: (m) => warnings.push(m) },
    );
    model.network.dispose();
    assert.ok(calibration!.fitted < 0.5, `fitted ${calibration!.fitted}`);
    assert.equal(calibration!.atBound, true);
    assert.equal(calibration!.applied, false);
    assert.equal(calibration!.temperature, 1);
    assert.equal(card.temperature, 1);
    const warning = warnings.filter((w) => w.includes('temperature'));
    assert.equal(warning.length, 1);
    assert.match(
      warning[0],
      /fitted on 18 model-selection cells, 0\.050, is below 0\.5 and is not applied/,
    );
  } finally {
    await reference.close();
    await query.close();
  }
});

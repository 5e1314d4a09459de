import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { AbortError } from '../../core/src/errors.js';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../core/src/backend.js';
import { fromDense, toDense, type Csr } from '../../core/src/csr.js';
import { log1pCpm } from '../../core/src/preprocess.js';
import { Rng } from '../../core/src/random.js';
import { createNetwork } from '../../core/src/model/network.js';
import { forward } from '../../core/src/model/forward.js';
import {
  Adadelta,
  Adam,
  accuracy,
  domainCrossEntropy,
  epochBatches,
  linearRamp,
  log1pDrop,
  maskedConsistencyMse,
  mixRows,
  resolveOptions,
  sampleMixWeights,
  sharpen,
  sigmoidRamp,
  softCrossEntropy,
  train,
  trainStep,
  type Optimizer,
  type TrainOptions,
  type TrainingData,
} from '../../core/src/train/index.js';

before(async () => {
  await initBackend('auto');
});

function close(a: number, b: number, tol = 1e-5) {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);
}

/** Poisson counts: each class has its own marker genes; the target domain scales some genes. */
function synthetic(
  nPerClass: number,
  nClasses: number,
  nGenes: number,
  seed: number,
  shift: boolean,
) {
  const rng = new Rng(seed);
  const poisson = (lambda: number) => {
    let k = 0;
    let p = 1;
    const l = Math.exp(-lambda);
    do {
      k++;
      p *= rng.uniform();
    } while (p > l);
    return k - 1;
  };
  const n = nPerClass * nClasses;
  const values = new Float32Array(n * nGenes);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % nClasses;
    labels[i] = c;
    for (let g = 0; g < nGenes; g++) {
      const marker = g % nClasses === c && g < nClasses * 6;
      // The shift touches background genes only (a batch effect, not a change of identity).
      const shifted = shift && !marker && g % 3 === 0 ? 3 : 1;
      values[i * nGenes + g] = poisson((marker ? 8 : 1) * shifted);
    }
  }
  return { x: log1pCpm(fromDense(values, n, nGenes)), labels };
}

function syntheticData(seed = 1): { data: TrainingData; targetLabels: Int32Array } {
  const source = synthetic(30, 3, 40, seed, false);
  const target = synthetic(30, 3, 40, seed + 100, true);
  return {
    data: {
      labeled: source.x,
      labels: source.labels,
      classNames: ['a', 'b', 'c'],
      unlabeled: target.x,
      genes: Array.from({ length: 40 }, (_, i) => `g${i}`),
    },
    targetLabels: target.labels,
  };
}

const small: Partial<TrainOptions> = {
  ...resolveOptions('original'),
  batchSize: 32,
  nEpochs: 3,
  minEpochs: 1,
  network: {
    ...resolveOptions('original').network,
    nHidden: 64,
    nHiddenInit: 64,
    adversaryHidden: 16,
  },
};

test('sharpen: T=0.5 squares and renormalises, T=0 is one-hot', () => {
  const p = tf.tensor2d([[0.6, 0.3, 0.1]]);
  const s = sharpen(p, 0.5).dataSync();
  [0.36 / 0.46, 0.09 / 0.46, 0.01 / 0.46].forEach((v, i) => close(s[i], v));
  assert.deepEqual(Array.from(sharpen(p, 0).dataSync()), [1, 0, 0]);
  p.dispose();
});

test('MixUp: γ = max(γ, 1−γ) and one permutation for inputs and targets', () => {
  const gamma = sampleMixWeights(1000, 0.3, new Rng(0));
  assert.ok(gamma.every((g) => g >= 0.5 && g <= 1));
  const permutation = Int32Array.from([1, 0, 2]);
  const weights = Float32Array.from([0.8, 0.6, 0.5]);
  const x = mixRows(Float32Array.from([1, 0, 0, 1, 2, 2]), permutation, weights);
  const targets = mixRows(Float32Array.from([1, 0, 0, 1, 0.5, 0.5]), permutation, weights);
  [0.8, 0.2, 0.4, 0.6, 2, 2].forEach((v, i) => close(x[i], v));
  [0.8, 0.2, 0.4, 0.6, 0.5, 0.5].forEach((v, i) => close(targets[i], v));
});

test('presets: original keeps the original scNym values; default changes only measured keys', () => {
  const original = resolveOptions('original');
  assert.deepEqual(
    [original.optimizer, original.learningRate, original.weightDecay, original.batchSize],
    ['adadelta', 1.0, 1e-4, 256],
  );
  assert.deepEqual(
    [original.nEpochs, original.minEpochs, original.patience, original.minStepsPerEpoch],
    [100, 20, 40, 1],
  );
  assert.deepEqual(
    [original.unsupMaxWeight, original.rampEpochs, original.danMaxWeight, original.danRampEpochs],
    [1.0, 100, 0.1, 20],
  );
  assert.equal(original.balancedClasses, false);
  assert.equal(original.linearBlend, 0, 'the original has no linear head');
  const byDefault = resolveOptions('default');
  const changed = (Object.keys(original) as (keyof TrainOptions)[])
    .filter((k) => k !== 'network' && original[k] !== byDefault[k])
    .sort();
  assert.deepEqual(changed, [
    'balancedClasses',
    'danMaxWeight',
    'learningRate',
    'linearBlend',
    'minEpochs',
    'minStepsPerEpoch',
    'nEpochs',
    'optimizer',
    'patience',
    'unsupMaxWeight',
  ]);
  assert.deepEqual(byDefault.network, original.network);
  assert.equal(resolveOptions('default', 'no_dan', { seed: 3 }).seed, 3);
});

test('ramps: w_u(e) = e/100; λ(e) = 0.1·exp(−5(1−e/20)²) then 0.1', () => {
  assert.deepEqual(
    [0, 10, 20, 99].map((e) => linearRamp(e, 100, 1)),
    [0, 0.1, 0.2, 0.99],
  );
  assert.equal(linearRamp(100, 100, 1), 1);
  assert.equal(linearRamp(3, 10, 1, 5), 0);
  const lambda = [0, 10, 20, 99].map((e) => sigmoidRamp(e, 20, 0.1));
  close(lambda[0], 0.1 * Math.exp(-5));
  close(lambda[1], 0.1 * Math.exp(-1.25));
  assert.equal(lambda[2], 0.1);
  assert.equal(lambda[3], 0.1);
});

test('losses: soft cross-entropy, masked MSE consistency, domain cross-entropy', () => {
  tf.tidy(() => {
    close(
      softCrossEntropy(tf.tensor2d([[0, 0]]), tf.tensor2d([[0.5, 0.5]])).dataSync()[0],
      Math.log(2),
    );
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    const ce = softCrossEntropy(
      tf.tensor2d([
        [1, 2, 3],
        [1, 2, 3],
      ]),
      tf.tensor2d([
        [0, 0, 1],
        [1, 0, 0],
      ]),
    );
    close(ce.dataSync()[0], (lse - 3 + (lse - 1)) / 2);
    // softmax = [.5,.5]; Σ_c (p−q)² = 0.5 per row; mask [1,0] → mean over both rows = 0.25.
    const mse = maskedConsistencyMse(
      tf.tensor2d([
        [0, 0],
        [0, 0],
      ]),
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      tf.tensor1d([1, 0]),
    );
    close(mse.dataSync()[0], 0.25);
    const dce = domainCrossEntropy(
      tf.tensor2d([
        [0, Math.log(3)],
        [0, 0],
      ]),
      Int32Array.from([1, 0]),
    );
    close(dce.dataSync()[0], (Math.log(4 / 3) + Math.log(2)) / 2);
  });
});

test('log1p_drop augmentation keeps rows CPM-normalised and drops about p of the entries', () => {
  const counts = fromDense(
    Float32Array.from({ length: 400 }, (_, i) => (i % 3) + 1),
    4,
    100,
  );
  const x = log1pCpm(counts);
  const out = toDense(log1pDrop(x, 0.1, new Rng(3)));
  let zeros = 0;
  for (let r = 0; r < 4; r++) {
    let sum = 0;
    for (let g = 0; g < 100; g++) {
      sum += Math.expm1(out[r * 100 + g]);
      if (out[r * 100 + g] === 0) zeros++;
    }
    close(sum, 1e6, 1e-4);
  }
  assert.ok(zeros > 15 && zeros < 70, `${zeros} dropped of 400`);
  const same = toDense(log1pDrop(x, 0, new Rng(3)));
  toDense(x).forEach((v, i) => close(same[i], v, 1e-5));
});

test('Adadelta follows torch: lr on the delta, new square average, L2 added to the gradient', () => {
  const p = tf.variable(tf.tensor1d([1]));
  const opt = new Adadelta({ learningRate: 1, rho: 0.9, epsilon: 1e-6, weightDecay: 1e-4 });
  const g = tf.tensor1d([0.5]);
  opt.step([p], [g]);
  const grad = 0.5 + 1e-4;
  const sq = 0.1 * grad * grad;
  const delta = (Math.sqrt(1e-6) / Math.sqrt(sq + 1e-6)) * grad;
  close(p.dataSync()[0], 1 - delta);
  opt.dispose();
  p.dispose();
  g.dispose();
});

test('fused WASM optimiser steps give the same floats as the tfjs ops (Adadelta, Adam, AdamW)', () => {
  assert.equal(tf.getBackend(), 'wasm');
  const rng = new Rng(17);
  const draw = (shape: number[], scale = 1) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, () => scale * rng.normal()),
      shape,
    );
  // A matrix, a vector whose length is not a multiple of 4 (the kernels' scalar tail), a scalar.
  const shapes = [[33, 20], [1027], [1]];
  const start = shapes.map((s) => draw(s));
  const grads = [1, 2, 3].map((step) => shapes.map((s) => draw(s, 0.1 * step)));
  const adam = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const optimizers: [string, (fused: boolean) => Optimizer][] = [
    ['Adadelta, L2', (fused) => new Adadelta({ ...adadelta(1e-4), fused })],
    ['Adadelta', (fused) => new Adadelta({ ...adadelta(0), fused })],
    ['Adam, L2', (fused) => new Adam({ ...adam, weightDecay: 1e-4, decoupledDecay: false, fused })],
    ['AdamW', (fused) => new Adam({ ...adam, weightDecay: 1e-2, decoupledDecay: true, fused })],
    ['Adam', (fused) => new Adam({ ...adam, weightDecay: 0, decoupledDecay: false, fused })],
  ];
  for (const [name, make] of optimizers) {
    const run = (fused: boolean) => {
      const vars = start.map((t) => tf.variable(t.clone()));
      const opt = make(fused);
      const before = tf.memory().numTensors;
      for (const g of grads) opt.step(vars, g);
      assert.equal(
        tf.memory().numTensors,
        before + 2 * shapes.length,
        `${name}: the averages only`,
      );
      const values = vars.map((v) => Array.from(v.dataSync()));
      opt.dispose();
      tf.dispose(vars);
      return values;
    };
    const fused = run(true);
    assert.deepEqual(fused, run(false), name);
    assert.notDeepEqual(fused[1], Array.from(start[1].dataSync()), `${name}: the weights moved`);
  }
  tf.dispose([...start, ...grads.flat()]);
});

function adadelta(weightDecay: number) {
  return { learningRate: 1, rho: 0.9, epsilon: 1e-6, weightDecay };
}

test('Rng.fillBernoulli: the masks and generator state of per-element uniform() draws', () => {
  for (const p of [0.5, 0.9, 0, 1]) {
    const a = new Rng(11);
    const b = new Rng(11);
    const mask = new Float32Array(1001);
    b.fillBernoulli(mask, p, 1 / (p || 1));
    const want = Float32Array.from({ length: 1001 }, () => (a.uniform() < p ? 1 / (p || 1) : 0));
    assert.deepEqual(mask, want);
    assert.equal(b.nextUint32(), a.nextUint32(), 'the same state afterwards');
  }
});

test('epochBatches: drop_last, capped batch size, minimum batch count, class balance', () => {
  const rows = Int32Array.from({ length: 10 }, (_, i) => i);
  assert.equal(epochBatches(rows, 4, new Rng(0)).length, 2);
  const tiny = epochBatches(rows, 256, new Rng(0));
  assert.equal(tiny.length, 1);
  assert.equal(tiny[0].length, 10);
  assert.equal(epochBatches(rows, 4, new Rng(0), { minBatches: 5 }).length, 6);
  const labels = Int32Array.from({ length: 10 }, (_, i) => (i < 9 ? 0 : 1));
  const drawn = epochBatches(rows, 10, new Rng(1), {
    labels,
    balanced: true,
    minBatches: 100,
  }).flatMap((b) => Array.from(b));
  const minority = drawn.filter((r) => r === 9).length / drawn.length;
  assert.ok(Math.abs(minority - 0.5) < 0.05, `minority share ${minority}`);
});

test('same seed ⇒ identical weights; different seed ⇒ different', async () => {
  const { data } = syntheticData();
  const weights = async (seed: number) => {
    const model = await train(data, { ...small, seed, nEpochs: 2 });
    const values = model.network.allVariables().map((v) => Array.from(v.dataSync()));
    model.network.dispose();
    return values;
  };
  const a = await weights(5);
  assert.deepEqual(await weights(5), a);
  assert.notDeepEqual(await weights(6), a);
});

test('training steps do not leak tensors and update BatchNorm running statistics', () => {
  const { data } = syntheticData();
  const o = { ...resolveOptions('original'), ...small } as TrainOptions;
  const net = createNetwork({ ...o.network, nGenes: 40, nClasses: 3, nDomains: 2 }, 0);
  const opt = new Adadelta({ learningRate: 1, rho: 0.9, epsilon: 1e-6, weightDecay: 1e-4 });
  const ctx = {
    net,
    optimizer: opt,
    options: o,
    rng: new Rng(0),
    labeled: data.labeled,
    labels: data.labels,
    unlabeled: data.unlabeled,
    labeledDomains: new Int32Array(90),
    unlabeledDomains: new Int32Array(90).fill(1),
  };
  const rows = Int32Array.from({ length: 32 }, (_, i) => i);
  const block = net.params.blocks[0];
  const before = Array.from(block.norm.movingMean.dataSync());
  trainStep(ctx, rows, rows, { unsup: 0.5, dan: 0.1 });
  const count = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) trainStep(ctx, rows, rows, { unsup: 0.5, dan: 0.1 });
  assert.equal(tf.memory().numTensors, count);
  assert.notDeepEqual(Array.from(block.norm.movingMean.dataSync()), before);
  opt.dispose();
  net.dispose();
});

test('training on a small synthetic 3-class shift beats chance by a wide margin', async () => {
  const { data, targetLabels } = syntheticData(2);
  const model = await train(data, {
    ...small,
    nEpochs: 60,
    minEpochs: 5,
    seed: 0,
    optimizer: 'adam',
    learningRate: 1e-3,
  });
  const target = data.unlabeled as Csr;
  const predicted = tf.tidy(() =>
    tf
      .argMax(
        forward(model.network, tf.tensor2d(toDense(target), [target.nRows, 40]), {
          training: false,
        }).logits,
        1,
      )
      .dataSync(),
  );
  const acc = accuracy(targetLabels, predicted);
  assert.ok(acc > 0.7, `target accuracy ${acc}, held-out source ${model.summary.heldOutAccuracy}`);
  assert.ok(model.summary.steps > 0);
  model.network.dispose();
});

test('fewer cells than a batch still trains (no endless loop, no zero-step epochs)', async () => {
  const { data } = syntheticData();
  const tiny: TrainingData = {
    ...data,
    labeled: { ...data.labeled, nRows: 12, indptr: data.labeled.indptr.slice(0, 13) },
    labels: data.labels.slice(0, 12),
    unlabeled: { ...data.unlabeled!, nRows: 7, indptr: data.unlabeled!.indptr.slice(0, 8) },
  };
  const model = await train(tiny, { ...small, batchSize: 256, nEpochs: 3 });
  assert.equal(model.summary.steps, 3);
  model.network.dispose();
});

test('abort stops training promptly and frees its tensors', async () => {
  const { data } = syntheticData();
  const controller = new AbortController();
  const baseline = tf.memory().numTensors;
  let steps = 0;
  await assert.rejects(
    train(
      data,
      { ...small, nEpochs: 50 },
      {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'step' && ++steps === 2) controller.abort();
        },
      },
    ),
    (e: unknown) => e instanceof AbortError,
  );
  assert.equal(steps, 2);
  assert.equal(tf.memory().numTensors, baseline);
});

// Saliency on small networks with known answers: the differentiable eval forward equals the
// model's forward, gradients match central finite differences, integrated gradients are
// complete (Σ attributions ≈ f(x) − f(0)), expected gradients behave as their definition says,
// and batching (maxRows) does not change any result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fromDense } from '../../core/src/csr.js';
import {
  evalLogits,
  expectedGradients,
  integratedGradients,
  scoreRows,
  vanillaGradient,
  type DenseRows,
  type Objective,
} from '../../core/src/interpret/gradients.js';
import { AttributionMean, rankGenes } from '../../core/src/interpret/markers.js';
import { forward } from '../../core/src/model/forward.js';
import { createNetwork, type ScnymNetwork } from '../../core/src/model/network.js';
import { Rng } from '../../core/src/random.js';

const G = 10;
const K = 4;

/** A small network with non-trivial BatchNorm running statistics. */
function smallNetwork(residual: boolean, seed = 1): ScnymNetwork {
  const net = createNetwork(
    {
      nGenes: G,
      nClasses: K,
      nDomains: 0,
      nHiddenInit: 24,
      nHidden: 16,
      nLayers: residual ? 3 : 2,
      dropout: 0.5,
      residual,
      adversaryHidden: 8,
    },
    seed,
  );
  const rng = new Rng(seed + 100);
  tf.tidy(() => {
    for (const block of net.params.blocks) {
      const norms = block.kind === 'plain' ? [block.norm] : [block.normA, block.normB, block.norm];
      for (const n of norms) {
        const size = n.movingMean.shape[0];
        n.movingMean.assign(tf.tensor1d(Array.from({ length: size }, () => 0.3 * rng.normal())));
        n.movingVariance.assign(
          tf.tensor1d(Array.from({ length: size }, () => 0.5 + rng.uniform())),
        );
        n.gamma.assign(tf.tensor1d(Array.from({ length: size }, () => 0.8 + 0.4 * rng.uniform())));
      }
    }
  });
  return net;
}

function randomRows(n: number, seed: number): DenseRows {
  const rng = new Rng(seed);
  // log1p(CPM)-like: non-negative, some zeros.
  const values = Float32Array.from({ length: n * G }, () =>
    rng.uniform() < 0.3 ? 0 : 3 * rng.uniform(),
  );
  return { values, nRows: n, nGenes: G };
}

function finiteDifference(net: ScnymNetwork, rows: DenseRows, objective: Objective, eps = 1e-3) {
  const out = new Float32Array(rows.values.length);
  for (let i = 0; i < rows.values.length; i++) {
    const plus = Float32Array.from(rows.values);
    const minus = Float32Array.from(rows.values);
    plus[i] += eps;
    minus[i] -= eps;
    const r = Math.floor(i / G);
    const fp = scoreRows(net, { ...rows, values: plus }, objective)[r];
    const fm = scoreRows(net, { ...rows, values: minus }, objective)[r];
    out[i] = (fp - fm) / (2 * eps);
  }
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('the differentiable eval forward gives the model forward’s logits', () => {
  for (const residual of [false, true]) {
    const net = smallNetwork(residual);
    const rows = randomRows(7, 3);
    const [a, b] = tf.tidy(() => {
      const x = tf.tensor2d(rows.values, [rows.nRows, G]);
      return [
        evalLogits(net, x).dataSync(),
        forward(net, x, { training: false }).logits.dataSync(),
      ];
    });
    assert.ok(maxDiff(a, b) < 1e-5, `residual=${residual}: ${maxDiff(a, b)}`);
    net.dispose();
  }
});

test('vanilla gradients match central finite differences (logit, probability, contrast)', () => {
  for (const residual of [false, true]) {
    const net = smallNetwork(residual, 2);
    const rows = randomRows(3, 5);
    const objectives: Objective[] = [
      { target: 1 },
      { target: 2, output: 'probability' },
      { target: 0, contrast: 3 },
    ];
    for (const objective of objectives) {
      const analytic = vanillaGradient(net, rows, objective);
      const numeric = finiteDifference(net, rows, objective);
      const scale = Math.max(maxAbs(numeric), 1e-3);
      const err = maxDiff(analytic, numeric) / scale;
      assert.ok(err < 0.02, `residual=${residual} ${JSON.stringify(objective)}: rel err ${err}`);
    }
    net.dispose();
  }
});

test('integrated gradients are complete: Σ attributions ≈ f(x) − f(0)', () => {
  const net = smallNetwork(false, 3);
  const rows = randomRows(5, 7);
  for (const output of ['probability', 'logit'] as const) {
    const ig = integratedGradients(net, rows, { target: 2, output }, { steps: 300 });
    for (let r = 0; r < rows.nRows; r++) {
      let sum = 0;
      for (let g = 0; g < G; g++) sum += ig.attributions[r * G + g];
      const delta = ig.fx[r] - ig.fBaseline[r];
      assert.ok(
        Math.abs(sum - delta) <= 0.02 * Math.abs(delta) + 1e-3,
        `${output} row ${r}: Σ ${sum} vs f(x) − f(0) ${delta}`,
      );
    }
  }
  // The zero baseline gives (x − 0) ⊙ mean gradient: genes at zero get no attribution.
  const ig = integratedGradients(net, rows, { target: 1 }, { steps: 20 });
  for (let i = 0; i < rows.values.length; i++) {
    if (rows.values[i] === 0) assert.ok(ig.attributions[i] === 0);
  }
  net.dispose();
});

test('batching paths and draws (maxRows) changes nothing', () => {
  const net = smallNetwork(true, 4);
  const rows = randomRows(6, 11);
  const objective = { target: 3, contrast: 1 };
  const a = integratedGradients(net, rows, objective, { steps: 25, maxRows: 1000 });
  const b = integratedGradients(net, rows, objective, { steps: 25, maxRows: 7 });
  assert.ok(maxDiff(a.attributions, b.attributions) < 1e-5);
  const v1 = vanillaGradient(net, rows, objective, 1000);
  const v2 = vanillaGradient(net, rows, objective, 2);
  assert.ok(maxDiff(v1, v2) < 1e-6);
  const refs = fromDense(randomRows(9, 12).values, 9, G);
  const e1 = expectedGradients(net, rows, refs, objective, new Rng(5), { samples: 30 });
  const e2 = expectedGradients(net, rows, refs, objective, new Rng(5), {
    samples: 30,
    maxRows: 30,
  });
  assert.ok(maxDiff(e1, e2) < 1e-5, `${maxDiff(e1, e2)}`);
  net.dispose();
});

test('expected gradients: zero against identical references; complete in expectation', () => {
  const net = smallNetwork(false, 6);
  const rows = randomRows(2, 13);
  // References equal to the cell itself: |x − x'| = 0 everywhere.
  const self = fromDense(rows.values.subarray(0, G), 1, G);
  const zero = expectedGradients(
    net,
    { ...rows, values: rows.values.subarray(0, G), nRows: 1 },
    self,
    { target: 0 },
    new Rng(1),
    { samples: 10 },
  );
  assert.equal(maxAbs(zero), 0);
  // With one all-zero reference and signed deltas, EG is a Monte-Carlo integrated gradient of
  // the logit: Σ φ ≈ f(x) − f(0).
  const zeros = fromDense(new Float32Array(G), 1, G);
  const eg = expectedGradients(net, rows, zeros, { target: 1 }, new Rng(2), {
    samples: 3000,
    signedDelta: true,
  });
  const fx = scoreRows(net, rows, { target: 1 });
  const f0 = scoreRows(net, { values: new Float32Array(G), nRows: 1, nGenes: G }, { target: 1 })[0];
  for (let r = 0; r < rows.nRows; r++) {
    let sum = 0;
    for (let g = 0; g < G; g++) sum += eg[r * G + g];
    const delta = fx[r] - f0;
    assert.ok(Math.abs(sum - delta) <= 0.05 * Math.abs(delta) + 0.02, `Σ ${sum} vs ${delta}`);
  }
  net.dispose();
});

test('bad objectives are refused', () => {
  const net = smallNetwork(false, 7);
  const rows = randomRows(1, 1);
  assert.throws(() => vanillaGradient(net, rows, { target: K }), /target class 4 is not in 0…3/);
  assert.throws(() => vanillaGradient(net, rows, { target: 1, contrast: 1 }), /must differ/);
  assert.throws(
    () => expectedGradients(net, rows, fromDense([], 0, G), { target: 0 }, new Rng(0)),
    /need reference cells/,
  );
  net.dispose();
});

test('ranking and per-class means', () => {
  const genes = ['a', 'b', 'c', 'd'];
  const scores = Float32Array.from([0.5, -2, 3, NaN]);
  assert.deepEqual(
    rankGenes(scores, genes, 2).map((g) => [g.rank, g.gene]),
    [
      [1, 'c'],
      [2, 'a'],
    ],
  );
  assert.deepEqual(
    rankGenes(scores, genes, 5, 'ascending').map((g) => g.gene),
    ['b', 'a', 'c'],
  );
  const mean = new AttributionMean(2);
  mean.add(Float32Array.from([1, 2, 3, 4]));
  mean.add(Float32Array.from([5, 0]));
  assert.deepEqual(Array.from(mean.mean()), [3, 2]);
  assert.equal(mean.count, 3);
});

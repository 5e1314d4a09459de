// Calibration arithmetic with known answers: reliability bins and ECE (agreeing with
// train/metrics), temperature scaling recovering the temperature that generated the labels,
// the keep-only-if-it-helps rule, the bounds on the temperature, AUROC, and the temperature
// applied at prediction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  auroc,
  calibrateTemperature,
  calibrationReport,
  confidenceOf,
  fitTemperature,
  negativeLogLikelihood,
  softmaxRows,
  TEMPERATURE_RANGE,
} from '../../core/src/calibration.js';
import { fromDense } from '../../core/src/csr.js';
import { createNetwork } from '../../core/src/model/network.js';
import { predict } from '../../core/src/predict.js';
import { Rng } from '../../core/src/random.js';
import { expectedCalibrationError } from '../../core/src/train/metrics.js';

const close = (a: number, b: number, tol: number, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('reliability bins and ECE by hand', () => {
  // Bin 0.9–1.0: 2 cells, confidence 0.95, one right → |0.5 − 0.95| = 0.45, weight 2/4.
  // Bin 0.5–0.6: 2 cells, confidence 0.55 and 0.6 (0.6 falls in 0.5–0.6), both right →
  //   |1 − 0.575| = 0.425, weight 2/4.
  const truth = [0, 1, 2, 0];
  const predicted = [0, 0, 2, 0];
  const confidence = [0.95, 0.95, 0.55, 0.6];
  const report = calibrationReport(truth, predicted, confidence, 10);
  close(report.ece, 0.5 * 0.45 + 0.5 * 0.425, 1e-12, 'ece');
  close(report.ece, expectedCalibrationError(truth, predicted, confidence, 10), 1e-12);
  assert.equal(report.bins.length, 10);
  assert.deepEqual(
    report.bins.filter((b) => b.count > 0).map((b) => [b.lower, b.count, b.accuracy]),
    [
      [0.5, 2, 1],
      [0.9, 2, 0.5],
    ],
  );
  close(report.bins[5].meanConfidence, 0.575, 1e-12);
  assert.ok(Number.isNaN(report.bins[0].meanConfidence));
});

test('softmax with temperature and NLL', () => {
  const logits = [2, 0, 0, 0, 0, 0];
  const p = softmaxRows(logits, 3, 2);
  close(p[0], Math.E / (Math.E + 2), 1e-6);
  close(p[3], 1 / 3, 1e-6);
  close(
    negativeLogLikelihood(logits, [0, 1], 3, 1),
    (-Math.log(Math.exp(2) / (Math.exp(2) + 2)) + Math.log(3)) / 2,
    1e-9,
  );
  const { codes, confidence } = confidenceOf([0, 3, 1, 5, 0, 0], 3);
  assert.deepEqual(Array.from(codes), [1, 0]);
  close(confidence[1], Math.exp(5) / (Math.exp(5) + 2), 1e-6);
});

test('temperature scaling recovers the temperature that generated the labels', () => {
  const rng = new Rng(1);
  const n = 20000;
  const k = 5;
  for (const truthT of [0.5, 2.5]) {
    const logits = Float32Array.from({ length: n * k }, () => 3 * rng.normal());
    const probs = softmaxRows(logits, k, truthT);
    const labels = Int32Array.from({ length: n }, (_, r) => {
      let u = rng.uniform();
      for (let c = 0; c < k; c++) {
        u -= probs[r * k + c];
        if (u < 0) return c;
      }
      return k - 1;
    });
    const fit = fitTemperature(logits, labels, k);
    close(fit.temperature, truthT, 0.08 * truthT, `T for ${truthT}`);
    const cal = calibrateTemperature(logits, labels, k);
    // Mis-scaled logits: the fitted temperature lowers NLL and ECE, so it is applied.
    assert.ok(cal.applied);
    assert.equal(cal.temperature, cal.fitted);
    assert.ok(cal.nllAfter < cal.nllBefore);
    assert.ok(cal.eceAfter < cal.eceBefore / 3, `ECE ${cal.eceBefore} → ${cal.eceAfter}`);
    assert.ok(cal.eceAfter < 0.02);
  }
});

test('a temperature that does not lower ECE is not applied; empty input gives T = 1', () => {
  // All-zero logits: every temperature gives the same probabilities, so ECE cannot drop.
  const logits = [0, 0, 0, 0];
  const labels = [0, 1];
  const cal = calibrateTemperature(logits, labels, 2);
  assert.equal(cal.applied, false);
  assert.equal(cal.temperature, 1);
  const empty = calibrateTemperature([], [], 3);
  assert.equal(empty.applied, false);
  assert.equal(empty.temperature, 1);
});

/** n rows of k logits scaled by `scale`, labels drawn from softmax(logits / truthT). */
function drawn(n: number, k: number, truthT: number, scale: number, seed: number) {
  const rng = new Rng(seed);
  const logits = Float32Array.from({ length: n * k }, () => 3 * rng.normal());
  const probs = softmaxRows(logits, k, truthT);
  const labels = Int32Array.from({ length: n }, (_, r) => {
    let u = rng.uniform();
    for (let c = 0; c < k; c++) {
      u -= probs[r * k + c];
      if (u < 0) return c;
    }
    return k - 1;
  });
  return { logits: logits.map((v) => v * scale), labels };
}

test('a temperature fitted below the range is not applied; above it, it is bounded', () => {
  assert.deepEqual(TEMPERATURE_RANGE, [0.5, 5]);
  // Far too soft logits (the labels follow T = 0.1): the fit sharpens past the bound.
  const soft = drawn(5000, 5, 0.1, 1, 2);
  const low = calibrateTemperature(soft.logits, soft.labels, 5);
  assert.ok(low.fitted < 0.2, `fitted ${low.fitted}`);
  assert.equal(low.atBound, true);
  assert.equal(low.applied, false);
  assert.equal(low.temperature, 1);
  // Far too sharp logits (×20 of well-calibrated ones): the fit softens past the bound, and the
  // bound still lowers ECE, so it is applied.
  const sharp = drawn(5000, 5, 1, 20, 3);
  const high = calibrateTemperature(sharp.logits, sharp.labels, 5);
  assert.ok(high.fitted > 15, `fitted ${high.fitted}`);
  assert.equal(high.atBound, true);
  assert.equal(high.applied, true);
  assert.equal(high.temperature, 5);
  const at5 = confidenceOf(sharp.logits, 5, 5);
  close(
    high.eceAfter,
    expectedCalibrationError(sharp.labels, at5.codes, at5.confidence, 10),
    1e-12,
  );
  close(high.nllAfter, negativeLogLikelihood(sharp.logits, sharp.labels, 5, 5), 1e-9);
  // Inside the range nothing changes: the fit is used as it is.
  const fine = drawn(5000, 5, 2, 1, 4);
  const mid = calibrateTemperature(fine.logits, fine.labels, 5);
  assert.equal(mid.atBound, false);
  assert.equal(mid.temperature, mid.fitted);
});

test('AUROC: perfect, reversed, ties and chance', () => {
  assert.equal(auroc([0.1, 0.2, 0.8, 0.9], [false, false, true, true]), 1);
  assert.equal(auroc([0.9, 0.8, 0.2, 0.1], [false, false, true, true]), 0);
  assert.equal(auroc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 0.5);
  // One positive above 2 of 3 negatives, one tied with a negative: (2 + 0.5 + 3) / 6.
  close(auroc([0.3, 0.5, 0.6, 0.5, 0.9], [false, false, false, true, true]), 0.75, 1e-12);
  assert.ok(Number.isNaN(auroc([1, 2], [true, true])));
});

test('predict applies the temperature to the probabilities, not to the labels', async () => {
  const net = createNetwork(
    {
      nGenes: 6,
      nClasses: 3,
      nDomains: 0,
      nHiddenInit: 8,
      nHidden: 8,
      nLayers: 1,
      dropout: 0,
      residual: false,
      adversaryHidden: 4,
    },
    3,
  );
  const model = {
    network: net,
    genes: ['a', 'b', 'c', 'd', 'e', 'f'],
    classNames: ['x', 'y', 'z'],
  };
  const rng = new Rng(4);
  const rows = fromDense(
    Float32Array.from({ length: 30 }, () => 4 * rng.uniform()),
    5,
    6,
  );
  const plain = await predict(model, rows, { input: 'log1p-cpm', embedding: false });
  const hot = await predict(model, rows, { input: 'log1p-cpm', embedding: false, temperature: 3 });
  assert.deepEqual(Array.from(hot.codes), Array.from(plain.codes));
  for (let i = 0; i < 5; i++) assert.ok(hot.confidence[i] <= plain.confidence[i] + 1e-7);
  await assert.rejects(
    predict(model, rows, { input: 'log1p-cpm', temperature: 0 }),
    /temperature must be a positive number/,
  );
  net.dispose();
});

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../core/src/backend.js';
import { DEFAULT_NETWORK, type NetworkConfig } from '../../core/src/model/config.js';
import {
  applyNormUpdates,
  forward,
  trainingBatchNorm,
  type NormUpdate,
} from '../../core/src/model/forward.js';
import { fromArtifacts, toArtifacts, type ScnymModelMetadata } from '../../core/src/model/io.js';
import { createNetwork } from '../../core/src/model/network.js';
import { linear, reverseGradient } from '../../core/src/model/ops.js';
import { Rng } from '../../core/src/random.js';

before(async () => {
  assert.equal(await initBackend('auto'), 'wasm');
});

const config = (over: Partial<NetworkConfig> = {}): NetworkConfig => ({
  ...DEFAULT_NETWORK,
  nGenes: 20,
  nClasses: 3,
  nDomains: 2,
  nHidden: 16,
  nHiddenInit: 16,
  adversaryHidden: 8,
  ...over,
});

function randomInput(n: number, d: number, seed: number): tf.Tensor2D {
  const rng = new Rng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: n * d }, () => rng.uniform() * 3),
    [n, d],
  );
}

test('Rng: same seed same stream, beta in [0,1], permutation is a permutation', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.nextUint32(), b.nextUint32());
  assert.notEqual(new Rng(1).uniform(), new Rng(2).uniform());
  const rng = new Rng(3);
  let mean = 0;
  for (let i = 0; i < 4000; i++) {
    const x = rng.beta(0.3, 0.3);
    assert.ok(x >= 0 && x <= 1);
    mean += x / 4000;
  }
  assert.ok(Math.abs(mean - 0.5) < 0.03, `Beta(0.3,0.3) mean ${mean}`);
  assert.deepEqual(
    Array.from(rng.permutation(50)).sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
});

test('architecture: 3 hidden Linear+BN blocks (n_layers=2), PyTorch init bounds, BN momentum/eps', () => {
  const net = createNetwork(config(), 0);
  const dense = net.classifier.layers.filter((l) => l.getClassName() === 'Dense');
  assert.deepEqual(
    dense.map((l) => l.name),
    ['hidden0_dense', 'hidden1_dense', 'hidden2_dense', 'logits'],
  );
  for (const layer of dense) {
    const [kernel, bias] = layer.getWeights();
    const bound = 1 / Math.sqrt(kernel.shape[0]);
    for (const t of [kernel, bias]) {
      const v = t.dataSync();
      assert.ok(
        v.every((x) => Math.abs(x) <= bound),
        `${layer.name} outside ±${bound}`,
      );
    }
  }
  const bn = net.classifier.getLayer('hidden0_bn').getConfig();
  assert.equal(bn.momentum, 0.9);
  assert.equal(bn.epsilon, 1e-5);
  assert.equal(net.classifier.getLayer('hidden0_dropout').getConfig().rate, 0.5);
  net.dispose();
});

test('seeded creation is reproducible', () => {
  const a = createNetwork(config(), 7);
  const b = createNetwork(config(), 7);
  const c = createNetwork(config(), 8);
  const first = (n: typeof a) =>
    n.params.blocks[0].kind === 'plain' && n.params.blocks[0].linear.kernel.dataSync();
  assert.deepEqual(first(a), first(b));
  assert.notDeepEqual(first(a), first(c));
  [a, b, c].forEach((n) => n.dispose());
});

test('eval-mode forward equals the LayersModel; embedding = pre-ReLU last hidden', () => {
  const net = createNetwork(config(), 1);
  // Non-trivial running statistics so that eval-mode BatchNorm matters.
  const updates: NormUpdate[] = [];
  tf.tidy(() => {
    forward(net, randomInput(32, 20, 5), {
      training: true,
      rng: new Rng(1),
      dropout: 0.5,
      normUpdates: updates,
    });
  });
  applyNormUpdates(updates);
  tf.tidy(() => {
    const x = randomInput(10, 20, 2);
    const mine = forward(net, x, { training: false });
    const keras = net.classifier.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(mine.logits, keras))).dataSync()[0];
    assert.ok(diff < 1e-4, `logits differ by ${diff}`);
    const relu = tf.max(tf.abs(tf.sub(tf.relu(mine.preActivation), mine.embedding))).dataSync()[0];
    assert.equal(relu, 0);
    assert.ok(tf.min(mine.preActivation).dataSync()[0] < 0, 'pre-activation keeps negatives');
  });
  net.dispose();
});

test('residual option builds and matches the LayersModel in eval mode', () => {
  const net = createNetwork(config({ residual: true, nLayers: 3 }), 3);
  tf.tidy(() => {
    const x = randomInput(6, 20, 4);
    const diff = tf
      .max(
        tf.abs(
          tf.sub(
            forward(net, x, { training: false }).logits,
            net.classifier.predict(x) as tf.Tensor,
          ),
        ),
      )
      .dataSync()[0];
    assert.ok(diff < 1e-4);
  });
  net.dispose();
});

test('BatchNorm running statistics follow PyTorch (momentum 0.1, unbiased variance)', () => {
  const net = createNetwork(config(), 2);
  const block = net.params.blocks[0];
  assert.equal(block.kind, 'plain');
  const updates: NormUpdate[] = [];
  const preBn = tf.tidy(() => {
    const x = randomInput(8, 20, 9);
    forward(net, x, { training: true, rng: new Rng(0), dropout: 0.5, normUpdates: updates });
    return block.kind === 'plain'
      ? linear(x, block.linear.kernel as tf.Tensor2D, block.linear.bias as tf.Tensor1D)
      : x;
  });
  applyNormUpdates(updates);
  const v = preBn.arraySync() as number[][];
  const mean0 = v.reduce((s, r) => s + r[0], 0) / 8;
  const var0 = v.reduce((s, r) => s + (r[0] - mean0) ** 2, 0) / 7;
  close(block.norm.movingMean.dataSync()[0], 0.1 * mean0);
  close(block.norm.movingVariance.dataSync()[0], 0.9 + 0.1 * var0);
  preBn.dispose();
  net.dispose();
});

test('training-mode BatchNorm: the closed-form gradient equals autodiff of moments + batchNorm', () => {
  const net = createNetwork(config(), 2);
  const block = net.params.blocks[1];
  assert.equal(block.kind, 'plain');
  if (block.kind !== 'plain') return;
  const norm = block.norm;
  tf.tidy(() => {
    // Non-trivial γ and β so every term of the gradient matters.
    norm.gamma.assign(tf.randomUniform(norm.gamma.shape, 0.5, 1.5, 'float32', 3));
    norm.beta.assign(tf.randomNormal(norm.beta.shape, 0, 1, 'float32', 4));
    const x = randomInput(9, norm.gamma.shape[0], 5);
    const weights = randomInput(9, norm.gamma.shape[0], 6);
    const reference = (xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(xv, 0);
      return tf.sum(tf.mul(tf.batchNorm(xv as tf.Tensor2D, mean, variance, b, g, 1e-5), weights));
    };
    const ours = (xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { y, mean, variance } = trainingBatchNorm(xv as tf.Tensor2D, g, b);
      tf.dispose([mean, variance]);
      return tf.sum(tf.mul(y, weights));
    };
    const expected = tf.grads(reference)([x, norm.gamma, norm.beta]);
    const got = tf.grads(ours)([x, norm.gamma, norm.beta]);
    got.forEach((g, i) => {
      const diff = tf.max(tf.abs(tf.sub(g, expected[i]))).dataSync()[0];
      assert.ok(diff < 1e-4, `input ${i}: max difference ${diff}`);
    });
    close(
      reference(x, norm.gamma, norm.beta).dataSync()[0],
      ours(x, norm.gamma, norm.beta).dataSync()[0],
    );
  });
  net.dispose();
});

test('linear op gradients equal plain autodiff', () => {
  tf.tidy(() => {
    const x = randomInput(5, 4, 1);
    const w = randomInput(4, 3, 2);
    const b = tf.tensor1d([0.1, -0.2, 0.3]);
    const f1 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.square(linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D)));
    const f2 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.square(tf.add(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D), bb)));
    const g1 = tf.grads(f1)([x, w, b]);
    const g2 = tf.grads(f2)([x, w, b]);
    g1.forEach((g, i) => assert.ok(tf.max(tf.abs(tf.sub(g, g2[i]))).dataSync()[0] < 1e-4));
  });
});

test('gradient reversal: identity forward, −λ × the plain gradient backward', () => {
  tf.tidy(() => {
    const x = tf.tensor1d([0.5, -1, 2]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.square(t), tf.tensor1d([1, 2, 3])));
    assert.deepEqual(Array.from(reverseGradient(x, 0.3).dataSync()), Array.from(x.dataSync()));
    const plain = tf.grad(f)(x).dataSync();
    const reversed = tf
      .grad((t: tf.Tensor) => f(reverseGradient(t, 0.3)))(x)
      .dataSync();
    plain.forEach((g, i) => close(reversed[i], -0.3 * g));
  });
});

test('save/load through in-memory artifacts preserves predictions and metadata', async () => {
  const net = createNetwork(config(), 4);
  const metadata: ScnymModelMetadata = {
    format: 'scnym-tfjs',
    formatVersion: 1,
    genes: Array.from({ length: 20 }, (_, i) => `g${i}`),
    classNames: ['a', 'b', 'c'],
    network: net.config,
    input: 'log1p-cpm',
  };
  const artifacts = await toArtifacts(net, metadata);
  const json = JSON.parse(JSON.stringify(artifacts.classifier.modelTopology));
  const loaded = await fromArtifacts({
    classifier: { ...artifacts.classifier, modelTopology: json },
  });
  assert.deepEqual(loaded.metadata.classNames, ['a', 'b', 'c']);
  tf.tidy(() => {
    const x = randomInput(4, 20, 1);
    const a = forward(net, x, { training: false }).logits.dataSync();
    const b = forward(loaded.network, x, { training: false }).logits.dataSync();
    assert.deepEqual(Array.from(a), Array.from(b));
  });
  net.dispose();
  loaded.network.dispose();
});

function close(a: number, b: number, tol = 1e-4) {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);
}

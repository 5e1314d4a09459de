import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../core/src/backend.js';
import { batchInput, forward } from '../../core/src/model/forward.js';
import { foldClassifier, inferenceForward } from '../../core/src/model/inference.js';
import { createNetwork, type ScnymNetwork } from '../../core/src/model/network.js';
import { Rng } from '../../core/src/random.js';
import { resolveOptions } from '../../core/src/train/options.js';
import { assertClose, randomCsr } from '../helpers/numeric.js';

before(async () => {
  await initBackend('auto');
});

/** A network whose BatchNorms look trained: γ, β and running statistics away from 1 / 0. */
function trainedLooking(nGenes: number, residual = false): ScnymNetwork {
  const net = createNetwork(
    {
      ...resolveOptions('original').network,
      nGenes,
      nClasses: 5,
      nDomains: 1,
      nHidden: 32,
      nHiddenInit: 48,
      residual,
      nLayers: residual ? 3 : 2,
    },
    3,
  );
  const rng = new Rng(4);
  const draw = (v: tf.Variable, lo: number, hi: number) =>
    v.assign(
      tf.tensor(
        Float32Array.from({ length: v.size }, () => lo + (hi - lo) * rng.uniform()),
        v.shape,
      ),
    );
  for (const block of net.params.blocks) {
    const norms = block.kind === 'plain' ? [block.norm] : [block.normA, block.normB, block.norm];
    for (const n of norms) {
      draw(n.gamma, 0.5, 2);
      draw(n.beta, -0.5, 0.5);
      draw(n.movingMean, -0.3, 0.3);
      draw(n.movingVariance, 0.05, 3);
    }
  }
  return net;
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`folded BatchNorm (${backend}): logits and embedding equal forward() in eval mode, sparse and dense`, async () => {
    const previous = tf.getBackend();
    await initBackend(backend);
    try {
      const x = randomCsr(70, 90, 0.1, 5);
      const net = trainedLooking(90);
      const reference = tf.tidy(() => {
        const out = forward(net, batchInput(x, false), { training: false });
        return [out.logits.dataSync().slice(), out.preActivation.dataSync().slice()];
      });
      const before = tf.memory().numTensors;
      const folded = foldClassifier(net);
      assert.ok(folded, 'plain blocks fold');
      for (const sparse of [true, false]) {
        const [logits, embedding] = tf.tidy(() => {
          const out = inferenceForward(folded, batchInput(x, sparse));
          return [out.logits.dataSync().slice(), out.preActivation.dataSync().slice()];
        });
        assertClose(logits, reference[0]);
        assertClose(embedding, reference[1]);
        // The embedding is the pre-ReLU layer: it has negative values.
        assert.ok(embedding.some((v) => v < 0));
      }
      folded.dispose();
      assert.equal(tf.memory().numTensors, before, 'folding leaves no tensors behind');
      net.dispose();
    } finally {
      await initBackend(previous as 'wasm' | 'cpu');
    }
  });
}

test('residual blocks are not folded (prediction then runs forward())', () => {
  const net = trainedLooking(40, true);
  const before = tf.memory().numTensors;
  assert.equal(foldClassifier(net), null);
  assert.equal(tf.memory().numTensors, before);
  net.dispose();
});

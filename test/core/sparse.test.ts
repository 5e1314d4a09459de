import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../core/src/backend.js';
import { mixCsrRows, sliceRows, toDense, type Csr } from '../../core/src/csr.js';
import { batchInput, forward } from '../../core/src/model/forward.js';
import { createNetwork } from '../../core/src/model/network.js';
import { linear } from '../../core/src/model/ops.js';
import {
  csrLinear,
  setSparseSimd,
  skipZerosLinear,
  sparseLinear,
} from '../../core/src/model/sparse.js';
import { simdAvailable, type WasmHeap } from '../../core/src/model/kernels/simd.js';
import { predict } from '../../core/src/predict.js';
import { Rng } from '../../core/src/random.js';
import { mixRows } from '../../core/src/train/mixmatch.js';
import { Adadelta } from '../../core/src/train/optimizers.js';
import { resolveOptions, type TrainOptions } from '../../core/src/train/options.js';
import { trainStep } from '../../core/src/train/step.js';
import { REPO } from '../helpers/paths.js';
import { assertClose, randomCsr } from '../helpers/numeric.js';

before(async () => {
  await initBackend('auto');
});

for (const backend of ['wasm', 'cpu']) {
  test(`sparse linear (${backend}): forward, dW and db equal the dense layer`, async () => {
    const previous = tf.getBackend();
    await initBackend(backend as 'wasm' | 'cpu');
    try {
      const x = randomCsr(37, 53, 0.08, 1);
      const rng = new Rng(2);
      const w = tf.tensor2d(
        Float32Array.from({ length: 53 * 11 }, () => rng.normal()),
        [53, 11],
      );
      const b = tf.tensor1d(Float32Array.from({ length: 11 }, () => rng.normal()));
      const dy = tf.tensor2d(
        Float32Array.from({ length: 37 * 11 }, () => rng.normal()),
        [37, 11],
      );
      const dense = tf.tensor2d(toDense(x), [37, 53]);
      const loss = (f: (w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D) =>
        tf.grads((wv: tf.Tensor, bv: tf.Tensor) =>
          tf.sum(tf.mul(f(wv as tf.Tensor2D, bv as tf.Tensor1D), dy)),
        );
      const sparseOut = sparseLinear(x, w, b);
      const denseOut = linear(dense, w, b, false);
      assertClose(sparseOut.dataSync(), denseOut.dataSync());
      const [sw, sb] = loss((wv, bv) => sparseLinear(x, wv, bv))([w, b]);
      const [dw, db] = loss((wv, bv) => linear(dense, wv, bv, false))([w, b]);
      assertClose(sw.dataSync(), dw.dataSync());
      assertClose(sb.dataSync(), db.dataSync());
      tf.dispose([w, b, dy, dense, sparseOut, denseOut, sw, sb, dw, db]);
    } finally {
      await initBackend(previous as 'wasm' | 'cpu');
    }
  });
}

for (const width of [256, 20]) {
  test(`sparse linear (wasm SIMD kernel, width ${width}): equals the JavaScript loop and the dense layer`, async () => {
    const previous = tf.getBackend();
    await initBackend('wasm');
    try {
      const heap = (tf.backend() as unknown as { wasm: WasmHeap }).wasm;
      assert.ok(simdAvailable(heap), 'WASM SIMD is available in Node 20');
      // Widths a multiple of 4 (the kernel's need): 256 runs the sixteen-column loop only, 20
      // its four-column tail too; rows with 0 to many entries (remainders of the four-at-a-time
      // loop), and a row slice whose offsets do not start at 0.
      const x = sliceRows(randomCsr(80, 301, 0.06, 7), 9, 74);
      const rng = new Rng(8);
      const w = tf.tensor2d(
        Float32Array.from({ length: 301 * width }, () => rng.normal()),
        [301, width],
      );
      const b = tf.tensor1d(Float32Array.from({ length: width }, () => rng.normal()));
      const dy = tf.tensor2d(
        Float32Array.from({ length: 65 * width }, () => rng.normal()),
        [65, width],
      );
      const run = () => {
        const out = sparseLinear(x, w, b);
        const relu = csrLinear(x, w, b, true)!;
        const [gw, gb] = tf.grads((wv: tf.Tensor, bv: tf.Tensor) =>
          tf.sum(tf.mul(sparseLinear(x, wv as tf.Tensor2D, bv as tf.Tensor1D), dy)),
        )([w, b]);
        const values = [out, gw, gb, relu].map((t) => t.dataSync().slice());
        tf.dispose([out, gw, gb, relu]);
        return values;
      };
      const before = tf.memory().numTensors;
      const simd = run();
      setSparseSimd(false);
      const js = run();
      setSparseSimd(true);
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
      const dense = tf.tensor2d(toDense(x), [65, 301]);
      const denseOut = linear(dense, w, b, false);
      const denseRelu = tf.relu(denseOut);
      for (let i = 0; i < 4; i++) assertClose(simd[i], js[i], 1e-5);
      assertClose(simd[0], denseOut.dataSync());
      assertClose(simd[3], denseRelu.dataSync());
      assert.ok(simd[3].every((v) => v >= 0) && simd[3].some((v) => v === 0));
      tf.dispose([w, b, dy, dense, denseOut, denseRelu]);
    } finally {
      setSparseSimd(true);
      await initBackend(previous as 'wasm' | 'cpu');
    }
  });
}

test('dense rows with zeros skipped (wasm SIMD kernel): equal the dense matMul, with and without ReLU', async () => {
  const previous = tf.getBackend();
  await initBackend('wasm');
  try {
    const rng = new Rng(21);
    // Half zeros like a ReLU output, negative values too (only exact zeros are skipped), an
    // all-zero row, and widths 256 and 20 (the kernel's four-column tail).
    const nRows = 33;
    const nIn = 40;
    const x = tf.tensor2d(
      Float32Array.from({ length: nRows * nIn }, (_, i) =>
        i < nIn || rng.uniform() < 0.5 ? 0 : rng.normal(),
      ),
      [nRows, nIn],
    );
    for (const width of [256, 20]) {
      const w = tf.tensor2d(
        Float32Array.from({ length: nIn * width }, () => rng.normal()),
        [nIn, width],
      );
      const b = tf.tensor1d(Float32Array.from({ length: width }, () => rng.normal()));
      for (const relu of [false, true]) {
        const before = tf.memory().numTensors;
        const got = skipZerosLinear(x, w, b, relu)!;
        assert.ok(got, 'the kernel runs on wasm with SIMD');
        const want = tf.fused.matMul({ a: x, b: w, bias: b, activation: relu ? 'relu' : 'linear' });
        assertClose(got.dataSync(), want.dataSync(), 1e-5);
        // The all-zero first row is the bias.
        assert.deepEqual(
          Array.from(got.dataSync().slice(0, width)),
          Array.from(b.dataSync(), (v) => (relu ? Math.max(v, 0) : v)),
        );
        tf.dispose([got, want]);
        assert.equal(tf.memory().numTensors, before, 'no tensors leak');
      }
      setSparseSimd(false);
      assert.equal(skipZerosLinear(x, w, b, false), null, 'null without the SIMD kernel');
      setSparseSimd(true);
      tf.dispose([w, b]);
    }
    x.dispose();
  } finally {
    setSparseSimd(true);
    await initBackend(previous as 'wasm' | 'cpu');
  }
});

test("linear on ReLU outputs (wasm): skipping zeros gives the dense matMul's value and gradients", async () => {
  const previous = tf.getBackend();
  await initBackend('wasm');
  try {
    const rng = new Rng(31);
    const x = tf.tensor2d(
      Float32Array.from({ length: 24 * 64 }, () => (rng.uniform() < 0.75 ? 0 : rng.uniform())),
      [24, 64],
    );
    const w = tf.tensor2d(
      Float32Array.from({ length: 64 * 32 }, () => rng.normal()),
      [64, 32],
    );
    const b = tf.tensor1d(Float32Array.from({ length: 32 }, () => rng.normal()));
    const dy = tf.tensor2d(
      Float32Array.from({ length: 24 * 32 }, () => rng.normal()),
      [24, 32],
    );
    const run = () => {
      const [gx, gw, gb] = tf.grads((xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
        tf.sum(tf.mul(linear(xv as tf.Tensor2D, wv as tf.Tensor2D, bv as tf.Tensor1D), dy)),
      )([x, w, b]);
      const out = linear(x, w, b);
      const values = [out, gx, gw, gb].map((t) => t.dataSync().slice());
      tf.dispose([out, gx, gw, gb]);
      return values;
    };
    const skipped = run();
    setSparseSimd(false); // the kernels off: TF.js's matMuls
    const dense = run();
    setSparseSimd(true);
    for (let i = 0; i < 4; i++) assertClose(skipped[i], dense[i], 1e-5);
    tf.dispose([x, w, b, dy]);
  } finally {
    setSparseSimd(true);
    await initBackend(previous as 'wasm' | 'cpu');
  }
});

test('sparse linear: empty rows give the bias, row slices with offsets work', () => {
  const x = randomCsr(20, 30, 0.1, 3);
  const w = tf.randomNormal([30, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
  const b = tf.tensor1d([1, 2, 3, 4]);
  const part = sliceRows(x, 7, 15);
  const got = sparseLinear(part, w, b).dataSync();
  const want = linear(tf.tensor2d(toDense(part), [8, 30]), w, b, false).dataSync();
  assertClose(got, want);
  const zero = sparseLinear(
    {
      nRows: 2,
      nCols: 30,
      indptr: new Int32Array(3),
      indices: new Int32Array(0),
      data: new Float32Array(0),
    },
    w,
    b,
  );
  assert.deepEqual(Array.from(zero.dataSync()), [1, 2, 3, 4, 1, 2, 3, 4]);
  tf.dispose([w, b, zero]);
});

test('MixUp of CSR rows densifies to exactly the dense MixUp', () => {
  const x = randomCsr(12, 25, 0.2, 5);
  const rng = new Rng(6);
  const permutation = rng.permutation(12);
  const gamma = Float32Array.from({ length: 12 }, () => 0.5 + 0.5 * rng.uniform());
  const mixed = mixCsrRows(x, permutation, gamma);
  const dense = mixRows(toDense(x), permutation, gamma);
  assert.deepEqual(Array.from(toDense(mixed)), Array.from(dense));
  // The union of the two patterns, no more.
  for (let i = 0; i < 12; i++) {
    const own = new Set(x.indices.subarray(x.indptr[i], x.indptr[i + 1]));
    const j = permutation[i];
    for (const c of x.indices.subarray(x.indptr[j], x.indptr[j + 1])) own.add(c);
    assert.equal(mixed.indptr[i + 1] - mixed.indptr[i], own.size);
  }
});

test('training-mode forward: CSR and dense inputs give the same outputs and dropout masks', () => {
  const x = randomCsr(16, 40, 0.1, 7);
  const net = createNetwork(
    { ...resolveOptions('original').network, nGenes: 40, nClasses: 3, nDomains: 2 },
    0,
  );
  const run = (sparse: boolean) =>
    tf.tidy(() => {
      const mode = { training: true as const, rng: new Rng(9), dropout: 0.5, normUpdates: [] };
      const out = forward(net, batchInput(x, sparse), mode);
      mode.normUpdates.forEach((u: { mean: tf.Tensor; variance: tf.Tensor }) =>
        tf.dispose([u.mean, u.variance]),
      );
      return Array.from(out.logits.dataSync());
    });
  assertClose(run(true), run(false));
  net.dispose();
});

test('seeded training steps: sparse and dense inputs reach the same weights; no tensor leaks', () => {
  const labeled = randomCsr(64, 50, 0.1, 11);
  const unlabeled = randomCsr(64, 50, 0.1, 12);
  const labels = Int32Array.from({ length: 64 }, (_, i) => i % 3);
  const o = { ...resolveOptions('original'), batchSize: 32 } as TrainOptions;
  const weights = (sparse: boolean) => {
    const net = createNetwork({ ...o.network, nGenes: 50, nClasses: 3, nDomains: 2 }, 0);
    const optimizer = new Adadelta({ learningRate: 1, rho: 0.9, epsilon: 1e-6, weightDecay: 1e-4 });
    const ctx = {
      net,
      optimizer,
      options: o,
      rng: new Rng(0),
      labeled,
      labels,
      unlabeled: unlabeled as Csr,
      labeledDomains: new Int32Array(64),
      unlabeledDomains: new Int32Array(64).fill(1),
      sparseInput: sparse,
    };
    const rows = Int32Array.from({ length: 32 }, (_, i) => i * 2);
    trainStep(ctx, rows, rows, { unsup: 0.5, dan: 0.1 });
    const count = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainStep(ctx, rows, rows, { unsup: 0.5, dan: 0.1 });
    assert.equal(tf.memory().numTensors, count);
    const values = net.allVariables().flatMap((v) => Array.from(v.dataSync()));
    optimizer.dispose();
    net.dispose();
    return values;
  };
  assertClose(weights(true), weights(false), 1e-3);
});

test('prediction: sparse and dense inputs give the same probabilities and embedding', async () => {
  const x = randomCsr(50, 30, 0.15, 13);
  const network = createNetwork(
    { ...resolveOptions('original').network, nGenes: 30, nClasses: 4, nDomains: 1 },
    1,
  );
  const model = {
    network,
    genes: Array.from({ length: 30 }, (_, i) => `g${i}`),
    classNames: ['a', 'b', 'c', 'd'],
  };
  const sparse = await predict(model, x, { input: 'log1p-cpm', batchSize: 16, sparseInput: true });
  const dense = await predict(model, x, { input: 'log1p-cpm', batchSize: 16, sparseInput: false });
  assertClose(sparse.probabilities, dense.probabilities);
  assertClose(sparse.embedding, dense.embedding);
  network.dispose();
});

test('the committed SIMD kernels and lzf plugin are their .wat assembled (core/scripts/build-wasm.mjs --check)', (t) => {
  const assembler = spawnSync('wat2wasm', ['--version']);
  if (assembler.error && !process.env.CI) {
    t.skip('wat2wasm (Debian: wabt) is not installed');
    return;
  }
  const r = spawnSync(
    process.execPath,
    [join(REPO, 'core', 'scripts', 'build-wasm.mjs'), '--check'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
});

/**
 * Speed: training steps/s, seconds per epoch and prediction cells/s with the sparse input layer
 * against the dense one measured in the same run, on kang_ifnb (original preset: MixUp, the
 * consistency loss and the adversary all on) and on synthetic data; peak RSS of the process.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../core/src/backend.js';
import type { Csr } from '../../core/src/csr.js';
import { createNetwork } from '../../core/src/model/network.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { predict } from '../../core/src/predict.js';
import { prepareTraining } from '../../core/src/prepare.js';
import { Rng } from '../../core/src/random.js';
import { Adadelta } from '../../core/src/train/optimizers.js';
import { resolveOptions, type TrainOptions } from '../../core/src/train/options.js';
import { trainStep, type StepContext } from '../../core/src/train/step.js';
import { train, type TrainingData } from '../../core/src/train/trainer.js';
import { sharedFile } from '../helpers/paths.js';
import { syntheticCells } from './synthetic.js';

interface Case {
  name: string;
  data: TrainingData;
}

const rssMb = () => process.resourceUsage().maxRSS / 1024;
const density = (m: Csr) => (m.indptr[m.nRows] - m.indptr[0]) / (m.nRows * m.nCols);

async function kang(): Promise<Case> {
  const reference = await openAnnDataFile(sharedFile('kang_ifnb', 'reference.h5ad'));
  const target = await openAnnDataFile(sharedFile('kang_ifnb', 'target.h5ad'));
  try {
    const { data } = await prepareTraining(reference, target, { labelKey: 'cell_type' });
    return { name: 'kang_ifnb', data };
  } finally {
    await reference.close();
    await target.close();
  }
}

function synthetic(nCells: number, nGenes: number): Case {
  const s = syntheticCells({ nCells, nGenes, seed: 1 });
  const half = Math.floor(nCells / 2);
  const rows = (from: number, to: number): Csr => {
    const base = s.x.indptr[from];
    return {
      nRows: to - from,
      nCols: nGenes,
      indptr: Int32Array.from(s.x.indptr.subarray(from, to + 1), (v) => v - base),
      indices: s.x.indices.slice(base, s.x.indptr[to]),
      data: s.x.data.slice(base, s.x.indptr[to]),
    };
  };
  return {
    name: `synthetic ${nCells / 1000}k×${nGenes / 1000}k`,
    data: {
      labeled: rows(0, half),
      labels: s.labels.slice(0, half),
      classNames: s.classNames,
      unlabeled: rows(half, nCells),
      genes: s.genes,
    },
  };
}

/** Optimiser steps per second of trainStep, after one warm-up step. */
function stepsPerSecond(data: TrainingData, options: TrainOptions, sparse: boolean, n: number) {
  const net = createNetwork(
    {
      ...options.network,
      nGenes: data.genes.length,
      nClasses: data.classNames.length,
      nDomains: 2,
    },
    0,
  );
  const optimizer = new Adadelta({ learningRate: 1, rho: 0.9, epsilon: 1e-6, weightDecay: 1e-4 });
  const ctx: StepContext = {
    net,
    optimizer,
    options,
    rng: new Rng(0),
    labeled: data.labeled,
    labels: data.labels,
    unlabeled: data.unlabeled,
    labeledDomains: new Int32Array(data.labeled.nRows),
    unlabeledDomains: new Int32Array(data.unlabeled!.nRows).fill(1),
    sparseInput: sparse,
  };
  const rng = new Rng(1);
  const batch = (m: Csr) =>
    Int32Array.from({ length: Math.min(options.batchSize, m.nRows) }, () => rng.int(m.nRows));
  const weights = { unsup: 0.5, dan: 0.1 };
  trainStep(ctx, batch(data.labeled), batch(data.unlabeled!), weights);
  const started = performance.now();
  for (let i = 0; i < n; i++) trainStep(ctx, batch(data.labeled), batch(data.unlabeled!), weights);
  const seconds = (performance.now() - started) / 1000;
  optimizer.dispose();
  net.dispose();
  return n / seconds;
}

async function secondsPerEpoch(data: TrainingData, options: TrainOptions, sparse: boolean) {
  const nEpochs = 3;
  const model = await train(data, { ...options, nEpochs, minEpochs: 0, sparseInput: sparse });
  model.network.dispose();
  return model.summary.seconds / nEpochs;
}

async function cellsPerSecond(data: TrainingData, sparse: boolean): Promise<number> {
  const x = data.unlabeled!;
  const network = createNetwork(
    {
      ...resolveOptions('original').network,
      nGenes: x.nCols,
      nClasses: data.classNames.length,
      nDomains: 1,
    },
    0,
  );
  const model = { network, genes: data.genes, classNames: data.classNames };
  await predict(model, x, { input: 'log1p-cpm', embedding: false, sparseInput: sparse });
  const started = performance.now();
  const result = await predict(model, x, {
    input: 'log1p-cpm',
    embedding: false,
    sparseInput: sparse,
  });
  const seconds = (performance.now() - started) / 1000;
  network.dispose();
  return result.nCells / seconds;
}

const fmt = (v: number, digits = 2) => v.toFixed(digits);

export async function benchSpeed(): Promise<void> {
  const backend = await initBackend('auto');
  console.log(`## Speed (backend ${backend}; dense and sparse input layer, same run)\n`);
  const original = resolveOptions('original');
  console.log('| data | cells × genes | density | path | steps/s | s/epoch | predict cells/s |');
  console.log('|---|---|---|---|---|---|---|');
  const cases = [await kang(), synthetic(10_000, 2_000)];
  for (const c of cases) {
    const { data } = c;
    const nCells = data.labeled.nRows + (data.unlabeled?.nRows ?? 0);
    const results: Record<string, number[]> = {};
    for (const sparse of [false, true]) {
      const steps = stepsPerSecond(data, original, sparse, 6);
      const epoch = await secondsPerEpoch(data, original, sparse);
      const cells = await cellsPerSecond(data, sparse);
      results[sparse ? 'sparse' : 'dense'] = [steps, epoch, cells];
      console.log(
        `| ${c.name} | ${nCells} × ${data.genes.length} | ${fmt(100 * density(data.labeled), 1)}% | ` +
          `${sparse ? 'sparse' : 'dense'} | ${fmt(steps)} | ${fmt(epoch)} | ${Math.round(cells)} |`,
      );
    }
    const [d, s] = [results.dense, results.sparse];
    console.log(
      `| ${c.name} | | | sparse ÷ dense | ×${fmt(s[0] / d[0])} | ×${fmt(s[1] / d[1])} | ` +
        `×${fmt(s[2] / d[2])} |`,
    );
  }
  console.log(`\nPeak RSS ${Math.round(rssMb())} MB; tensors left ${tf.memory().numTensors}.\n`);
}

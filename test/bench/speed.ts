/**
 * Speed: training steps/s, seconds per epoch and prediction cells/s with the sparse input layer
 * against the dense one measured in the same run, on kang_ifnb (original preset: MixUp, the
 * consistency loss and the adversary all on) and on synthetic data; peak RSS of the process.
 *
 * Prediction at scale: synthetic 10k×2k and 100k×2k (and 1M×20k with SCNYM_BENCH_LARGE=1)
 * generated on the fly and predicted through the real path (chooseMatrix → log1pCpmBlocks →
 * predict) by predictAnnData, each size and input layer in a child process of its own so that
 * each reports its own peak RSS. Only this table, without the training runs:
 *
 *   node --import tsx test/bench/speed.ts --prediction [--large]
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { predictAnnData } from '../../core/src/annotate.js';
import { initBackend } from '../../core/src/backend.js';
import type { Csr } from '../../core/src/csr.js';
import { createNetwork } from '../../core/src/model/network.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { defaultBatchSize, predict } from '../../core/src/predict.js';
import { prepareTraining } from '../../core/src/prepare.js';
import { Rng } from '../../core/src/random.js';
import { Adadelta } from '../../core/src/train/optimizers.js';
import { resolveOptions, type TrainOptions } from '../../core/src/train/options.js';
import { trainStep, type StepContext } from '../../core/src/train/step.js';
import { train, type TrainingData } from '../../core/src/train/trainer.js';
import { sharedFile } from '../helpers/paths.js';
import { SyntheticCounts, syntheticCells } from './synthetic.js';

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

export interface SpeedOptions {
  /** Also predict 1M cells × 20k genes (default: the SCNYM_BENCH_LARGE environment variable). */
  large?: boolean;
}

export async function benchSpeed(options: SpeedOptions = {}): Promise<void> {
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
  benchPredictionScale(options.large ?? process.env.SCNYM_BENCH_LARGE === '1');
}

// ---------------------------------------------------------------------------------------------
// Prediction at scale, one child process per run.

interface ScaleRun {
  nCells: number;
  nGenes: number;
  /** Median UMIs per cell: 500 → ≈330 non-zeros of 2k genes (17%), 2,000 → ≈1,750 of 20k. */
  libraryMedian: number;
  sparse: boolean;
  embedding: boolean;
  batchSize?: number;
}

interface ScaleResult {
  backend: string;
  nCells: number;
  nnzPerCell: number;
  batchSize: number;
  blockRows: number;
  /** predictAnnData's wall time, of which `generationSeconds` made up the synthetic rows. */
  wallSeconds: number;
  generationSeconds: number;
  /** nCells / (wall − generation): what reading a file instead would add nothing to. */
  cellsPerSecond: number;
  /** RSS after the backend, the model and a 2,048-cell warm-up; peak RSS of the child. */
  baselineRssMb: number;
  peakRssMb: number;
  /** Largest RSS seen at the block boundaries (sampled). */
  sampledRssMb: number;
  outputMb: number;
}

const SPEED_FILE = fileURLToPath(import.meta.url);

function runChild(run: ScaleRun): ScaleResult {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', SPEED_FILE, '--predict-child', JSON.stringify(run)],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) {
    throw new Error(`prediction child ${JSON.stringify(run)} failed (${r.status}): ${r.stderr}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ScaleResult;
}

/** One prediction run (in the child): warm up, then predictAnnData over the synthetic AnnData. */
async function predictChild(run: ScaleRun): Promise<ScaleResult> {
  const backend = await initBackend('auto');
  const make = (nCells: number) =>
    new SyntheticCounts({
      nCells,
      nGenes: run.nGenes,
      libraryMedian: run.libraryMedian,
      seed: 1,
    });
  const counts = make(run.nCells);
  const network = createNetwork(
    {
      ...resolveOptions('original').network,
      nGenes: run.nGenes,
      nClasses: counts.classNames.length,
      nDomains: 1,
    },
    0,
  );
  const model = { network, genes: counts.genes, classNames: counts.classNames };
  const request = { embedding: run.embedding, sparseInput: run.sparse, batchSize: run.batchSize };
  await predictAnnData(model, make(2048).annData(), request);
  const baseline = process.memoryUsage().rss;
  let sampled = baseline;
  const ad = counts.annData();
  const started = performance.now();
  const p = await predictAnnData(model, ad, request, {
    onProgress: () => {
      sampled = Math.max(sampled, process.memoryUsage().rss);
    },
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const generationSeconds = counts.seconds;
  const nnz = counts.rows(0, 1000).indptr[1000] / 1000;
  const mb = (bytes: number) => bytes / 2 ** 20;
  const result: ScaleResult = {
    backend,
    nCells: p.nCells,
    nnzPerCell: nnz,
    batchSize: run.batchSize ?? defaultBatchSize(run.nGenes),
    blockRows: (await ad.matrix('X')).preferredBlockRows,
    wallSeconds,
    generationSeconds,
    cellsPerSecond: p.nCells / (wallSeconds - generationSeconds),
    baselineRssMb: mb(baseline),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    sampledRssMb: mb(sampled),
    outputMb: mb(
      p.codes.byteLength +
        p.confidence.byteLength +
        p.probabilities.byteLength +
        p.embedding.byteLength +
        8 * p.labels.length,
    ),
  };
  network.dispose();
  return result;
}

function benchPredictionScale(large: boolean): void {
  const sizes: Omit<ScaleRun, 'sparse' | 'embedding'>[] = [
    { nCells: 10_000, nGenes: 2_000, libraryMedian: 500 },
    { nCells: 100_000, nGenes: 2_000, libraryMedian: 500 },
  ];
  if (large) sizes.push({ nCells: 1_000_000, nGenes: 20_000, libraryMedian: 2_000 });
  console.log(
    '## Prediction at scale (synthetic counts generated on the fly → predictAnnData; ' +
      'one child process per row)\n',
  );
  console.log(
    'cells/s = cells ÷ (wall − generation of the synthetic rows); RSS before = after backend, ' +
      'model and warm-up; outputs = what the Prediction holds.\n',
  );
  console.log(
    '| data | nnz/cell | path | embedding | batch | block | cells/s | wall s | generation s | ' +
      'RSS before MB | peak RSS MB | outputs MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const label = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
  const backends = new Set<string>();
  for (const size of sizes) {
    const name = `synthetic ${label(size.nCells)}×${label(size.nGenes)}`;
    const runs: ScaleRun[] = [
      { ...size, sparse: false, embedding: true },
      { ...size, sparse: true, embedding: true },
    ];
    if (size.nCells >= 1e6) runs.push({ ...size, sparse: true, embedding: false });
    const results = runs.map((run) => {
      const r = runChild(run);
      backends.add(r.backend);
      console.log(
        `| ${name} | ${Math.round(r.nnzPerCell)} | ${run.sparse ? 'sparse' : 'dense'} | ` +
          `${run.embedding ? 'yes' : 'no'} | ${r.batchSize} | ${r.blockRows} | ` +
          `${Math.round(r.cellsPerSecond)} | ${fmt(r.wallSeconds, 1)} | ` +
          `${fmt(r.generationSeconds, 1)} | ${Math.round(r.baselineRssMb)} | ` +
          `${Math.round(r.peakRssMb)} | ${Math.round(r.outputMb)} |`,
      );
      return r;
    });
    console.log(
      `| ${name} | | sparse ÷ dense | | | | ` +
        `×${fmt(results[1].cellsPerSecond / results[0].cellsPerSecond)} | | | | | |`,
    );
  }
  console.log(`\nBackend ${[...backends].join(', ')}.\n`);
}

// Run directly: `node --import tsx test/bench/speed.ts --prediction [--large]` runs only the
// prediction-at-scale table; `--predict-child RUN` is one of its child processes.
if (resolve(process.argv[1] ?? '') === SPEED_FILE) {
  if (process.argv[2] === '--predict-child') {
    const result = await predictChild(JSON.parse(process.argv[3]) as ScaleRun);
    console.log(JSON.stringify(result));
  } else if (process.argv[2] === '--prediction') {
    console.log(
      `# scnym-js prediction at scale (${new Date().toISOString()}, node ${process.version})\n`,
    );
    benchPredictionScale(process.argv.includes('--large'));
  }
}

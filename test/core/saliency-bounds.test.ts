// Saliency on the demo query with a saved (untrained) model of the demo's genes: long runs show
// progress and stop promptly on Ctrl-C (exit 130) or an aborted signal, freeing their tensors;
// absurd work sizes are refused up front with the flag, its range and why, instead of filling
// memory with nothing on screen.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ScnymError } from '../../core/src/errors.js';
import { initBackend } from '../../core/src/backend.js';
import { saliencyAnnData } from '../../core/src/interpret/saliency.js';
import { DEFAULT_NETWORK } from '../../core/src/model/config.js';
import { modelToFiles, type ModelCard } from '../../core/src/model/files.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from '../../core/src/model/io.js';
import { createNetwork } from '../../core/src/model/network.js';
import { loadModelDir, saveModelDir } from '../../core/src/node/model-dir.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { runScnym } from '../helpers/cli.js';
import { CLI, PYTHON, REPO } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = join(REPO, 'core', 'demo', 'target.zarr');
const CLASSES = ['B', 'CD4T', 'NK'];
const modelDir = join(tempDir(), 'model');
let genes: string[];

before(async () => {
  await initBackend('auto');
  const data = await openAnnDataFile(DATA);
  genes = await data.varNames();
  await data.close();
  const config = {
    ...DEFAULT_NETWORK,
    nGenes: genes.length,
    nClasses: CLASSES.length,
    nDomains: 0,
  };
  const network = createNetwork(config, 0);
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    genes,
    classNames: CLASSES,
    domainNames: ['reference'],
    preprocessing: { input: 'log1p-cpm', targetSum: 1e6, log: 'natural' },
    network: config,
    training: { labelKey: 'cell_type' },
    provenance: { tool: 'scnym-js', toolVersion: '0.1.0', created: new Date().toISOString() },
  };
  await saveModelDir(modelDir, await modelToFiles(network, card));
  network.dispose();
});

/** The explained cells are the demo's CD4 T cells (by obs, so the untrained model's calls do not matter). */
const BASE = ['saliency', '--model', modelDir, '--data', DATA, '--class', 'CD4T'];
const BY_OBS = ['--groupby', 'cell_type', '--group', 'CD4T'];

test('Ctrl-C during a long saliency run stops it within seconds with exit 130', async () => {
  // 10,000 draws for each of 300 cells: minutes of work, so the run is surely mid-way when
  // the signal comes. The progress line shows that the work has started.
  const child = spawn(
    process.execPath,
    [CLI, ...BASE, ...BY_OBS, '--samples', '10000', '--max-cells', '300'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = await new Promise<boolean>((resolve) => {
    const giveUp = setTimeout(() => resolve(false), 60_000);
    child.stderr.on('data', (text: string) => {
      stderr += text;
      if (/^saliency: \d+%/m.test(stderr)) {
        clearTimeout(giveUp);
        resolve(true);
      }
    });
    child.on('exit', () => resolve(false));
  });
  if (!started) child.kill('SIGKILL');
  assert.ok(started, `no saliency progress within 60 s:\n${stderr}`);

  const t0 = Date.now();
  child.kill('SIGINT');
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(killer);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(code, 130, stderr);
  assert.ok(seconds < 5, `took ${seconds.toFixed(1)} s to stop after Ctrl-C`);
  assert.match(stderr, /cancelling…/);
});

test('absurd --samples, --steps, --max-cells and --top are refused with the range and why', () => {
  const cases: [string[], RegExp][] = [
    [['--samples', '1000000000'], /--samples must be an integer in 1…10000 \(got '1000000000'\): /],
    [
      ['--method', 'integrated', '--steps', '1000000000000'],
      /--steps must be an integer in 1…10000 \(got '1000000000000'\): /,
    ],
    [
      ['--method', 'gradient', '--max-cells', '1000000000000'],
      /--max-cells must be an integer in 1…1000000 \(got '1000000000000'\): /,
    ],
    [
      ['--method', 'gradient', '--top', '1e12'],
      /--top must be an integer in 1…100000 \(got '1e12'\): /,
    ],
  ];
  for (const [flags, message] of cases) {
    // On a model and data that would otherwise run: the refusal comes before any work.
    const t0 = Date.now();
    const r = runScnym([...BASE, ...BY_OBS, ...flags], 60_000);
    assert.ok(Date.now() - t0 < 60_000, `${flags.join(' ')}: still running after 60 s`);
    assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('saliencyAnnData: an abort mid-run rejects within a pass and frees every tensor', async () => {
  const model = await loadModelDir(modelDir);
  const data = await openAnnDataFile(DATA);
  const controller = new AbortController();
  const tensors = tf.memory().numTensors;
  let updates = 0;
  try {
    // 600 draws for each of 64 cells: 75 passes of 512 rows; the abort comes after the second.
    await assert.rejects(
      saliencyAnnData(
        model,
        data,
        { className: 'CD4T', groupby: 'cell_type', group: 'CD4T', samples: 600, maxCells: 64 },
        {
          signal: controller.signal,
          onProgress: (stage) => {
            if (stage === 'saliency' && ++updates === 3) controller.abort();
          },
        },
      ),
      { name: 'AbortError' },
    );
    assert.equal(updates, 3, 'no pass ran after the abort');
    assert.equal(tf.memory().numTensors, tensors, 'tensors left behind');
  } finally {
    await data.close();
    model.network.dispose();
  }
});

test('saliencyAnnData refuses absurd sizes before any work, and per-cell output that cannot fit', async () => {
  const model = await loadModelDir(modelDir);
  const data = await openAnnDataFile(DATA);
  const request = {
    className: 'CD4T',
    groupby: 'cell_type',
    group: 'CD4T',
    method: 'gradient' as const,
  };
  try {
    await assert.rejects(
      saliencyAnnData(model, data, { ...request, maxCells: 1e12 }),
      /maxCells must be an integer in 1…1000000 \(got 1000000000000\): the mean attribution/,
    );
    await assert.rejects(
      saliencyAnnData(model, data, { ...request, top: 1e12 }),
      /top must be an integer in 1…100000/,
    );
    await assert.rejects(
      saliencyAnnData(model, data, { ...request, method: 'expected', samples: 1e9 }),
      /samples must be an integer in 1…10000 \(got 1000000000\)/,
    );
    await assert.rejects(
      saliencyAnnData(model, data, { ...request, method: 'integrated', steps: 1.5 }),
      /steps must be an integer in 1…10000 \(got 1\.5\)/,
    );
  } finally {
    model.network.dispose();
    await data.close();
  }
  // Every cell's attributions, 5000 cells × 14000 genes (267 MiB), do not fit the per-cell bound:
  // refused before any work, naming the most cells that fit. The data are written by anndata.
  const wideFile = join(tempDir(), 'wide.h5ad');
  const py = spawnSync(
    PYTHON,
    [
      '-c',
      `import sys, numpy as np, scipy.sparse as sp, pandas as pd, anndata as ad
rng = np.random.default_rng(0)
X = sp.random(5000, 14000, density=0.002, format='csr', dtype=np.float32, random_state=0)
X.data[:] = rng.integers(1, 10, X.nnz)
obs = pd.DataFrame({'all': pd.Categorical(['cells'] * 5000)}, index=[f'c{i}' for i in range(5000)])
ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f'g{i}' for i in range(14000)])).write_h5ad(sys.argv[1])`,
      wideFile,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, py.stderr);
  const wideGenes = Array.from({ length: 14000 }, (_, i) => `g${i}`);
  const network = createNetwork(
    { ...DEFAULT_NETWORK, nGenes: 14000, nClasses: 3, nDomains: 0, nHidden: 8, nHiddenInit: 8 },
    0,
  );
  const wide = await openAnnDataFile(wideFile);
  try {
    let error: unknown;
    await saliencyAnnData({ network, genes: wideGenes, classNames: CLASSES }, wide, {
      ...request,
      groupby: 'all',
      group: 'cells',
      perCell: true,
      maxCells: 1_000_000,
    }).catch((err: unknown) => (error = err));
    assert.ok(error instanceof ScnymError, `expected a refusal, got ${String(error)}`);
    assert.match(
      error.message,
      /keeping each cell's attributions for 5000 cells × 14000 genes needs 0\.3 GiB/,
    );
    assert.match(error.message, /explain at most 4793 cells with --per-cell/);
  } finally {
    network.dispose();
    await wide.close();
  }
});

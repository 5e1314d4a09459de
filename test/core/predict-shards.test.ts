// Prediction spread by row ranges: worker threads inside one predict, and shards (predict
// --shard i/N) merged back into the query. Both must give exactly what one single-threaded
// predict gives, to the bit, on real data (core/demo, kang_ifnb) with a model trained on it;
// merge must refuse shards that do not belong together, leaving the query untouched.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  initBackend,
  isAbortError,
  isScnymError,
  modelToFiles,
  queryPredictor,
  sharedInputLayerOf,
  splitRows,
  type Prediction,
  type SharedInputLayer,
} from '@scnym/core';
import { untrainedModelFiles } from '../helpers/model.js';
import { annotationKeys } from '@scnym/core/vocabulary';
import {
  loadModelDir,
  mergeShards,
  openAnnDataFile,
  partsFor,
  predictFiles,
  predictInThreads,
  predictShard,
  saveModelDir,
  shardRows,
  trainFiles,
} from '@scnym/core/node';
import { runScnym } from '../helpers/cli.js';
import { PYTHON, REPO, sharedFile } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DEMO_QUERY = join(REPO, 'core', 'demo', 'target.zarr');
const DEMO_REFERENCE = join(REPO, 'core', 'demo', 'reference.zarr');
const KANG_H5AD = sharedFile('kang_ifnb', 'target.h5ad');

let model = '';
let otherModel = '';

before(async () => {
  await initBackend('auto');
  const dir = tempDir();
  model = join(dir, 'model');
  otherModel = join(dir, 'other');
  for (const [out, seed] of [
    [model, 0],
    [otherModel, 1],
  ] as const) {
    await trainFiles(
      { reference: DEMO_REFERENCE, modelOut: out },
      { labelKey: 'cell_type', overrides: { nEpochs: 2, seed } },
    );
  }
});

function sameArrays(a: Prediction, b: Prediction, what: string): void {
  assert.equal(a.nCells, b.nCells, `${what}: cells`);
  assert.deepEqual(a.labels, b.labels, `${what}: labels`);
  for (const key of ['codes', 'confidence', 'probabilities', 'embedding', 'novelty'] as const) {
    assert.ok(
      Buffer.from(a[key].buffer, a[key].byteOffset, a[key].byteLength).equals(
        Buffer.from(b[key].buffer, b[key].byteOffset, b[key].byteLength),
      ),
      `${what}: ${key} differ`,
    );
  }
}

/** The keys predict writes, as core reads them back (arrays as bytes, to compare bitwise). */
async function writtenKeys(file: string, keyAdded?: string) {
  const keys = annotationKeys(keyAdded);
  const ad = await openAnnDataFile(file);
  try {
    const bytes = async (key: string) => {
      const m = await ad.obsm(key);
      return Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('base64');
    };
    return {
      label: await ad.obsColumn(keys.label),
      confidence: await ad.obsColumn(keys.confidence),
      novelty: await ad.obsColumn(keys.novelty),
      embedding: await bytes(keys.embedding),
      probabilities: await bytes(keys.probabilities),
      classes: await ad.uns(keys.classes),
      colors: await ad.uns(keys.colors),
      trainResults: await ad.uns(keys.trainResults),
    };
  } finally {
    await ad.close();
  }
}

test("row ranges are cut at the store's chunks: CSR data chunks (zarr, h5ad), dense row chunks", async () => {
  const dir = tempDir();
  const dense = join(dir, 'dense.zarr');
  const made = spawnSync(
    PYTHON,
    [
      '-c',
      'import sys, numpy as np, anndata\n' +
        'a = anndata.AnnData(X=np.random.default_rng(0).poisson(1, (100, 60)).astype(np.float32))\n' +
        'a.write_zarr(sys.argv[1], chunks=(16, 60))',
      dense,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  for (const [file, chunk] of [
    [DEMO_QUERY, 84012],
    [KANG_H5AD, 5251],
    [dense, 16],
  ] as const) {
    const ad = await openAnnDataFile(file);
    try {
      const reader = await ad.matrix('X');
      const n = reader.shape[0];
      // Where each row's stored values start: the CSR indptr, or row × genes for dense.
      const whole = await reader.rows(0, n);
      const startOf = (row: number) => (reader.encoding === 'dense' ? row : whole.indptr[row]);
      for (const parts of [2, 3, 7]) {
        const ranges = splitRows({ start: 0, end: n }, parts, reader.alignRow?.bind(reader));
        assert.equal(ranges.length, parts);
        assert.equal(ranges[0].start, 0);
        assert.equal(ranges[parts - 1].end, n);
        for (let k = 1; k < parts; k++) {
          const cut = ranges[k].start;
          assert.equal(ranges[k - 1].end, cut, `${file}: contiguous`);
          if (cut === 0 || cut === n) continue;
          // A cut is the first row whose values start at or past a chunk boundary.
          const boundary = Math.floor(startOf(cut) / chunk) * chunk;
          assert.ok(startOf(cut - 1) < boundary, `${file}: row ${cut} starts no chunk`);
        }
        // The parts threads take are cut at chunk boundaries too.
        const shrinking = partsFor({ start: 0, end: n }, parts, reader.alignRow?.bind(reader));
        assert.equal(shrinking[0].start, 0);
        assert.equal(shrinking.at(-1)!.end, n);
        for (let k = 1; k < shrinking.length; k++) {
          const cut = shrinking[k].start;
          assert.equal(shrinking[k - 1].end, cut, `${file}: parts contiguous`);
          assert.ok(cut > shrinking[k - 1].start, `${file}: no empty part`);
          const boundary = Math.floor(startOf(cut) / chunk) * chunk;
          assert.ok(startOf(cut - 1) < boundary, `${file}: part at row ${cut} starts no chunk`);
        }
        // Each shard is one of these ranges.
        for (let i = 0; i < parts; i++) {
          assert.deepEqual(
            shardRows(n, { index: i, count: parts }, reader.alignRow?.bind(reader)),
            ranges[i],
          );
        }
      }
    } finally {
      await ad.close();
    }
  }
});

test('threads take parts that shrink towards the end, so that they finish together', () => {
  const sizes = (n: number, threads: number) =>
    partsFor({ start: 0, end: n }, threads).map((p) => p.end - p.start);
  const big = sizes(1_000_000, 2);
  assert.equal(
    big.reduce((a, b) => a + b, 0),
    1_000_000,
  );
  // A quarter first (the rows left ÷ 2 threads ÷ 2), then ever smaller, down to 2,048 rows.
  assert.equal(big[0], 250_000);
  for (let k = 1; k < big.length - 1; k++) assert.ok(big[k] <= big[k - 1], `part ${k} shrinks`);
  assert.ok(big.at(-2) === 2048 && big.at(-1)! >= 2048 && big.at(-1)! < 4096, String(big));
  assert.ok(big.length < 40, `${big.length} parts`);
  // A small query still gives every thread several parts; one thread takes it whole.
  assert.ok(sizes(1039, 2).length >= 4);
  assert.deepEqual(sizes(1039, 1), [1039]);
});

test('predict on 2 worker threads writes the same outputs, to the bit, as on one', async () => {
  const dir = tempDir();
  const results: Prediction[] = [];
  const written: Awaited<ReturnType<typeof writtenKeys>>[] = [];
  for (const threads of [1, 2]) {
    const out = join(dir, `threads-${threads}.zarr`);
    const progress: number[] = [];
    const r = await predictFiles(
      { model, query: DEMO_QUERY, out },
      { threads },
      {
        onEvent: (e) => {
          if (e.type === 'progress' && e.stage === 'predicting') progress.push(e.done / e.total);
        },
      },
    );
    assert.equal(progress.at(-1), 1, `threads ${threads}: progress reaches the end`);
    results.push(r.prediction);
    written.push(await writtenKeys(out));
  }
  sameArrays(results[1], results[0], '2 threads vs 1');
  assert.deepEqual(written[1], written[0]);
  assert.equal(results[0].nCells, 1039);
  assert.equal(results[0].novelty.length, 1039, 'the model scores novelty');
});

/** The shared layer's weights set to zero: outputs then differ wherever that copy is read. */
function zeroWeights(layer: SharedInputLayer): void {
  new Float32Array(layer.memory.buffer, layer.kernel, layer.nIn * layer.h).fill(0);
}

/** Whether rows [start, end) of two predictions have the same embedding bits. */
function sameRows(a: Prediction, b: Prediction, start: number, end: number): boolean {
  const d = a.embeddingDim;
  const bytes = (p: Prediction) =>
    Buffer.from(p.embedding.buffer, p.embedding.byteOffset + 4 * start * d, 4 * (end - start) * d);
  return bytes(a).equals(bytes(b));
}

test("the threads' shared copy of the input layer gives the same bits as each thread's own, and is the copy read", async () => {
  const loaded = await loadModelDir(model);
  const query = await openAnnDataFile(DEMO_QUERY);
  try {
    const predictor = await queryPredictor(loaded, query);
    const own = await predictor.predict();
    const layer = sharedInputLayerOf(loaded.network);
    assert.ok(layer, 'a shared WebAssembly memory on the WASM backend');
    sameArrays(await predictor.predict(undefined, layer), own, 'shared vs own weights');

    // A worker thread reads the memory posted to it: with its weights zeroed, the two parts a
    // worker is handed first differ, the parts this thread predicts with its own copy do not.
    zeroWeights(layer);
    const range = { start: 0, end: own.nCells };
    const parts = splitRows(range, 8);
    const files = await modelToFiles(loaded.network, loaded.card);
    const threaded = await predictInThreads({
      setup: {
        modelFiles: [...files],
        modelSource: model,
        queryPath: DEMO_QUERY,
        request: {},
        backend: 'wasm',
        sharedInput: layer,
      },
      classNames: loaded.classNames,
      embeddingDim: own.embeddingDim,
      noveltyDim: 1,
      range,
      parts,
      threads: 2,
      unknownThreshold: undefined,
      here: (part) => predictor.predict(part),
    });
    parts.forEach((part, i) => {
      const same = sameRows(threaded, own, part.start, part.end);
      assert.equal(same, i >= 2, `part ${i} (${i < 2 ? 'worker' : 'this thread'})`);
    });
  } finally {
    loaded.network.dispose();
    await query.close();
  }
});

test('shards merged give the same keys, to the bit, as one predict (zarr in place, h5ad to --out)', async () => {
  for (const [query, count] of [
    [DEMO_QUERY, 3],
    [KANG_H5AD, 2],
  ] as const) {
    const single = tempCopy(query);
    await predictFiles({ model, query: single }, { threads: 1, keyAdded: 'run' });
    const target = tempCopy(query);
    const untouched = treeDigest(target);
    const shards = join(tempDir(), 'shards');
    const covered: number[] = [];
    for (let index = 0; index < count; index++) {
      // One shard on two threads, the others on one: the same outputs either way.
      const r = await predictShard(
        { model, query: target, out: shards },
        { shard: { index, count }, threads: count === 3 && index === 1 ? 2 : 1, keyAdded: 'run' },
      );
      covered.push(r.rows.end - r.rows.start);
      assert.equal(r.prediction.nCells, r.rows.end - r.rows.start);
    }
    assert.equal(
      covered.reduce((a, b) => a + b, 0),
      1039,
    );
    assert.deepEqual(readdirSync(shards).sort(), [
      ...Array.from({ length: count }, (_, i) => `shard-${i}-of-${count}.scnym-shard`),
    ]);
    assert.equal(treeDigest(target), untouched, 'the shards leave the query as it was');
    const merged = query.endsWith('.h5ad') ? join(tempDir(), 'merged.h5ad') : target;
    const m = await mergeShards({ query: target, shards: [shards], out: merged });
    assert.equal(m.written, merged);
    assert.equal(m.shards.length, count);
    assert.deepEqual(await writtenKeys(merged, 'run'), await writtenKeys(single, 'run'), query);
  }
});

test('merge refuses missing, repeated and foreign shards and a query not theirs; nothing is written', async () => {
  const query = tempCopy(DEMO_QUERY);
  const dir = tempDir();
  const shards = join(dir, 'shards');
  for (const index of [0, 2]) {
    await predictShard({ model, query, out: shards }, { shard: { index, count: 3 }, threads: 1 });
  }
  const digest = treeDigest(query);
  const refused = async (paths: Parameters<typeof mergeShards>[0], pattern: RegExp) => {
    await assert.rejects(mergeShards(paths), (err: unknown) => {
      assert.ok(isScnymError(err), String(err));
      assert.match(err.message, pattern);
      return true;
    });
    assert.equal(treeDigest(query), digest, 'the query is untouched');
  };
  await refused(
    { query, shards: [shards] },
    /shard 1\/3 is missing[\s\S]*→ run scnym predict --shard/,
  );
  await predictShard(
    { model, query, out: join(dir, 'one.scnym-shard') },
    { shard: { index: 1, count: 3 }, threads: 1 },
  );
  const one = join(dir, 'one.scnym-shard');
  await refused({ query, shards: [shards, one, one] }, /is shard 1\/3 again/);
  // A shard of another model, and a shard with other settings.
  const other = join(dir, 'other.scnym-shard');
  await predictShard({ model: otherModel, query, out: other }, { shard: { index: 1, count: 3 } });
  await refused({ query, shards: [shards, other] }, /was predicted with another model/);
  const noEmbedding = join(dir, 'no-embedding.scnym-shard');
  await predictShard(
    { model, query, out: noEmbedding },
    { shard: { index: 1, count: 3 }, embedding: false },
  );
  await refused({ query, shards: [shards, noEmbedding] }, /with other settings/);
  // Not the query the shards were predicted on (another file with other cells).
  const elsewhere = tempCopy(sharedFile('tiny', 'target.zarr'));
  await assert.rejects(
    mergeShards({ query: elsewhere, shards: [shards, one] }),
    /is not the query the shards were predicted on/,
  );
  // Not a shard file at all.
  const notShard = join(dir, 'notes.scnym-shard');
  writeFileSync(notShard, 'hello');
  await refused({ query, shards: [shards, notShard] }, /is not a shard written by scnym predict/);
  // Everything there: merged.
  const m = await mergeShards({ query, shards: [shards, one] });
  assert.equal(m.prediction.nCells, 1039);
});

test('a shard output is never replaced without overwrite, and only a shard file with it', async () => {
  const query = tempCopy(DEMO_QUERY);
  const dir = tempDir();
  const out = join(dir, 'a.scnym-shard');
  const run = (overwrite?: boolean) =>
    predictShard({ model, query, out, overwrite }, { shard: { index: 0, count: 4 }, threads: 1 });
  await run();
  await assert.rejects(run(), /already exists[\s\S]*--overwrite/);
  await run(true);
  writeFileSync(out, 'not a shard');
  await assert.rejects(run(true), /is not a shard file: --overwrite only replaces a shard file/);
  await assert.rejects(
    predictShard({ model, query, out: join(dir, 'x') }, { shard: { index: 4, count: 4 } }),
    /shard 4\/4 does not exist/,
  );
});

test('a worker thread’s error reaches the caller with its code; a cancel stops the workers', async () => {
  // 10,000 cells with a NaN in row 2,200: past the 2,000 rows the matrix is judged by, inside
  // the first part (rows 0–2,500), which the worker is given.
  const dir = tempDir();
  const mixed = join(dir, 'nan.zarr');
  const made = spawnSync(
    PYTHON,
    [
      '-c',
      'import sys, numpy as np, anndata, pandas as pd\n' +
        'x = np.random.default_rng(0).poisson(2, (10000, 80)).astype(np.float32)\n' +
        'x[2200, 5] = np.nan\n' +
        'a = anndata.AnnData(X=x, var=pd.DataFrame(index=[f"g{i}" for i in range(80)]))\n' +
        'a.write_zarr(sys.argv[1], chunks=(250, 80))',
      mixed,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const genes = Array.from({ length: 80 }, (_, i) => `g${i}`);
  const modelDir = join(dir, 'model');
  await saveModelDir(modelDir, await untrainedModelFiles(genes, ['a', 'b', 'c'], 1));
  const digest = treeDigest(mixed);
  await assert.rejects(predictFiles({ model: modelDir, query: mixed }, { threads: 2 }), (err) => {
    assert.ok(isScnymError(err, 'bad-anndata'), String(err));
    assert.match((err as Error).message, /X: holds NaN .* in the block starting at row 0\n/);
    return true;
  });
  assert.equal(treeDigest(mixed), digest);

  // Cancelled once the first rows are predicted: AbortError, and nothing written.
  const controller = new AbortController();
  const query = tempCopy(DEMO_QUERY);
  const before = treeDigest(query);
  await assert.rejects(
    predictFiles(
      { model, query },
      { threads: 2 },
      {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'progress' && e.stage === 'predicting' && e.done > 0) controller.abort();
        },
      },
    ),
    (err) => isAbortError(err),
  );
  assert.equal(treeDigest(query), before);
});

test('CLI: predict --shard I/N … --out DIR, then merge, equals predict --threads 1 as anndata reads it', () => {
  const single = tempCopy(DEMO_QUERY);
  const one = runScnym([
    'predict',
    '--model',
    model,
    '--query',
    single,
    '--threads',
    '1',
    '--quiet',
  ]);
  assert.equal(one.status, 0, one.stderr);
  const query = tempCopy(DEMO_QUERY);
  const shards = join(tempDir(), 'shards');
  for (const i of [1, 0]) {
    const r = runScnym([
      'predict',
      '--model',
      model,
      '--query',
      query,
      '--shard',
      `${i}/2`,
      '--out',
      shards,
      '--threads',
      '1',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.schema, 'scnym.predict-shard/1');
    assert.deepEqual(summary.shard, { index: i, count: 2 });
    assert.equal(summary.nCells, summary.rows.end - summary.rows.start);
    assert.equal(summary.written, join(shards, `shard-${i}-of-2.scnym-shard`));
  }
  const merged = runScnym(['merge', '--query', query, shards, '--json']);
  assert.equal(merged.status, 0, merged.stderr);
  const summary = JSON.parse(merged.stdout);
  assert.equal(summary.schema, 'scnym.merge/1');
  assert.equal(summary.nCells, 1039);
  assert.equal(summary.shards.length, 2);
  const [a, b] = [readBack(query), readBack(single)];
  for (const key of ['scNym', 'scNym_confidence']) assert.deepEqual(a.obs[key], b.obs[key]);
  assert.deepEqual(a.obsm, b.obsm);
  assert.deepEqual(a.uns.scNym_train_results, b.uns.scNym_train_results);
  // Merging again: the keys are there now; refused without --overwrite.
  const again = runScnym(['merge', '--query', query, shards]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds obs\/scNym[\s\S]*--overwrite/);
  // Usage errors name the fix.
  for (const [args, pattern] of [
    [['--shard', '2/2', '--out', shards], /--shard must be I\/N with 0 ≤ I < N \(got '2\/2'\)/],
    [['--shard', '0/2'], /--shard needs --out/],
    [['--threads', '0'], /--threads must be an integer ≥ 1/],
  ] as const) {
    const r = runScnym(['predict', '--model', model, '--query', query, ...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
  }
  assert.equal(runScnym(['merge', '--query', query]).status, 2);
  const help = runScnym(['predict', '--help']);
  assert.match(help.stdout, /--shard I\/N[\s\S]*--threads N/);
  assert.match(runScnym(['--help']).stdout, /merge/);
});

test('merge --out from a query given through a link (as Nextflow stages it) writes a copy; the linked store is untouched', async () => {
  const dir = tempDir();
  const real = tempCopy(DEMO_QUERY, 'real.zarr');
  const link = join(dir, 'staged.zarr');
  symlinkSync(real, link);
  const digest = treeDigest(real);
  const shards = join(dir, 'shards');
  for (const index of [0, 1]) {
    await predictShard({ model, query: link, out: shards }, { shard: { index, count: 2 } });
  }
  const out = join(dir, 'annotated.zarr');
  await mergeShards({ query: link, shards: [shards], out });
  assert.ok(!lstatSync(out).isSymbolicLink(), 'the copy is a store of its own');
  assert.equal((await writtenKeys(out)).label.kind, 'categorical');
  assert.equal(treeDigest(real), digest, 'the store behind the link is untouched');
});

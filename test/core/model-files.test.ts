// A model folder is untrusted input (downloaded, shared, edited): its manifest must not make us
// read files outside the folder, follow links, read devices or FIFOs forever, or read a file far
// larger than the weights it describes; a malformed manifest or card gets one clear error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../core/src/backend.js';
import { ScnymError } from '../../core/src/errors.js';
import { DEFAULT_NETWORK } from '../../core/src/model/config.js';
import { modelFromFiles, modelToFiles, type ModelCard } from '../../core/src/model/files.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from '../../core/src/model/io.js';
import { createNetwork } from '../../core/src/model/network.js';
import { loadModelDir, saveModelDir } from '../../core/src/node/model-dir.js';
import { runScnym } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const N_GENES = 12;
let files: Map<string, Uint8Array>;

before(async () => {
  await initBackend('auto');
  const config = { ...DEFAULT_NETWORK, nGenes: N_GENES, nClasses: 3, nDomains: 0, nHidden: 8 };
  const network = createNetwork({ ...config, nHiddenInit: 8 }, 0);
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    genes: Array.from({ length: N_GENES }, (_, i) => `g${i}`),
    classNames: ['a', 'b', 'c'],
    domainNames: ['reference'],
    preprocessing: { input: 'log1p-cpm', targetSum: 1e6, log: 'natural' },
    network: network.config,
    training: {},
    provenance: { tool: 'scnym-js', toolVersion: '0.1.0', created: new Date().toISOString() },
  };
  files = await modelToFiles(network, card);
  network.dispose();
});

/** A fresh model folder in its own temporary parent (so `..` lands in a folder we own). */
async function modelDir(): Promise<{ dir: string; parent: string }> {
  const parent = tempDir();
  const dir = join(parent, 'model');
  await saveModelDir(dir, files);
  return { dir, parent };
}

/** model.json or scnym.json as the tests edit them: any field may be set to anything. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

function editJson(path: string, edit: (json: Json) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  edit(json);
  writeFileSync(path, JSON.stringify(json));
}

const setPaths = (dir: string, paths: unknown[]) =>
  editJson(join(dir, 'model.json'), (m) => {
    m.weightsManifest[0].paths = paths;
  });

async function refused(dir: string, pattern: RegExp): Promise<ScnymError> {
  let error: unknown;
  await loadModelDir(dir).then(
    (m) => m.network.dispose(),
    (err: unknown) => (error = err),
  );
  assert.ok(error instanceof ScnymError, `expected a refusal, got ${String(error)}`);
  assert.match(error.message, pattern);
  return error;
}

test('a model folder written by saveModelDir loads', async () => {
  const { dir } = await modelDir();
  const model = await loadModelDir(dir);
  assert.equal(model.genes.length, N_GENES);
  model.network.dispose();
});

test("manifest paths outside the folder are refused: '../secret.bin', an absolute path", async () => {
  const { dir, parent } = await modelDir();
  // The outside file holds valid weights, so only the path can make the load fail.
  const secret = join(parent, 'secret.bin');
  copyFileSync(join(dir, 'weights.bin'), secret);
  for (const path of ['../secret.bin', './../secret.bin', secret, 'sub/weights.bin']) {
    setPaths(dir, [path]);
    const err = await refused(dir, /is not a file name inside the model folder/);
    assert.match(err.message, /model\.json: weightsManifest\[0\]\.paths\[0\]/);
    assert.match(err.message, /→ train the model again/);
  }
  for (const path of ['.weights.bin', '..', 'C:weights.bin', 'a\\b', 'weights.bin\0', '', 42]) {
    setPaths(dir, [path]);
    await refused(dir, /weightsManifest\[0\]\.paths\[0\]: .* is not a file name inside/);
  }
});

test('weights.bin as a symbolic link to an outside file is refused, not followed', async () => {
  const { dir, parent } = await modelDir();
  const outside = join(parent, 'outside.bin');
  renameSync(join(dir, 'weights.bin'), outside);
  symlinkSync(outside, join(dir, 'weights.bin'));
  await refused(dir, /model\/weights\.bin: is a symbolic link, not a regular file/);
  // A linked card is refused too (every file of the folder is read the same way).
  const other = await modelDir();
  renameSync(join(other.dir, 'scnym.json'), join(other.parent, 'card.json'));
  symlinkSync(join(other.parent, 'card.json'), join(other.dir, 'scnym.json'));
  await refused(other.dir, /scnym\.json: is a symbolic link/);
});

test('a weights file far larger than the manifest describes is refused without reading it', async () => {
  const { dir } = await modelDir();
  const weights = join(dir, 'weights.bin');
  const expected = statSync(weights).size;
  truncateSync(weights, 200 * 1024 * 1024); // sparse: no disk space used
  const err = await refused(dir, /is 209715200 bytes, more than the \d+ its model describes/);
  assert.match(err.message, new RegExp(`more than the ${expected} `));
  assert.match(err.message, /refused without reading it/);
});

test('a 100 MB scnym.json or model.json is refused before it is read', async () => {
  for (const name of ['scnym.json', 'model.json']) {
    const { dir } = await modelDir();
    truncateSync(join(dir, name), 100 * 1024 * 1024);
    await refused(dir, new RegExp(`${name.replace('.', '\\.')}: is 104857600 bytes, more than`));
  }
});

test('a reader that ignores maxBytes still cannot hand over more than the manifest describes', async () => {
  const { dir } = await modelDir();
  const read = async (name: string) => {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    if (name !== 'weights.bin') return bytes;
    const padded = new Uint8Array(bytes.length + 4);
    padded.set(bytes);
    return padded;
  };
  await assert.rejects(
    modelFromFiles(read, 'remote-model'),
    /remote-model\/weights\.bin: is \d+ bytes, more than/,
  );
});

test('malformed weight specs get one error naming the field', async () => {
  const cases: [(m: Json) => void, RegExp][] = [
    [
      (m) => (m.weightsManifest[0].weights[0].name = 7),
      /weights\[0\]\.name: a weight needs a name/,
    ],
    [
      (m) => (m.weightsManifest[0].weights[1].shape = [-1]),
      /weights\[1\]\.shape: shape must be a list of whole numbers ≥ 0 \(got \[-1\]\)/,
    ],
    [
      (m) => (m.weightsManifest[0].weights[1].shape = [2.5]),
      /weights\[1\]\.shape: shape must be a list of whole numbers/,
    ],
    [(m) => (m.weightsManifest[0].weights[1].shape = 'big'), /weights\[1\]\.shape:/],
    [
      (m) => (m.weightsManifest[0].weights[0].dtype = 'float64'),
      /weights\[0\]\.dtype: dtype "float64" is not one of float32, int32, bool/,
    ],
    [
      (m) => (m.weightsManifest[0].weights[0].quantization = { dtype: 'uint8' }),
      /weights\[0\]\.quantization: quantised weights are not supported/,
    ],
    [(m) => (m.weightsManifest[0] = 'weights.bin'), /weightsManifest\[0\]: must be an object/],
    [
      (m) => (m.weightsManifest[0].weights[0].shape = [N_GENES, 1e9]),
      /model\.json: weightsManifest: describes \d+ bytes of weights, more than/,
    ],
  ];
  for (const [edit, pattern] of cases) {
    const { dir } = await modelDir();
    editJson(join(dir, 'model.json'), edit);
    const err = await refused(dir, pattern);
    assert.match(err.message, /model\/model\.json: /);
  }
});

test('scnym.json formatVersion must be a whole number ≥ 1: -1, 0, 1.5 and "1" are refused', async () => {
  for (const version of [-1, 0, 1.5, '1', null]) {
    const { dir } = await modelDir();
    editJson(join(dir, 'scnym.json'), (card) => (card.formatVersion = version));
    await refused(
      dir,
      new RegExp(
        `scnym\\.json: formatVersion: must be a whole number ≥ 1 \\(got ${JSON.stringify(version)?.replace('.', '\\.')}\\)`,
      ),
    );
  }
  const { dir } = await modelDir();
  editJson(join(dir, 'scnym.json'), (card) => (card.genes = [1, 2, 3]));
  await refused(dir, /scnym\.json: lacks genes or classNames/);
});

// Devices and FIFOs would be read forever by a plain readFile (/dev/zero: 3.4 GB in 6 s), so these
// run in a child process (the CLI) with a time limit: a hang fails the test, not the machine.
test('/dev/zero and a FIFO named by the manifest or as weights.bin are refused at once', async () => {
  const { dir } = await modelDir();
  const query = join('core', 'demo', 'target.zarr');
  const predict = () =>
    spawnScnym(['predict', '--model', dir, '--query', query, '--out', join(tempDir(), 'q.zarr')]);
  setPaths(dir, ['../../../../../../../../../../dev/zero']);
  let r = predict();
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /paths\[0\]: .*is not a file name inside the model folder/);

  setPaths(dir, ['./weights.bin']);
  const weights = join(dir, 'weights.bin');
  renameSync(weights, `${weights}.real`);
  symlinkSync('/dev/zero', weights);
  r = predict();
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /weights\.bin: is a symbolic link, not a regular file/);

  const fifo = spawnSync('mkfifo', [join(dir, 'pipe.bin')]);
  if (fifo.status !== 0) return; // no mkfifo here: the link case above covers special files
  setPaths(dir, ['pipe.bin']);
  r = predict();
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /pipe\.bin: is a FIFO \(named pipe\), not a regular file/);
});

function spawnScnym(args: string[]) {
  const t0 = Date.now();
  const r = runScnym(args, 15_000);
  assert.ok(Date.now() - t0 < 15_000, `scnym ${args[0]} did not finish in 15 s`);
  return r;
}

// `scnym inspect` end to end through the built CLI: the JSON for the two formats agrees, and
// every kind of bad input gets one clear message naming the file and element, and exit 1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_NODE_FLAGS, REPO, sharedFile } from '../helpers/paths.js';
import { ensureFixtures } from '../helpers/python.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';
import { runScnym } from '../helpers/cli.js';

const scnym = (...args: string[]) => runScnym(args, 60_000);

test('inspect --json: target.zarr and target.h5ad agree on cells, genes, labels and embedding', () => {
  const z = scnym('inspect', sharedFile('kang_ifnb', 'target.zarr'), '--json');
  const h = scnym('inspect', sharedFile('kang_ifnb', 'target.h5ad'), '--json');
  assert.equal(z.status, 0, z.stderr);
  assert.equal(h.status, 0, h.stderr);
  const rz = JSON.parse(z.stdout);
  const rh = JSON.parse(h.stdout);
  for (const r of [rz, rh]) {
    assert.equal(r.schema, 'scnym.inspect/1');
    assert.equal(r.nObs, 1039);
    assert.equal(r.nVars, 6998);
    const ct = r.obs.find((c: { name: string }) => c.name === 'cell_type');
    assert.equal(ct.kind, 'categorical');
    assert.equal(Object.keys(ct.categories).length, 7);
    assert.equal(ct.categories['CD4T'], 356);
    assert.deepEqual(r.obsm, [{ key: 'X_umap', shape: [1039, 2] }]);
    assert.equal(r.X.encoding, 'csr');
    assert.equal(r.X.content, 'counts');
    assert.equal(r.X.nnz, 336046);
  }
  assert.equal(rz.format, 'zarr');
  assert.equal(rz.zarrFormat, 2);
  assert.equal(rh.format, 'h5ad');
  const strip = (r: Record<string, unknown>) => ({ ...r, file: '', format: '', zarrFormat: null });
  assert.deepEqual(strip(rz), strip(rh));
});

test('the installed launcher (`npx scnym`) runs the CLI, with node started under its flags', () => {
  // Run as npm's bin link runs it: through its first line (env -S node --single-threaded-gc).
  const launcher = join(REPO, 'cli', 'bin', 'scnym.js');
  const file = sharedFile('kang_ifnb', 'target.zarr');
  const shown = join(tempDir(), 'show-exec-argv.mjs');
  writeFileSync(shown, 'console.error(`execArgv=${JSON.stringify(process.execArgv)}`);\n');
  const r = spawnSync(launcher, ['inspect', file, '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: `--import=${shown}` },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).nObs, 1039);
  assert.deepEqual(CLI_NODE_FLAGS, ['--single-threaded-gc']);
  const execArgv = JSON.parse(/execArgv=(.*)/.exec(r.stderr)![1]) as string[];
  assert.deepEqual(execArgv, CLI_NODE_FLAGS);
});

test('inspect (text) names the parts a person needs', () => {
  const r = scnym('inspect', sharedFile('tiny', 'reference.h5ad'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /cells\s+200/);
  assert.match(r.stdout, /genes\s+300/);
  assert.match(r.stdout, /raw counts/);
  assert.match(r.stdout, /cell_type: categorical, 5 categories/);
  assert.match(r.stdout, /X_tsne \[200×2\]/);
});

test('inspect: usage errors exit 2, unknown commands are named', () => {
  assert.equal(scnym('inspect').status, 2);
  const r = scnym('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.equal(scnym('inspect', '--help').status, 0);
});

// Each bad input: [fixture or path, patterns the one-line message must contain].
const BAD: [string, RegExp[]][] = [
  ['does-not-exist.h5ad', [/no such file or folder/]],
  ['not_anndata.zarr', [/not an AnnData store/, /write_h5ad|write_zarr/]],
  ['corrupt_chunk.zarr', [/X\/data/]],
  ['bad_codec.zarr', [/lzma2000/, /X\/data/]],
  ['shape_mismatch.zarr', [/shape/, /obs and var say/]],
  ['duplicate_var.zarr', [/var names are not unique/, /var_names_make_unique/]],
  ['nan_values.zarr', [/non-finite/, /X\/data/, /nan_to_num/]],
  ['negative_values_only.zarr', [/negative values/, /scaled/, /layers\["counts"\]/]],
  ['not_hdf5.h5ad', [/not an HDF5/]],
  ['truncated.h5ad', [/truncated\.h5ad/]],
  ['missing_obs.h5ad', [/obs/]],
];

/** negative_values.zarr without its counts layer and raw: scaled X and nothing to fall back on. */
function scaledOnly(dir: string): string {
  const copy = tempCopy(join(dir, 'negative_values.zarr'), 'negative_values_only.zarr');
  rmSync(join(copy, 'layers', 'counts'), { recursive: true });
  rmSync(join(copy, 'raw'), { recursive: true });
  return copy;
}

test('inspect: each bad input gets one clear message naming the file and element, exit 1', () => {
  const dir = ensureFixtures();
  const scaled = scaledOnly(dir);
  for (const [name, patterns] of BAD) {
    const path = name === 'negative_values_only.zarr' ? scaled : join(dir, name);
    const r = scnym('inspect', path, '--json');
    assert.equal(r.status, 1, `${name}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, '', `${name} printed a report`);
    assert.match(r.stderr, /^error: /, name);
    assert.ok(r.stderr.includes(name), `${name}: message does not name the file:\n${r.stderr}`);
    for (const p of patterns) assert.match(r.stderr, p, `${name}:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: stack trace shown`);
  }
});

test('inspect: scaled X with a counts layer is a warning naming the layer, not an error', () => {
  const r = scnym('inspect', join(ensureFixtures(), 'negative_values.zarr'), '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).X.content, 'scaled');
  assert.match(r.stderr, /warning: X holds negative values.*layers\/counts/);
});

test('inspect: a plain text file is not mistaken for data', () => {
  const file = join(tempDir(), 'notes.h5ad');
  writeFileSync(file, 'these are not cells\n');
  const r = scnym('inspect', file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /notes\.h5ad/);
  assert.match(r.stderr, /not an HDF5/);
});

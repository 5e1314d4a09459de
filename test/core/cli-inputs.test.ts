// Bad or unusual input handled well by `scnym annotate / train / predict / evaluate` (issue 13,
// items 10–12): a query whose counts are only in layers['counts'], matrices chosen per file,
// files with 0 cells, 0 genes or 1 gene, label columns that name cells or hold a class called
// 'Unknown', numeric domain columns, bad --key-added values, NaN confidences, and operating-system
// errors (permission denied, full disk) in words. Every file is written by real anndata from the
// real tiny pair.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, PYTHON, REPO, sharedFile } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { runScnym } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const scnym = (...args: string[]) => runScnym(args, 120_000);
const REFERENCE = sharedFile('tiny', 'reference.h5ad');
const TARGET = sharedFile('tiny', 'target.h5ad');

const dir = tempDir();
const file = (name: string) => join(dir, name);

// All fixtures in one python run (anndata's import is the slow part).
const made = spawnSync(
  PYTHON,
  [
    '-c',
    `
import sys, numpy as np, pandas as pd, anndata
out = sys.argv[1]
ref = anndata.read_h5ad(${JSON.stringify(REFERENCE)})
tgt = anndata.read_h5ad(${JSON.stringify(TARGET)})
# X absent, the counts in layers['counts'] (as after adata.layers['counts'] = adata.X; del adata.X)
no_x = anndata.AnnData(obs=tgt.obs, var=tgt.var, obsm=dict(tgt.obsm), layers={'counts': tgt.X})
no_x.write_h5ad(f'{out}/no_x.h5ad')
no_x.write_zarr(f'{out}/no_x.zarr')
ref[:0].copy().write_h5ad(f'{out}/zero_cells.h5ad')
ref[:, :0].copy().write_h5ad(f'{out}/zero_genes.h5ad')
tgt[:, :1].copy().write_h5ad(f'{out}/one_gene.h5ad')
r = ref.copy()
r.obs['batch'] = r.obs['sample_id'].cat.codes.astype('int64')
r.obs['barcode'] = pd.Categorical(r.obs_names)
r.write_h5ad(f'{out}/ref_columns.h5ad')
u = ref.copy()
u.obs['cell_type'] = u.obs['cell_type'].cat.rename_categories({'B cells': 'Unknown'})
u.write_h5ad(f'{out}/ref_unknown.h5ad')
# Predictions written by hand: confidence NaN for two labelled cells
e = tgt.copy()
e.obs['scNym'] = e.obs['cell_type']
conf = np.full(e.n_obs, 0.9, dtype=np.float32)
conf[[5, 17]] = np.nan
e.obs['scNym_confidence'] = conf
e.write_h5ad(f'{out}/nan_confidence.h5ad')
`,
    dir,
  ],
  { encoding: 'utf8' },
);
assert.equal(made.status, 0, made.stderr);

test('item 10: a query without X is read from layers/counts, per file; the hint lists what is there', () => {
  // Automatic: the reference's X, the query's layers/counts (with a note saying so).
  const auto = scnym(
    'annotate',
    '--reference',
    REFERENCE,
    '--label-key',
    'cell_type',
    '--query',
    file('no_x.h5ad'),
    '--out',
    file('auto.h5ad'),
    '--epochs',
    '1',
    '--quiet',
    '--json',
  );
  assert.equal(auto.status, 0, auto.stderr);
  assert.match(auto.stderr, /no_x\.h5ad: using layers\/counts \(there is no X\)/);
  const summary = JSON.parse(auto.stdout);
  assert.equal(summary.training.referenceMatrix, 'X');
  assert.equal(summary.training.queryMatrix, 'layers/counts');
  assert.equal(readBack(file('auto.h5ad')).obs.scNym.values.length, 200);

  // --matrix names the matrix of both files: the reference has no layers/counts, and the
  // message says how to choose per file.
  const both = scnym(
    'annotate',
    '--reference',
    REFERENCE,
    '--label-key',
    'cell_type',
    '--query',
    file('no_x.zarr'),
    '--out',
    file('both.zarr'),
    '--matrix',
    'layers/counts',
    '--epochs',
    '1',
  );
  assert.equal(both.status, 1);
  assert.match(both.stderr, /reference\.h5ad: layers\/counts: no matrix 'layers\/counts'/);
  assert.match(both.stderr, /--reference-matrix \/ --query-matrix/);

  // --query-matrix chooses the query's alone.
  const own = scnym(
    'train',
    '--reference',
    REFERENCE,
    '--label-key',
    'cell_type',
    '--query',
    file('no_x.zarr'),
    '--query-matrix',
    'layers/counts',
    '--model-out',
    file('model_own'),
    '--epochs',
    '1',
    '--json',
  );
  assert.equal(own.status, 0, own.stderr);
  assert.equal(JSON.parse(own.stdout).queryMatrix, 'layers/counts');

  // Asking for the absent X: the hint lists what the file has, and X is not among it.
  const absent = scnym(
    'train',
    '--reference',
    REFERENCE,
    '--label-key',
    'cell_type',
    '--query',
    file('no_x.h5ad'),
    '--query-matrix',
    'X',
    '--model-out',
    file('model_absent'),
  );
  assert.equal(absent.status, 1);
  assert.match(absent.stderr, /no_x\.h5ad: X: no matrix 'X'\n {2}→ this file has layers\/counts\n/);

  // predict reads it too.
  const predicted = scnym(
    'predict',
    '--model',
    file('model_own'),
    '--query',
    file('no_x.h5ad'),
    '--out',
    file('predicted.h5ad'),
    '--quiet',
  );
  assert.equal(predicted.status, 0, predicted.stderr);
  assert.match(predicted.stderr, /using layers\/counts \(there is no X\)/);
});

test('item 11: 0 cells and 0 genes are named as such; numeric --domain-key gets a --domain-key hint', () => {
  const train = (reference: string, ...more: string[]) =>
    scnym(
      'train',
      '--reference',
      reference,
      '--label-key',
      'cell_type',
      '--model-out',
      file('never'),
      ...more,
    );
  const noCells = train(file('zero_cells.h5ad'));
  assert.equal(noCells.status, 1);
  assert.match(noCells.stderr, /zero_cells\.h5ad: obs: has 0 cells/);
  assert.doesNotMatch(noCells.stderr, /only zeros/);

  const noGenes = train(file('zero_genes.h5ad'));
  assert.equal(noGenes.status, 1);
  assert.match(noGenes.stderr, /zero_genes\.h5ad: X: has 0 genes/);
  assert.doesNotMatch(noGenes.stderr, /only zeros/);

  const numeric = train(file('ref_columns.h5ad'), '--domain-key', 'batch');
  assert.equal(numeric.status, 1);
  assert.match(numeric.stderr, /obs\/batch: column 'batch' is numeric/);
  assert.match(numeric.stderr, /--domain-key/);
  assert.doesNotMatch(numeric.stderr, /--label-key/);
});

test('item 11: a bad --key-added is a usage error before any training', () => {
  for (const bad of ['a/b', '_index']) {
    const r = scnym(
      'annotate',
      '--reference',
      REFERENCE,
      '--label-key',
      'cell_type',
      '--query',
      TARGET,
      '--out',
      file('never.h5ad'),
      '--key-added',
      bad,
      '--epochs',
      '1',
    );
    assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--key-added: '.*' cannot prefix the keys scNym writes: use a letter/);
    assert.doesNotMatch(r.stderr, /bug/);
    assert.doesNotMatch(r.stderr, /training|epoch/);
  }
});

test('item 12: label columns that name cells, and a class called Unknown, are refused', () => {
  const train = (reference: string, labelKey: string) =>
    scnym('train', '--reference', reference, '--label-key', labelKey, '--model-out', file('never'));
  const index = train(REFERENCE, '_index');
  assert.equal(index.status, 1);
  assert.match(index.stderr, /reference\.h5ad: obs\/_index: '_index' is the obs index/);

  const barcodes = train(file('ref_columns.h5ad'), 'barcode');
  assert.equal(barcodes.status, 1);
  assert.match(
    barcodes.stderr,
    /obs\/barcode: column 'barcode' has 200 classes for 200 cells .*names cells, not cell types/,
  );
  assert.match(barcodes.stderr, /--label-key cell_type/);

  const unknown = train(file('ref_unknown.h5ad'), 'cell_type');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /ref_unknown\.h5ad: obs\/cell_type: .*class named 'Unknown'/);
  assert.match(unknown.stderr, /rename_categories/);
});

test('item 12: a 1-gene query is refused', () => {
  const r = scnym(
    'annotate',
    '--reference',
    REFERENCE,
    '--label-key',
    'cell_type',
    '--query',
    file('one_gene.h5ad'),
    '--out',
    file('never.h5ad'),
    '--epochs',
    '1',
  );
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /one_gene\.h5ad: X: has only 1 gene; scNym needs the expression of at least 50 genes/,
  );
});

test('item 12: evaluate refuses NaN confidences instead of printing NaN metrics', () => {
  const r = scnym('evaluate', '--data', file('nan_confidence.h5ad'), '--truth-key', 'cell_type');
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /nan_confidence\.h5ad: obs\/scNym_confidence: 2 of the cells with a truth label have no valid confidence \(cell 5: NaN/,
  );
  assert.match(r.stderr, /scnym predict --overwrite/);
});

test('item 11: a file that cannot be read says "permission denied" with a hint', (t) => {
  const d = tempDir();
  chmodSync(d, 0o755);
  const locked = join(d, 'locked.h5ad');
  writeFileSync(locked, 'x');
  chmodSync(locked, 0o000);
  // root reads anything: run as 'nobody' there.
  const asRoot = process.getuid?.() === 0;
  const r = spawnSync(process.execPath, [CLI, 'inspect', locked], {
    encoding: 'utf8',
    cwd: REPO,
    timeout: 60_000,
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  if (r.error) return t.skip(`cannot run as another user here (${r.error.message})`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /locked\.h5ad: permission denied\n {2}→ check the permissions/);
  assert.doesNotMatch(r.stderr, /EACCES/);
});

test('item 11: a full disk during a write is reported as such, not as a damaged file', (t) => {
  // A 200 kB tmpfs in a private mount namespace holds the copy of the query but not the keys.
  const d = tempDir();
  const cli = (out: string) =>
    [process.execPath, CLI, 'annotate', '--reference', REFERENCE, '--label-key', 'cell_type']
      .concat(['--query', TARGET, '--out', join(d, out), '--epochs', '1', '--quiet'])
      .map((a) => `'${a}'`)
      .join(' ');
  const r = spawnSync(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      `mount -t tmpfs -o size=200k tmpfs '${d}' || exit 99; ${cli('o.h5ad')}; echo "h5ad $?"; ${cli('o.zarr')}; echo "zarr $?"`,
    ],
    { encoding: 'utf8', cwd: REPO, timeout: 60_000 },
  );
  if (r.error || r.status === 99 || /unshare: /.test(r.stderr)) {
    return t.skip(`cannot mount a small file system here (${r.error?.message ?? r.stderr.trim()})`);
  }
  assert.match(r.stdout, /h5ad 1/);
  assert.match(r.stdout, /zarr 1/);
  assert.match(r.stderr, /o\.h5ad: no space left on the disk\n {2}→ free space on that disk/);
  assert.match(r.stderr, /o\.zarr: no space left on the disk/);
  assert.doesNotMatch(r.stderr, /damaged|ENOSPC|scnym-tmp/);
});

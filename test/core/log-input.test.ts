// Log-scale input (issue 17): a matrix holding log-normalised expression and no counts is read,
// not refused. Its base (ln, log2, log10) and normalisation are found from its values where they
// are unambiguous, assumed (and said) where not, or given with --input; either way the model is
// fed the log1p(CPM) counts would give. Scaled data stays an error. Every file is written by real
// anndata from the real tiny and kang_ifnb pairs, stored as float32 as scanpy does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { chooseMatrix } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import type { InputKind } from '@scnym/core/vocabulary';
import { readLog1pCpm } from '../../core/src/prepare.js';
import type { Csr } from '../../core/src/csr.js';
import { PYTHON, sharedFile } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { runScnym } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const scnym = (...args: string[]) => runScnym(args, 180_000);
const dir = tempDir();
const file = (name: string) => join(dir, `${name}.h5ad`);

// All fixtures in one python run (anndata's import is the slow part).
const made = spawnSync(
  PYTHON,
  [
    '-c',
    `
import sys, numpy as np, scipy.sparse as sp, anndata
tiny, kang, out = sys.argv[1:4]
def write(a, X, name, **layers):
    layers = {k: sp.csr_matrix(v) for k, v in layers.items()}
    b = anndata.AnnData(X=sp.csr_matrix(X, dtype=np.float32), obs=a.obs, var=a.var, layers=layers)
    b.write_h5ad(f'{out}/{name}.h5ad')
def per(X, total):  # as sc.pp.normalize_total: the counts' own structure, rows scaled
    X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    s = np.asarray(X.sum(1)).ravel()
    s[s == 0] = 1
    X.data *= np.repeat(total / s, np.diff(X.indptr))
    return X
def log(X, f):
    X = X.copy()
    X.data = f(X.data + 1)
    return X
for side in ['reference', 'target']:
    a = anndata.read_h5ad(f'{tiny}/{side}.h5ad')
    write(a, log(per(a.X, 1e4), np.log), f'tiny_{side}_ln10k')  # scanpy: normalize_total, log1p
    write(a, log(per(a.X, 1e6), np.log2), f'tiny_{side}_log2cpm')
t = anndata.read_h5ad(f'{tiny}/target.h5ad')
write(t, log(per(t.X, 1e4), np.log10), 'tiny_target_log10')
write(t, log(per(t.X, 1e6), np.log2), 'tiny_target_log2cpm_counts', counts=t.X)
d = log(per(t.X, 1e4), np.log).toarray()
write(t, (d - d.mean(0)) / (d.std(0) + 1e-6), 'tiny_target_scaled')  # sc.pp.scale
k = anndata.read_h5ad(f'{kang}/target.h5ad')
keep = np.arange(0, k.n_vars, 3)
# Normalised over all genes, then a third of them kept: cells no longer sum to one total.
write(k[:, keep], log(per(k.X, 1e4), np.log)[:, keep], 'kang_ln10k_subset')
write(k, log(k.X, np.log), 'kang_log1p_counts')  # sc.pp.log1p without normalize_total
# log2(TPM+1) of a subset: counts over made-up gene lengths, per million, a third of the genes.
length = np.random.default_rng(0).uniform(0.5, 5.0, k.n_vars)
tpm = per(k.X @ sp.diags(1 / length), 1e6)
write(k[:, keep], log(tpm, np.log2)[:, keep], 'kang_log2tpm_subset')
# What scNym should read from it: that subset of TPM per cell as log1p(CPM), in float64.
write(k[:, keep], log(per(tpm[:, keep], 1e6), np.log), 'kang_log2tpm_subset_expected')
`,
    sharedFile('tiny', ''),
    sharedFile('kang_ifnb', ''),
    dir,
  ],
  { encoding: 'utf8' },
);
assert.equal(made.status, 0, made.stderr);

async function chosen(path: string, input?: InputKind) {
  const warnings: string[] = [];
  const ad = await openAnnDataFile(path);
  const m = await chooseMatrix(ad, undefined, { onWarning: (w) => warnings.push(w) }, input);
  return { m, warnings, ad };
}

test('detection: the base and normalisation of log-scale data, from its values', async () => {
  const cases: [string, string, number, number | null, string][] = [
    // file, kind, base, target sum, evidence
    ['tiny_target_ln10k', 'log1p', Math.E, 1e4, 'row-sums'],
    ['tiny_target_log2cpm', 'log', 2, 1e6, 'row-sums'],
    ['tiny_target_log10', 'log', 10, 1e4, 'row-sums'],
    ['kang_ln10k_subset', 'log', Math.E, null, 'count-steps'],
    ['kang_log1p_counts', 'log', Math.E, null, 'count-steps'],
    ['kang_log2tpm_subset', 'log', 2, null, 'assumed'],
  ];
  for (const [name, kind, base, targetSum, evidence] of cases) {
    const { m, warnings, ad } = await chosen(file(name));
    assert.equal(m.reader.name, 'X', name);
    assert.equal(m.content.kind, kind, name);
    const log = m.content.log!;
    assert.equal(log.base, base, name);
    assert.equal(log.evidence, evidence, name);
    if (targetSum === null) assert.equal(log.targetSum, null, name);
    else assert.ok(Math.abs(log.targetSum! / targetSum - 1) < 1e-4, `${name}: ${log.targetSum}`);
    // Standard log1p(normalised) data is read as before, silently; the rest is named.
    if (kind === 'log1p') assert.deepEqual(warnings, [], name);
    else {
      assert.equal(warnings.length, 1, `${name}: ${warnings.join('\n')}`);
      assert.ok(
        warnings[0].startsWith(`${file(name)}: X holds log-scale values (max `),
        warnings[0],
      );
    }
    await ad.close();
  }
  const log2 = await chosen(file('tiny_target_log2cpm'));
  assert.match(log2.warnings[0], /read as log2\(x\+1\) of counts per 1e6, re-normalised/);
  assert.match(log2.warnings[0], /pass --input counts or log to choose$/);
  const tpm = await chosen(file('kang_log2tpm_subset'));
  assert.match(
    tpm.warnings[0],
    /read as log2\(x\+1\), assumed \(values up to 1\d\.\d rule out ln\)/,
  );
  assert.match(tpm.warnings[0], /ln, log2, log10 for the base$/);
  // Given the base, the values are read in it without a word.
  const given = await chosen(file('kang_log2tpm_subset'), 'log2');
  assert.equal(given.m.content.log!.evidence, 'given');
  assert.deepEqual(given.warnings, []);
  // Counts beside log values in X are preferred, and the choice is said.
  const both = await chosen(file('tiny_target_log2cpm_counts'));
  assert.equal(both.m.reader.name, 'layers/counts');
  assert.match(both.warnings[0], /using layers\/counts \(X holds log2\(x\+1\) of counts per 1e6\)/);
  for (const c of [log2, tpm, given, both]) await c.ad.close();
  // A base the values cannot be in is refused, naming the file, the matrix and the fix.
  await assert.rejects(chosen(file('kang_log2tpm_subset'), 'ln'), (err: Error) => {
    assert.match(
      err.message,
      /kang_log2tpm_subset\.h5ad: X: holds non-integers above ln\(1e6\+1\)/,
    );
    assert.match(err.message, /→ choose another base with --input/);
    return true;
  });
});

test('the model is fed the log1p(CPM) the counts give: to the bit where the log is of counts', async () => {
  const cases: [string, string, number][] = [
    // expected, read, tolerance
    [sharedFile('tiny', 'target.h5ad'), file('tiny_target_ln10k'), 0],
    [sharedFile('tiny', 'target.h5ad'), file('tiny_target_log2cpm'), 0],
    [sharedFile('tiny', 'target.h5ad'), file('tiny_target_log10'), 0],
    // No counts behind it: re-normalised as it is (float32 storage of log2 values up to 19).
    [file('kang_log2tpm_subset_expected'), file('kang_log2tpm_subset'), 1e-5],
  ];
  for (const [expectedFile, readFile, tolerance] of cases) {
    const expected = await log1pCpmOf(expectedFile);
    const got = await log1pCpmOf(readFile);
    assert.equal(got.length, expected.length);
    let worst = 0;
    for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k] - expected[k]));
    assert.ok(worst <= tolerance, `${readFile}: differs by up to ${worst}`);
  }
});

async function log1pCpmOf(path: string): Promise<Float32Array> {
  const { m, ad } = await chosen(path);
  try {
    return dense(await readLog1pCpm(m, null, m.genes.length, 'query'));
  } finally {
    await ad.close();
  }
}

function dense(m: Csr): Float32Array {
  const out = new Float32Array(m.nRows * m.nCols);
  for (let r = 0; r < m.nRows; r++) {
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) out[r * m.nCols + m.indices[k]] = m.data[k];
  }
  return out;
}

const EPOCHS = '20';

function annotate(reference: string, query: string, out: string, ...extra: string[]) {
  const r = scnym(
    'annotate',
    '--reference',
    reference,
    '--query',
    query,
    '--label-key',
    'cell_type',
    '--out',
    out,
    '--epochs',
    EPOCHS,
    '--seed',
    '0',
    '--quiet',
    ...extra,
  );
  assert.equal(r.status, 0, r.stderr);
  const back = readBack(out);
  const predicted: string[] = back.obs.scNym.values;
  const truth: string[] = back.obs.cell_type.values;
  return {
    accuracy: predicted.filter((p, i) => p === truth[i]).length / truth.length,
    predicted,
    stderr: r.stderr,
  };
}

test('annotate on log-scale files scores as on the counts: log → log, counts → log', (t) => {
  const out = (name: string) => join(dir, `${name}.zarr`);
  const counts = annotate(
    sharedFile('tiny', 'reference.h5ad'),
    sharedFile('tiny', 'target.h5ad'),
    out('counts'),
  );
  const log = annotate(file('tiny_reference_ln10k'), file('tiny_target_ln10k'), out('log'));
  const mixed = annotate(
    sharedFile('tiny', 'reference.h5ad'),
    file('tiny_target_log2cpm'),
    out('mixed'),
  );
  t.diagnostic(`accuracy: counts ${counts.accuracy}, log ${log.accuracy}, mixed ${mixed.accuracy}`);
  // Chance is 0.2. The log files give the very floats the counts do, so training takes the same
  // path: the same predictions, not merely a close accuracy (the spread over seeds is ~4 points).
  assert.ok(counts.accuracy >= 0.6, `counts: ${counts.accuracy}`);
  for (const [name, r] of Object.entries({ log, mixed })) {
    assert.equal(r.accuracy, counts.accuracy, name);
    assert.deepEqual(r.predicted, counts.predicted, name);
  }
  assert.doesNotMatch(log.stderr, /log-scale/); // log1p(CP10k): read as before, silently
  // Said once, though training and prediction both read the query.
  const said = mixed.stderr.match(/X holds log-scale values/g) ?? [];
  assert.equal(said.length, 1, mixed.stderr);
  assert.match(mixed.stderr, /tiny_target_log2cpm\.h5ad: X holds log-scale values \(max 1\d\.\d/);
});

test('refused: scaled data, counts that --input calls log, log values that --input calls counts', () => {
  const run = (query: string, ...extra: string[]) =>
    scnym(
      'annotate',
      '--reference',
      sharedFile('tiny', 'reference.h5ad'),
      '--query',
      query,
      '--label-key',
      'cell_type',
      '--out',
      join(dir, 'refused.zarr'),
      '--epochs',
      '1',
      '--quiet',
      ...extra,
    );
  const scaled = run(file('tiny_target_scaled'));
  assert.notEqual(scaled.status, 0);
  assert.match(scaled.stderr, /tiny_target_scaled\.h5ad: X: holds negative values \(min -\d/);
  assert.match(scaled.stderr, /→ store raw counts in X, layers\['counts'\] or raw/);

  const asCounts = run(file('tiny_target_log2cpm'), '--input', 'counts');
  assert.notEqual(asCounts.status, 0);
  assert.match(
    asCounts.stderr,
    /tiny_target_log2cpm\.h5ad: X: holds values that are not integers \(max 1\d\.\d+\), not the counts --input counts says/,
  );
  assert.match(asCounts.stderr, /→ leave --input out \(or pass --input log\)/);

  // --input applies to both files: the counts reference is refused for --input log.
  const asLog = run(file('tiny_target_log2cpm'), '--input', 'log');
  assert.notEqual(asLog.status, 0);
  assert.match(asLog.stderr, /reference\.h5ad: X: holds non-negative integers \(counts\?\)/);
  assert.match(asLog.stderr, /→ pass --input counts, or leave --input out/);

  const bad = run(file('tiny_target_log2cpm'), '--input', 'log3');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--input must be one of auto, counts, log, ln, log2, log10/);
});

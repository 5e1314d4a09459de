/**
 * `npm run bench -- --sections write`: what the safe write costs at atlas scale. A 1M-cell query
 * (made by python anndata: a sparse X, obs names, one obs column) gets one run's predictions —
 * labels, confidence, a 1M × 256 embedding, 1M × 10 probabilities — written:
 * - into a .zarr in place through writeAnnotationsToFile (lock, staging group, journal, renames,
 *   consolidated metadata), against the baseline of the same arrays written straight into the
 *   store with the hierarchy's createArray (no lock, no staging, no publish) in the same run;
 * - into an .h5ad in place (a temporary copy of the file edited, then renamed over it).
 * Each write runs in its own process, so its peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON, REPO } from '../helpers/paths.js';

const CELLS = Number(process.env.SCNYM_BENCH_WRITE_CELLS ?? 1_000_000);

const MAKE = `
import sys, numpy as np, anndata, pandas as pd, zarr
from scipy import sparse
n, g = int(sys.argv[1]), 200
rng = np.random.default_rng(0)
nnz = 10 * n
rows = np.repeat(np.arange(n), 10)
x = sparse.csr_matrix((rng.poisson(3, nnz).astype(np.float32) + 1, (rows, rng.integers(0, g, nnz))), shape=(n, g))
a = anndata.AnnData(X=x, obs=pd.DataFrame({"batch": pd.Categorical(rng.integers(0, 4, n).astype(str))}, index=[f"c{i}" for i in range(n)]),
                    var=pd.DataFrame(index=[f"g{j}" for j in range(g)]))
a.write_zarr(sys.argv[2] + "/q.zarr")
zarr.consolidate_metadata(sys.argv[2] + "/q.zarr")
a.write_h5ad(sys.argv[2] + "/q.h5ad")
`;

/** Runs in a child: writes the predictions one way, prints seconds and peak RSS. */
const CHILD = `
import { openZarrFile } from './core/src/node/zarr-store.ts';
import { writeAnnotationsToFile } from './core/src/node/write-file.ts';
const [mode, path, n] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const codes = new Int32Array(n).map((_, i) => i % 10);
const conf = new Float32Array(n).fill(0.9);
const embedding = new Float32Array(n * 256).map((_, i) => (i % 997) / 997);
const probabilities = new Float32Array(n * 10).fill(0.1);
const classes = Array.from({ length: 10 }, (_, i) => 'type ' + i);
const t0 = performance.now();
if (mode === 'baseline') {
  const h = await openZarrFile(path, { writable: true });
  const attrs = { 'encoding-type': 'array', 'encoding-version': '0.2.0' };
  await h.createArray('obs/conf', { data: conf, shape: [n], dtype: 'float32', attrs });
  await h.createArray('obs/codes', { data: Int8Array.from(codes), shape: [n], dtype: 'int8', attrs });
  await h.createArray('obsm/X_scnym', { data: embedding, shape: [n, 256], dtype: 'float32', attrs });
  await h.createArray('obsm/scNym_probabilities', { data: probabilities, shape: [n, 10], dtype: 'float32', attrs });
  await h.flush();
  await h.close();
} else {
  await writeAnnotationsToFile(path, {
    obs: {
      scNym: { kind: 'categorical', codes, categories: classes },
      scNym_confidence: { kind: 'float', values: conf },
    },
    obsm: {
      X_scnym: { data: embedding, shape: [n, 256] },
      scNym_probabilities: { data: probabilities, shape: [n, 10] },
    },
    uns: { scNym_classes: classes },
  });
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
`;

export async function benchWrite(): Promise<void> {
  console.log(
    `## Writing one run's predictions into a ${CELLS.toLocaleString('en-US')}-cell query\n`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'scnym-bench-write-'));
  try {
    const made = spawnSync(PYTHON, ['-c', MAKE, String(CELLS), dir], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`making the query failed:\n${made.stderr}`);
    const run = (mode: string, file: string) => {
      const copy = join(dir, `${mode}-${file}`);
      spawnSync('cp', ['-r', join(dir, file), copy]);
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', CHILD, mode, copy, String(CELLS)],
        { cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      if (r.status !== 0) throw new Error(`${mode} ${file} failed:\n${r.stderr}`);
      rmSync(copy, { recursive: true, force: true });
      return JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
        seconds: number;
        peakRssMb: number;
      };
    };
    const baseline = run('baseline', 'q.zarr');
    const zarr = run('safe', 'q.zarr');
    const h5ad = run('safe', 'q.h5ad');
    console.log('| write | seconds | × baseline | peak RSS (MB) |');
    console.log('|---|---|---|---|');
    for (const [label, r] of [
      ['zarr: arrays written straight into the store (baseline)', baseline],
      ['zarr in place: lock, staging, journal, publish, consolidated', zarr],
      ['h5ad in place: temporary copy edited, renamed over', h5ad],
    ] as const) {
      console.log(
        `| ${label} | ${r.seconds.toFixed(1)} | ${(r.seconds / baseline.seconds).toFixed(2)} | ${r.peakRssMb.toFixed(0)} |`,
      );
    }
    console.log();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

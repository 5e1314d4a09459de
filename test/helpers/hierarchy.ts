/**
 * What the Hierarchy tests (test/core/hierarchy.test.ts and the zarr and h5ad files beside it)
 * share: Debian's Python with anndata, h5py and zarr, and errors that name the element.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { AnnDataError } from '../../core/src/errors.js';
import type { Attrs, Range } from '../../core/src/anndata/hierarchy.js';
import { PYTHON } from './paths.js';

const hasPython = spawnSync(PYTHON, ['-c', 'import anndata, h5py, zarr']).status === 0;
/** Outside CI a machine without Debian's anndata skips these; in CI (CI=true) they must run. */
export const needsPython = {
  skip: hasPython || process.env.CI ? false : `needs ${PYTHON} with anndata, h5py and zarr`,
};

// `open_file` opens a .h5ad with h5py and a .zarr with zarr (`close` closes either); `text` reads
// strings from either.
const PRELUDE = `import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, h5py, zarr
def open_file(path):
    return h5py.File(path, "r") if path.endswith(".h5ad") else zarr.open(path, "r")
def close(f):
    getattr(f, "close", lambda: None)()
def read_anndata(path):
    import anndata
    return anndata.read_h5ad(path) if path.endswith(".h5ad") else anndata.read_zarr(path)
def text(ds, sel=...):
    values = ds.asstr()[sel] if isinstance(ds, h5py.Dataset) else ds[sel]
    return values.tolist() if hasattr(values, "tolist") else values
`;

/** Runs Python code (after PRELUDE) with `args` in sys.argv[1:] and parses the JSON it prints. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function py(code: string, ...args: string[]): any {
  const run = spawnSync(PYTHON, ['-c', PRELUDE + code, ...args], { encoding: 'utf8' });
  assert.equal(run.status, 0, `python failed:\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

export const rng = (start: number, end: number): Range => ({ start, end });
export const enc = (type: string, version: string): Attrs => ({
  'encoding-type': type,
  'encoding-version': version,
});

/** Expects an AnnDataError whose message names the file and the element, and matches `patterns`. */
export async function rejectsNaming(
  promise: Promise<unknown>,
  file: string,
  element: string,
  ...patterns: RegExp[]
): Promise<AnnDataError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail('expected an AnnDataError'),
    (err) => (caught = err),
  );
  assert.ok(caught instanceof AnnDataError, `expected AnnDataError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  assert.ok(
    caught.element?.startsWith(element),
    `element ${caught.element} should name ${element}`,
  );
  assert.ok(caught.message.includes(file) && caught.message.includes(element), caught.message);
  for (const re of patterns) assert.match(caught.message, re);
  return caught;
}

/** Expects an AnnDataError whose message matches `patterns` (for errors about a whole file). */
export async function rejectsWith(
  promise: Promise<unknown>,
  ...patterns: RegExp[]
): Promise<AnnDataError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail('expected an AnnDataError'),
    (err) => (caught = err),
  );
  assert.ok(caught instanceof AnnDataError, `not an AnnDataError: ${String(caught)}`);
  for (const re of patterns) assert.match(caught.message, re);
  return caught;
}

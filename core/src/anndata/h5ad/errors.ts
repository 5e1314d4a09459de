/** h5wasm setup so HDF5 failures throw, and those failures as AnnDataErrors with hints. */
import { AnnDataError, ScnymError } from '../../errors.js';
import { explainSystemError } from '../system-errors.js';
import type { H5Module } from './hdf5.js';

const prepared = new WeakSet<object>();

/**
 * Makes HDF5 failures throw instead of printing to stderr and carrying on. Call it once the
 * module is ready and before opening files; `openH5ad` calls it too.
 */
export function prepareH5wasm(module: H5Module): void {
  if (prepared.has(module)) return;
  module.activate_throwing_error_handler();
  prepared.add(module);
}

/** The most specific line of an HDF5 error stack, e.g. "required filter 'lzf' is not registered". */
export function hdf5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // h5wasm aborts when a filter plugin calls a function it does not export (their error paths)
  if (/^Aborted\(.*undefined symbol/.test(text)) {
    return 'a filter plugin failed on a chunk (damaged data?)';
  }
  const entries = [...text.matchAll(/#\d+: .*? in (\w+)\(\): (.*)/g)].filter(
    (m) => !m[1].startsWith('H5PL'), // plugin-path noise after a missing filter
  );
  const last = entries.at(-1);
  return (last ? last[2] : (text.split('\n')[0] ?? '')).trim() || 'unknown HDF5 error';
}

function hintFor(reason: string): string {
  if (/truncated/i.test(reason)) {
    return 'the file is incomplete (an interrupted download or copy?); copy or download it again';
  }
  if (/signature not found/i.test(reason)) return 'this is not an HDF5 (.h5ad) file';
  if (/not registered/i.test(reason)) {
    return "re-save it with gzip: adata.write_h5ad(path, compression='gzip')";
  }
  return 'the file may be damaged: check that python can read it (anndata.read_h5ad), or save it again';
}

/** Wraps anything thrown by h5wasm into an AnnDataError naming the file and element. */
export function asAnnDataError(
  err: unknown,
  file: string,
  element: string | undefined,
  doing: 'open' | 'read' | 'write',
): ScnymError {
  if (err instanceof ScnymError) return err;
  // A full disk or a permission problem, not a damaged file.
  const system = explainSystemError(err, { file });
  if (system) return system;
  const reason = hdf5Reason(err);
  return new AnnDataError(`cannot ${doing} the HDF5 data (${reason})`, {
    file,
    element: element || undefined,
    hint: hintFor(reason),
    cause: err,
  });
}

/**
 * Adds annotations to an AnnData file on disk without losing anything: zarr elements are
 * written under temporary names and renamed into place; an h5ad is edited in a temporary copy
 * that replaces the original only when the edit succeeded. With `outPath`, the original is
 * left as it is and a new file is written (also through a temporary name).
 */
import { cp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WriteConflictError } from '../anndata/errors.js';
import { writeAnnotations, type Annotations, type WriteOptions } from '../anndata/write.js';
import { updateH5adAtomically } from './h5ad-file.js';
import { isZarrPath } from './open.js';
import { openZarrFile } from './zarr-store.js';

export interface FileWriteOptions extends WriteOptions {
  /** Write a copy here instead of changing the input in place. */
  outPath?: string;
}

export async function writeAnnotationsToFile(
  path: string,
  annotations: Annotations,
  options: FileWriteOptions = {},
): Promise<void> {
  const zarr = await isZarrPath(path);
  if (options.outPath) {
    const exists = await stat(options.outPath).then(
      () => true,
      () => false,
    );
    if (exists && !options.overwrite) {
      throw new WriteConflictError('output already exists', {
        file: options.outPath,
        hint: 'choose another --out path, or pass --overwrite to replace it',
      });
    }
  }
  if (!zarr) {
    await updateH5adAtomically(path, (h) => writeAnnotations(h, annotations, options), {
      outPath: options.outPath,
    });
    return;
  }
  if (!options.outPath) {
    const h = await openZarrFile(path, { writable: true });
    try {
      await writeAnnotations(h, annotations, options);
    } finally {
      await h.close();
    }
    return;
  }
  const out = options.outPath;
  const tmp = join(dirname(out), `.${basename(out)}.scnym-tmp-${process.pid}-${Date.now()}`);
  try {
    await cp(path, tmp, { recursive: true });
    const h = await openZarrFile(tmp, { writable: true });
    try {
      await writeAnnotations(h, annotations, options);
    } finally {
      await h.close();
    }
    await rm(out, { recursive: true, force: true });
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

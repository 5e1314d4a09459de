/** Opens AnnData files from the local file system: a `.zarr` folder or an `.h5ad` file. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AnnDataError, NotFoundError } from '../anndata/errors.js';
import { openAnnData } from '../anndata/read.js';
import type { AnnData } from '../anndata/types.js';
import { openH5adFile } from './h5ad-file.js';
import { tidyBeforeRead } from './recover.js';
import { openZarrFile } from './zarr-store.js';

export interface OpenOptions {
  /** Told what was cleaned up after an interrupted scNym write before reading. */
  onNotice?: (message: string) => void;
}

export async function openAnnDataFile(path: string, options: OpenOptions = {}): Promise<AnnData> {
  let info = await stat(path).catch(() => undefined);
  // A folder replaced by a killed scNym run may be missing for a moment: put it back first.
  if (!info) await tidyBeforeRead(path, false, options.onNotice);
  info ??= await stat(path).catch(() => undefined);
  if (!info) {
    throw new NotFoundError('no such file or folder', {
      file: path,
      hint: `check the path (looked for ${resolve(path)})`,
    });
  }
  await tidyBeforeRead(path, info.isDirectory(), options.onNotice);
  const h = info.isDirectory() ? await openZarrFile(path) : await openH5adFile(path);
  try {
    return await openAnnData(h);
  } catch (err) {
    await h.close().catch(() => undefined);
    throw err;
  }
}

/** True when the path looks like a zarr store (a folder) rather than an h5ad file. */
export async function isZarrPath(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info)
    throw new NotFoundError('no such file or folder', { file: path, hint: 'check the path' });
  return info.isDirectory();
}

export { AnnDataError };

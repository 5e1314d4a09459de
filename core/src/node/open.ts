/** Opens AnnData files from the local file system: a `.zarr` folder or an `.h5ad` file. */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AnnDataError, NotFoundError } from '../errors.js';
import { openAnnData } from '../anndata/read.js';
import { withSystemErrorExplained } from '../anndata/system-errors.js';
import type { AnnData } from '../anndata/types.js';
import { openH5adFile } from './h5ad-file.js';
import { tidyBeforeRead } from './recover.js';
import { openZarrFile } from './zarr-store.js';

export interface OpenOptions {
  /** Told what was cleaned up after an interrupted scNym write before reading. */
  onNotice?: (message: string) => void;
}

export async function openAnnDataFile(path: string, options: OpenOptions = {}): Promise<AnnData> {
  let info = await statOrExplain(path);
  // A folder replaced by a killed scNym run may be missing for a moment: put it back first.
  if (!info) await tidyBeforeRead(path, false, options.onNotice);
  info ??= await statOrExplain(path);
  if (!info) {
    throw new NotFoundError('no such file or folder', {
      file: path,
      hint: `check the path (looked for ${resolve(path)})`,
    });
  }
  await tidyBeforeRead(path, info.isDirectory(), options.onNotice);
  const h = await (info.isDirectory() ? openZarrFile(path) : openH5adFile(path)).catch(
    (err: unknown) => {
      throw withSystemErrorExplained(err, { file: path });
    },
  );
  try {
    return await openAnnData(h);
  } catch (err) {
    await h.close().catch(() => undefined);
    throw withSystemErrorExplained(err, { file: path });
  }
}

/** True when the path looks like a zarr store (a folder) rather than an h5ad file. */
export async function isZarrPath(path: string): Promise<boolean> {
  const info = await statOrExplain(path);
  if (!info)
    throw new NotFoundError('no such file or folder', { file: path, hint: 'check the path' });
  return info.isDirectory();
}

/** stat, or undefined when nothing is there; other failures (EACCES, …) explained. */
async function statOrExplain(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw withSystemErrorExplained(err, { file: path });
  }
}

export { AnnDataError };

/**
 * Finishing or discarding what a killed scNym writer left in or beside a dataset: scratch copies
 * beside it (scratch.ts) and, inside a zarr store, a staged write (zarr/publish.ts). Writers do
 * this holding the dataset's lock; readers do it when nobody holds the lock.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { STAGE_PREFIX } from '../anndata/hierarchy.js';
import { recoverStaged } from '../anndata/zarr/publish.js';
import { tryAcquireLock } from './lock.js';
import { settleScratch } from './scratch.js';
import { FileSystemZarrStore } from './zarr-store.js';

/** Under the dataset's lock: cleans up after killed writers, telling `onNotice` what was done. */
export async function settle(
  path: string,
  zarr: boolean,
  onNotice?: (message: string) => void,
): Promise<void> {
  const done = await settleScratch(path);
  if (zarr) {
    const staged = await recoverStaged(new FileSystemZarrStore(path));
    if (staged.completed > 0)
      done.push(`completed an interrupted scNym write in ${basename(path)}`);
    if (staged.discarded > 0) done.push(`removed an unfinished scNym write from ${basename(path)}`);
  }
  for (const line of done) onNotice?.(line);
}

/**
 * Before reading: if a killed writer left something, and no live one holds the lock, settles
 * it, so that a half-published write is seen whole. Best effort: a read-only place is read as
 * it is.
 */
export async function tidyBeforeRead(
  path: string,
  zarr: boolean,
  onNotice?: (message: string) => void,
): Promise<void> {
  const abs = resolve(path);
  const beside = (await readdir(dirname(abs)).catch(() => [] as string[])).some((n) =>
    n.startsWith(`.${basename(abs)}.scnym-`),
  );
  const inside =
    zarr &&
    (await readdir(abs).catch(() => [] as string[])).some((n) => n.startsWith(STAGE_PREFIX));
  if (!beside && !inside) return;
  try {
    const lock = await tryAcquireLock(abs);
    if (!lock) return;
    try {
      await settle(abs, zarr, onNotice);
    } finally {
      await lock.release();
    }
  } catch {
    // Not ours to fix here (read-only folder, another host's lock): read what is there.
  }
}

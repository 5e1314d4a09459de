/**
 * Adds annotations to an AnnData file on disk so that a run's keys appear all together or not
 * at all, whatever stops the process:
 * - in place: a zarr store gets them through a journalled staging group (anndata/write.ts,
 *   zarr/publish.ts); an h5ad is edited in a temporary copy that is renamed over it;
 * - with `outPath`: a new file or store is written under a temporary name beside it and renamed
 *   into place; an existing output is replaced only when allowed (targets.ts).
 * One writer at a time per file (lock.ts); what a killed writer left is finished or discarded
 * by the next one (scratch.ts, zarr/publish.ts).
 */
import { cp, mkdir } from 'node:fs/promises';
import { throwIfAborted } from '../errors.js';
import { basename, dirname, resolve } from 'node:path';
import { PRIVATE_PREFIX } from '../anndata/hierarchy.js';
import { withSystemErrorExplained } from '../anndata/system-errors.js';
import { writeAnnotations, type Annotations, type WriteOptions } from '../anndata/write.js';
import { updateH5adAtomically } from './h5ad-file.js';
import { withLocks, type LockOptions } from './lock.js';
import { isZarrPath } from './open.js';
import { settle } from './recover.js';
import { replaceFolder, withTemporary } from './scratch.js';
import { canonical, checkOutput, checkWritableInPlace } from './targets.js';
import { openZarrFile } from './zarr-store.js';

export interface FileWriteOptions extends WriteOptions {
  /** Write a copy here instead of changing the input in place (the input itself: in place). */
  outPath?: string;
  /** The run's other inputs (e.g. the reference), which `outPath` may never be or hold. */
  inputs?: string[];
  /** How long to wait for another writer of the same file (default 5 minutes). */
  lockWaitMs?: number;
  /** Told when another writer holds the file, and what was cleaned up after a killed one. */
  onNotice?: (message: string) => void;
}

export async function writeAnnotationsToFile(
  path: string,
  annotations: Annotations,
  options: FileWriteOptions = {},
): Promise<void> {
  try {
    await write(path, annotations, options);
  } catch (err) {
    throw withSystemErrorExplained(err, { file: options.outPath ?? path });
  }
}

async function write(
  path: string,
  annotations: Annotations,
  options: FileWriteOptions,
): Promise<void> {
  const zarr = await isZarrPath(path);
  const out = await outputOf(path, options.outPath);
  const lock: LockOptions = {
    signal: options.signal,
    waitMs: options.lockWaitMs,
    onWait: options.onNotice,
  };
  const edit = { overwrite: options.overwrite, signal: options.signal };
  if (!out) {
    await checkWritableInPlace(path);
    await withLocks(
      [path],
      async () => {
        await settle(path, zarr, options.onNotice);
        if (zarr) await writeZarr(path, annotations, edit);
        else await updateH5adAtomically(path, (h) => writeAnnotations(h, annotations, edit), edit);
      },
      lock,
    );
    return;
  }
  const target = {
    path: out,
    flag: '--out',
    holds: zarr ? ('zarr' as const) : ('h5ad' as const),
    overwrite: options.overwrite,
    inputs: [path, ...(options.inputs ?? [])],
  };
  await checkOutput(target);
  await mkdir(dirname(resolve(out)), { recursive: true });
  await withLocks(
    [out, path],
    async () => {
      await settle(out, false, options.onNotice);
      await checkOutput(target); // again: it may have changed while we waited for the lock
      if (!zarr) {
        await updateH5adAtomically(path, (h) => writeAnnotations(h, annotations, edit), {
          ...edit,
          outPath: out,
        });
        return;
      }
      await withTemporary(out, async (tmp) => {
        await copyStore(path, tmp, options.signal);
        await writeZarr(tmp, annotations, edit);
        throwIfAborted(options.signal);
        await replaceFolder(tmp, out);
      });
    },
    lock,
  );
}

/** The output path, or undefined when there is none or it names the input itself. */
async function outputOf(path: string, out: string | undefined): Promise<string | undefined> {
  if (out === undefined) return undefined;
  return (await canonical(out)) === (await canonical(path)) ? undefined : out;
}

async function writeZarr(path: string, annotations: Annotations, edit: WriteOptions) {
  const h = await openZarrFile(path, { writable: true });
  try {
    await writeAnnotations(h, annotations, edit);
  } finally {
    await h.close();
  }
}

/**
 * Copies a store, without scNym's private entries; a cancel stops it between entries. Links are
 * followed (a store given through a link, as Nextflow stages inputs, is copied, not linked to).
 */
async function copyStore(from: string, to: string, signal?: AbortSignal): Promise<void> {
  await cp(from, to, {
    recursive: true,
    dereference: true,
    errorOnExist: true,
    force: false,
    filter: (src) => {
      throwIfAborted(signal);
      return !basename(src).startsWith(PRIVATE_PREFIX);
    },
  });
}

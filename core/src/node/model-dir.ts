/**
 * Model folders on disk: written whole under a temporary name, then renamed into place. An
 * existing folder is replaced only with `overwrite` and only if it is an scNym model folder
 * (see targets.ts), never a folder that holds anything else or an input.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { NotFoundError } from '../anndata/errors.js';
import { withSystemErrorExplained } from '../anndata/system-errors.js';
import { modelFromFiles, type LoadedModel } from '../model/files.js';
import { withLocks } from './lock.js';
import { settle } from './recover.js';
import { replaceFolder, withTemporary } from './scratch.js';
import { checkOutput } from './targets.js';

export interface SaveModelOptions {
  /** Replace an existing scNym model folder at `dir`. */
  overwrite?: boolean;
  /** The run's inputs, which the model folder may never be, hold or sit in. */
  inputs?: string[];
  /** Cancels the save until the folder is renamed into place. */
  signal?: AbortSignal;
  /** How long to wait for another writer of the same folder (default 5 minutes). */
  lockWaitMs?: number;
  /** Told when another writer holds the folder, and what was cleaned up after a killed one. */
  onNotice?: (message: string) => void;
}

export async function saveModelDir(
  dir: string,
  files: Map<string, Uint8Array>,
  options: SaveModelOptions = {},
): Promise<void> {
  const target = {
    path: dir,
    flag: '--model-out',
    holds: 'model' as const,
    overwrite: options.overwrite,
    inputs: options.inputs ?? [],
  };
  await checkOutput(target);
  try {
    await write(dir, files, target, options);
  } catch (err) {
    throw withSystemErrorExplained(err, { file: dir });
  }
}

async function write(
  dir: string,
  files: Map<string, Uint8Array>,
  target: Parameters<typeof checkOutput>[0],
  options: SaveModelOptions,
): Promise<void> {
  const { signal } = options;
  await mkdir(dirname(resolve(dir)), { recursive: true });
  await withLocks(
    [dir],
    async () => {
      await settle(dir, false, options.onNotice);
      await checkOutput(target); // again: it may have changed while we waited for the lock
      await withTemporary(dir, async (tmp) => {
        await mkdir(tmp);
        for (const [name, bytes] of files) {
          signal?.throwIfAborted();
          await writeFile(join(tmp, name), bytes);
        }
        signal?.throwIfAborted();
        await replaceFolder(tmp, dir);
      });
    },
    { signal, waitMs: options.lockWaitMs, onWait: options.onNotice },
  );
}

export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const info = await stat(dir).catch(() => undefined);
  if (!info)
    throw new NotFoundError('no such model folder', { file: dir, hint: 'check the --model path' });
  if (!info.isDirectory()) {
    throw new NotFoundError('is a file, not a model folder', {
      file: dir,
      hint: 'pass the folder written by scnym train --model-out (it holds scnym.json)',
    });
  }
  return modelFromFiles(async (name) => {
    try {
      return new Uint8Array(await readFile(join(dir, name)));
    } catch {
      return undefined;
    }
  }, dir);
}

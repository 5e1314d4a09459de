/**
 * Model folders on disk: written whole under a temporary name, then renamed into place. An
 * existing folder is replaced only with `overwrite` and only if it is an scNym model folder
 * (see targets.ts), never a folder that holds anything else or an input. Loading treats the
 * folder as untrusted: only plain regular files inside it, sizes checked before reading.
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { NotFoundError, ScnymError, throwIfAborted } from '../errors.js';
import { withSystemErrorExplained } from '../anndata/system-errors.js';
import {
  isPlainFileName,
  MODEL_JSON,
  modelFileTooLarge,
  modelFromFiles,
  SCNYM_JSON,
  WEIGHTS_BIN,
  type LoadedModel,
} from '../model/files.js';
import { withLocks } from './lock.js';
import { settle, tidyBeforeRead } from './recover.js';
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

/**
 * A model's files' digest, 'sha256:<hex>' over each file's name, byte length and bytes in name
 * order: what uns `<key>_model` records, so the folder found later can be told to be the same.
 */
export function modelDigest(files: ReadonlyMap<string, Uint8Array>): string {
  const hash = createHash('sha256');
  for (const name of [...files.keys()].sort()) {
    const bytes = files.get(name) as Uint8Array;
    hash.update(`${name}\0${bytes.byteLength}\0`);
    hash.update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Writes the model folder; resolves to its modelDigest. */
export async function saveModelDir(
  dir: string,
  files: Map<string, Uint8Array>,
  options: SaveModelOptions = {},
): Promise<string> {
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
  return modelDigest(files);
}

/** A model folder's modelDigest, read as loadModelDir reads it (plain regular files only). */
export async function modelDirDigest(dir: string): Promise<string> {
  return modelDigest(await readModelDirFiles(dir));
}

/** A model folder's files as loadModelDir reads them (plain regular files only; absent ones left out). */
export async function readModelDirFiles(dir: string): Promise<Map<string, Uint8Array>> {
  await tidyModelDir(dir);
  const files = new Map<string, Uint8Array>();
  for (const name of [SCNYM_JSON, MODEL_JSON, WEIGHTS_BIN]) {
    const bytes = await readModelFile(dir, name, Number.MAX_SAFE_INTEGER);
    if (bytes) files.set(name, bytes);
  }
  return files;
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
          throwIfAborted(signal);
          await writeFile(join(tmp, name), bytes);
        }
        throwIfAborted(signal);
        await replaceFolder(tmp, dir);
      });
    },
    { signal, waitMs: options.lockWaitMs, onWait: options.onNotice },
  );
}

/**
 * Before reading a model folder: one a killed scNym run was replacing may be missing (moved
 * aside, the new one not yet in place); put it back first, as opening a dataset does.
 */
export async function tidyModelDir(dir: string): Promise<void> {
  if (!(await stat(dir).catch(() => undefined))) await tidyBeforeRead(dir, false);
}

export async function loadModelDir(dir: string): Promise<LoadedModel> {
  await tidyModelDir(dir);
  const info = await stat(dir).catch(() => undefined);
  if (!info)
    throw new NotFoundError('no such model folder', { file: dir, hint: 'check the --model path' });
  if (!info.isDirectory()) {
    throw new NotFoundError('is a file, not a model folder', {
      file: dir,
      hint: 'pass the folder written by scnym train --model-out (it holds scnym.json)',
    });
  }
  return modelFromFiles((name, maxBytes) => readModelFile(dir, name, maxBytes), dir);
}

/**
 * One file of a model folder, read only if it is a plain name, a regular file (no link, device,
 * FIFO or folder: /dev/zero or a FIFO would be read forever) and no larger than `maxBytes`.
 */
async function readModelFile(
  dir: string,
  name: string,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const path = join(dir, name);
  const hint =
    'a model folder holds only the files scnym train wrote; copy the real file in, or train the model again';
  if (!isPlainFileName(name)) {
    throw new ScnymError('is not a file name inside the model folder', {
      file: path,
      hint,
      code: 'bad-model',
    });
  }
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw new ScnymError(`cannot be read (${err.code ?? err.message})`, {
      file: path,
      hint,
      code: 'bad-model',
    });
  });
  if (!info) return undefined;
  if (!info.isFile()) {
    throw new ScnymError(`is ${fileKind(info)}, not a regular file`, {
      file: path,
      hint,
      code: 'bad-model',
    });
  }
  if (info.size > maxBytes) throw modelFileTooLarge(dir, name, info.size, maxBytes);
  // O_NOFOLLOW and the same inode: the file cannot be swapped for a link between lstat and open;
  // O_NONBLOCK: a FIFO put there meanwhile does not block the open.
  const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
  const handle = await open(path, flags).catch((err: NodeJS.ErrnoException) => {
    throw new ScnymError(`cannot be opened (${err.code ?? err.message})`, {
      file: path,
      hint,
      code: 'bad-model',
    });
  });
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
      throw new ScnymError('changed while it was being opened', {
        file: path,
        hint,
        code: 'bad-model',
      });
    }
    // Never more than the size seen (and allowed): a file that grows meanwhile is cut short,
    // which the caller's byte count then reports.
    const bytes = new Uint8Array(Math.min(opened.size, maxBytes));
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

function fileKind(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}

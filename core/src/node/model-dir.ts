/** Model folders on disk: written whole under a temporary name, then renamed into place. */
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NotFoundError, ScnymError, WriteConflictError } from '../anndata/errors.js';
import {
  isPlainFileName,
  modelFileTooLarge,
  modelFromFiles,
  type LoadedModel,
} from '../model/files.js';

export async function saveModelDir(
  dir: string,
  files: Map<string, Uint8Array>,
  options: { overwrite?: boolean } = {},
): Promise<void> {
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (exists && !options.overwrite) {
    throw new WriteConflictError('model folder already exists', {
      file: dir,
      hint: 'choose another --model-out folder, or pass --overwrite to replace it',
    });
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${basename(dir)}.scnym-tmp-${process.pid}-${Date.now()}`);
  try {
    await mkdir(tmp);
    for (const [name, bytes] of files) await writeFile(join(tmp, name), bytes);
    if (exists) await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
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
    throw new ScnymError('is not a file name inside the model folder', { file: path, hint });
  }
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw new ScnymError(`cannot be read (${err.code ?? err.message})`, { file: path, hint });
  });
  if (!info) return undefined;
  if (!info.isFile()) {
    throw new ScnymError(`is ${fileKind(info)}, not a regular file`, { file: path, hint });
  }
  if (info.size > maxBytes) throw modelFileTooLarge(dir, name, info.size, maxBytes);
  // O_NOFOLLOW and the same inode: the file cannot be swapped for a link between lstat and open;
  // O_NONBLOCK: a FIFO put there meanwhile does not block the open.
  const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
  const handle = await open(path, flags).catch((err: NodeJS.ErrnoException) => {
    throw new ScnymError(`cannot be opened (${err.code ?? err.message})`, { file: path, hint });
  });
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
      throw new ScnymError('changed while it was being opened', { file: path, hint });
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

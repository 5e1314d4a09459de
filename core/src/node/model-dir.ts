/** Model folders on disk: written whole under a temporary name, then renamed into place. */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NotFoundError, WriteConflictError } from '../anndata/errors.js';
import { modelFromFiles, type LoadedModel } from '../model/files.js';

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
  return modelFromFiles(async (name) => {
    try {
      return new Uint8Array(await readFile(join(dir, name)));
    } catch {
      return undefined;
    }
  }, dir);
}

/**
 * Where a write may go. Checked before any work is done (so a long run is not wasted) and
 * again just before writing: in-place writes never go through symbolic links or into files the
 * user made read-only; an existing output is replaced only with --overwrite and only when it is
 * recognisably ours to replace (an AnnData store or file, an scNym model folder), never when it
 * is, holds or sits inside one of the run's inputs.
 */
import { constants } from 'node:fs';
import { access, lstat, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { WriteConflictError } from '../errors.js';
import { MODEL_JSON, SCNYM_JSON, WEIGHTS_BIN } from '../model/files.js';
import { MODEL_FORMAT } from '../model/io.js';
import { hasSignature } from './h5ad-file.js';

const MODEL_FILES = new Set([SCNYM_JSON, MODEL_JSON, WEIGHTS_BIN]);
/** The first bytes of a shard file (shard-file.ts). */
export const SHARD_SIGNATURE = 'SCNYMSHD';

/** Refuses an in-place write into `path` (an .h5ad file or a .zarr folder) the user would not expect. */
export async function checkWritableInPlace(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) {
    const target = await realpath(path).catch(() => '(a missing target)');
    throw new WriteConflictError(`is a symbolic link to ${target}`, {
      file: path,
      hint: `scNym will not write through a link: pass the file it points to (${target}), or write a copy with --out`,
    });
  }
  if (!(await writable(path))) {
    throw new WriteConflictError('is read-only', {
      file: path,
      hint: `make it writable if scNym may change it (chmod u+w ${path}), or write a copy with --out`,
    });
  }
  if (info.isDirectory()) {
    for (const group of ['obs', 'obsm', 'uns']) {
      const inner = await lstat(join(path, group)).catch(() => undefined);
      if (inner?.isSymbolicLink()) {
        throw new WriteConflictError(`${group} is a symbolic link inside the store`, {
          file: path,
          hint: 'scNym will not write through a link: write a copy with --out',
        });
      }
      if (inner && !(await writable(join(path, group)))) {
        throw new WriteConflictError(`${group} is read-only`, {
          file: path,
          hint: 'make the store writable (chmod -R u+w), or write a copy with --out',
        });
      }
    }
  } else if (!(await writable(dirname(resolve(path))))) {
    // The edited copy is written beside the file and renamed over it.
    throw new WriteConflictError(
      `cannot be changed: its folder ${dirname(resolve(path))} is not writable`,
      {
        file: path,
        hint: 'scNym writes the new file beside the old one and renames it into place; write a copy elsewhere with --out',
      },
    );
  }
}

export interface OutputTarget {
  /** The path given by the user (--out, --model-out). */
  path: string;
  /** The flag, for messages. */
  flag: string;
  /** What will be written there. */
  holds: 'zarr' | 'h5ad' | 'model' | 'shard';
  overwrite?: boolean;
  /** The run's inputs (files or folders), which an output may never be, hold or sit in. */
  inputs: string[];
}

/** Checks an output path; resolves to true when it will replace something there. */
export async function checkOutput(target: OutputTarget): Promise<boolean> {
  const { path, flag } = target;
  const refuse = (problem: string, hint: string) =>
    new WriteConflictError(problem, { file: path, hint });
  const dest = await canonical(path);
  for (const input of target.inputs) {
    const real = await canonical(input);
    if (real === dest) {
      throw refuse(`is one of this run's inputs`, `choose another ${flag} path`);
    }
    if (within(real, dest)) {
      throw refuse(
        `holds ${input}, an input of this run`,
        `choose a new ${flag} path: replacing it would delete the input`,
      );
    }
    if (within(dest, real)) {
      throw refuse(`is inside ${input}, an input of this run`, `choose a ${flag} path outside it`);
    }
  }
  const info = await lstat(path).catch(() => undefined);
  if (!info) return false;
  if (info.isSymbolicLink()) {
    throw refuse(
      'is a symbolic link',
      `scNym will not replace or write through a link; choose another ${flag} path`,
    );
  }
  if (target.holds === 'model' && info.isDirectory() && (await readdir(path)).length === 0) {
    return true; // an empty folder made for the model
  }
  if (!target.overwrite) {
    throw refuse(
      'already exists',
      `choose another ${flag} path, or pass --overwrite to replace it`,
    );
  }
  const problem = await notOurs(path, target.holds, info.isDirectory());
  if (problem) {
    throw refuse(
      `${problem}: --overwrite only replaces ${WHAT[target.holds]}`,
      `choose another ${flag} path; nothing was changed`,
    );
  }
  return true;
}

const WHAT = {
  zarr: 'an AnnData .zarr store',
  h5ad: 'an .h5ad file',
  model: 'a model folder written by scNym (scnym.json, model.json, weights.bin)',
  shard: 'a shard file written by scnym predict --shard',
};

/** Why an existing path is not something this write may replace, or null if it is. */
async function notOurs(
  path: string,
  holds: OutputTarget['holds'],
  isDir: boolean,
): Promise<string | null> {
  if (holds === 'shard') {
    if (isDir) return 'is a folder';
    return (await hasShardSignature(path)) ? null : 'is not a shard file';
  }
  if (holds === 'h5ad') {
    if (isDir) return 'is a folder';
    const size = (await lstat(path)).size;
    return (await hasSignature(path, size)) ? null : 'is not an HDF5 (.h5ad) file';
  }
  if (!isDir) return 'is a file, not a folder';
  const names = await readdir(path);
  if (holds === 'zarr') {
    const attrs = await rootAttrs(path);
    if (attrs === null) return 'is not a Zarr store (no .zgroup or zarr.json)';
    const legacy = names.includes('obs') && names.includes('var');
    return attrs['encoding-type'] === 'anndata' || legacy
      ? null
      : 'is a Zarr store but not AnnData';
  }
  const extra = names.filter((n) => !MODEL_FILES.has(n));
  if (extra.length > 0) {
    const shown = extra.slice(0, 3).join(', ') + (extra.length > 3 ? ', …' : '');
    return `holds files that are not part of an scNym model (${shown})`;
  }
  const card = await readFile(join(path, SCNYM_JSON), 'utf8').catch(() => null);
  try {
    if (card !== null && (JSON.parse(card) as { format?: unknown }).format === MODEL_FORMAT) {
      return null;
    }
  } catch {
    // not JSON: not ours
  }
  return `has no scNym ${SCNYM_JSON}`;
}

async function hasShardSignature(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(SHARD_SIGNATURE.length);
    await fh.read(head, 0, head.length, 0);
    return head.toString('latin1') === SHARD_SIGNATURE;
  } finally {
    await fh.close();
  }
}

async function rootAttrs(path: string): Promise<Record<string, unknown> | null> {
  const read = async (name: string) => {
    const text = await readFile(join(path, name), 'utf8').catch(() => null);
    if (text === null) return null;
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const v3 = await read('zarr.json');
  if (v3) return (v3.attributes as Record<string, unknown> | undefined) ?? {};
  if (!(await read('.zgroup'))) return null;
  return (await read('.zattrs')) ?? {};
}

/** The absolute path with every existing part's links resolved. */
export async function canonical(path: string): Promise<string> {
  const abs = resolve(path);
  const real = await realpath(abs).catch(() => null);
  if (real) return real;
  const parent = dirname(abs);
  return parent === abs ? abs : join(await canonical(parent), basename(abs));
}

function within(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
}

/** Writable for us, and not protected by its mode (root may write anywhere, but a file with no
 * write permission at all was protected on purpose). */
async function writable(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info || (info.mode & 0o222) === 0) return false;
  return access(path, constants.W_OK).then(
    () => true,
    () => false,
  );
}

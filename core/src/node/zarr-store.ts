/** Zarr stores on the local file system: the Node side of `anndata/zarr.ts`. */
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AnnDataError } from '../errors.js';
import { failpoint } from './failpoint.js';
import type { Hierarchy, WritableHierarchy } from '../anndata/hierarchy.js';
import {
  openZarr,
  openZarrWritable,
  type ByteRange,
  type WritableZarrStore,
} from '../anndata/zarr.js';

/** Error codes that mean "nothing at this key" (ENOTDIR: a parent is a file, e.g. a chunk). */
const MISSING = new Set(['ENOENT', 'ENOTDIR']);

function isMissing(err: unknown): boolean {
  return MISSING.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** A Zarr store in a directory: one file per key. */
export class FileSystemZarrStore implements WritableZarrStore {
  /** `set` writes a temp file and renames it over the old one. */
  readonly atomicSet = true;
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.file(key));
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw err;
    }
  }

  /** Reads part of a file; a range past its end yields the bytes that exist. */
  async getRange(key: string, range: ByteRange): Promise<Uint8Array | undefined> {
    let handle;
    try {
      handle = await open(this.file(key), 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const size = (await handle.stat()).size;
      const start = 'suffixLength' in range ? Math.max(0, size - range.suffixLength) : range.offset;
      const end = 'suffixLength' in range ? size : range.offset + range.length;
      // Clamped to the file: a corrupt shard index must not make us allocate its numbers.
      const length = Math.max(0, Math.min(end, size) - Math.min(start, size));
      const buffer = new Uint8Array(length);
      const { bytesRead } = await handle.read(buffer, 0, length, Math.min(start, size));
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      return (await readdir(this.file(prefix))).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    const target = this.file(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = join(dirname(target), `.${basename(target)}.${process.pid}-${tempSuffix()}.tmp`);
    try {
      await writeFile(temp, value);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    failpoint('zarr-set');
  }

  async delete(prefix: string): Promise<void> {
    await rm(this.file(prefix), { recursive: true, force: true });
  }

  async rename(fromPrefix: string, toPrefix: string): Promise<void> {
    const target = this.file(toPrefix);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.file(fromPrefix), target);
    failpoint('zarr-rename');
  }

  /** The file for a key; keys cannot leave the root. */
  private file(key: string): string {
    const parts = key.split('/').filter((p) => p !== '');
    if (parts.some((p) => p === '.' || p === '..')) throw new Error(`invalid store key '${key}'`);
    return join(this.root, ...parts);
  }
}

let counter = 0;

function tempSuffix(): string {
  counter += 1;
  return `${Date.now().toString(36)}${counter.toString(36)}`;
}

/** Opens a `.zarr` folder. Writable hierarchies change the folder in place. */
export async function openZarrFile(
  path: string,
  options: { writable: true },
): Promise<WritableHierarchy>;
export async function openZarrFile(
  path: string,
  options?: { writable?: boolean },
): Promise<Hierarchy>;
export async function openZarrFile(
  path: string,
  options: { writable?: boolean } = {},
): Promise<Hierarchy | WritableHierarchy> {
  await checkZarrFolder(path);
  const store = new FileSystemZarrStore(path);
  return options.writable ? openZarrWritable(store, path) : openZarr(store, path);
}

async function checkZarrFolder(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new AnnDataError('no such file or folder', {
      file: path,
      hint: `check the path (looked for ${resolve(path)})`,
    });
  }
  if (!info.isDirectory()) {
    throw new AnnDataError('not a Zarr store: a Zarr store is a folder, this is a file', {
      file: path,
      hint: path.endsWith('.h5ad')
        ? 'open .h5ad files with the h5ad reader'
        : 'unzip zipped stores first; point to the folder that holds .zgroup or zarr.json',
    });
  }
  const markers = await Promise.all(
    ['.zgroup', 'zarr.json'].map((name) =>
      stat(join(path, name)).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (!markers.some(Boolean)) {
    throw new AnnDataError('not a Zarr store: the folder has no .zgroup or zarr.json', {
      file: path,
      hint: 'point to the folder that holds .zgroup (Zarr v2) or zarr.json (Zarr v3), e.g. data.zarr',
    });
  }
}

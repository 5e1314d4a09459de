/**
 * h5ad files on the local file system: opening for reading, and editing through a temporary
 * copy that replaces the original only once the edit has fully succeeded.
 */
import {
  closeSync,
  createReadStream,
  createWriteStream,
  openSync,
  readdirSync,
  readSync,
  writeSync,
} from 'node:fs';
import { chmod, open, rename, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import h5wasm from 'h5wasm/node';
import { AnnDataError, throwIfAborted } from '../errors.js';
import {
  asAnnDataError,
  openH5ad,
  openH5adWritable,
  prepareH5wasm,
  useFilterPlugins,
  type H5adFileAccess,
  type H5Module,
} from '../anndata/h5ad.js';
import type { Hierarchy, WritableHierarchy } from '../anndata/hierarchy.js';
import { failpoint } from './failpoint.js';
import { withTemporary } from './scratch.js';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]; // \x89HDF\r\n\x1a\n
/** Old-style objects, as h5py writes: the byte-level edits in h5ad.ts need them. */
const WRITE_LIBVER = ['earliest', 'latest'] as const;

let loading: Promise<H5Module> | undefined;
let pluginFolders: string[] | undefined;

/**
 * Where the HDF5 filter plugins (libH5Z*.so) are, searched in order: by default core's own
 * (core/h5plugins: lzf) and then h5wasm-plugins' installed package; a bundle without
 * node_modules (the VS Code extension's worker) names its copy. Call it before the first file is
 * opened.
 */
export function useH5PluginFolder(folder: string): void {
  pluginFolders = [folder];
}

/** The h5wasm module, loaded once, with HDF5 errors turned into exceptions and its plugins. */
function loadH5wasm(): Promise<H5Module> {
  loading ??= h5wasm.ready.then((m) => {
    prepareH5wasm(m);
    // a folder that is missing lists no files: reads that need its plugins say which is missing
    const folders = (pluginFolders ?? defaultPluginFolders()).map((f) => ({
      path: resolve(f),
      files: listFiles(f),
    }));
    useFilterPlugins(m, { folders });
    return m;
  });
  return loading;
}

function defaultPluginFolders(): string[] {
  const ours = fileURLToPath(new URL('../../h5plugins', import.meta.url)); // from src/ or dist/
  try {
    const pkg = createRequire(import.meta.url).resolve('h5wasm-plugins/package.json');
    return [ours, join(dirname(pkg), 'plugins')];
  } catch {
    return [ours];
  }
}

function listFiles(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}

/** Opens an .h5ad file for reading; `close()` the result when done. */
export async function openH5adFile(path: string): Promise<Hierarchy> {
  await checkHdf5(path);
  const m = await loadH5wasm();
  return openH5ad(openFile(path, 'r'), path, m);
}

export interface H5adUpdateOptions {
  /** Write the edited file here instead of replacing `path`. */
  outPath?: string;
  /** Largest piece of a numeric array handed to h5wasm at once (default 64 MB). */
  writeBlockBytes?: number;
  /** Cancels the update until the moment the edited copy is renamed into place. */
  signal?: AbortSignal;
}

/**
 * Edits an .h5ad through a temporary copy in the destination's folder, then renames it over
 * the original (or to `outPath`). If `edit` or anything after it fails or is cancelled, the copy
 * is deleted and the original is untouched. The caller holds the destination's lock.
 */
export async function updateH5adAtomically(
  path: string,
  edit: (h: WritableHierarchy) => Promise<void>,
  options: H5adUpdateOptions = {},
): Promise<void> {
  await checkHdf5(path);
  const m = await loadH5wasm();
  const { signal } = options;
  const dest = options.outPath ?? path;
  await withTemporary(dest, async (tmp) => {
    const mode = (await stat(path)).mode & 0o777;
    await copy(path, tmp, signal);
    failpoint('h5ad');
    await chmod(tmp, mode | 0o600); // a read-only original still gives a writable copy
    let h: WritableHierarchy | undefined;
    try {
      h = openH5adWritable(openFile(tmp, 'a', path), path, m, {
        access: fileAccess(tmp, path),
        writeBlockBytes: options.writeBlockBytes,
      });
      await edit(h);
      await h.flush();
      await h.close();
      h = undefined;
    } finally {
      await h?.close().catch(() => undefined);
    }
    await syncFile(tmp);
    await chmod(tmp, options.outPath ? mode | 0o600 : mode); // a new file is the user's to edit
    throwIfAborted(signal); // the last moment a cancel keeps the original as it was
    failpoint('h5ad');
    await rename(tmp, dest);
    failpoint('h5ad');
  });
}

/** A copy that a cancel stops within one block. */
async function copy(from: string, to: string, signal?: AbortSignal): Promise<void> {
  const highWaterMark = 8 << 20;
  await pipeline(
    createReadStream(from, { highWaterMark }),
    createWriteStream(to, { flags: 'wx', highWaterMark }),
    { signal },
  );
}

/** Checks that the path is a file that starts with the HDF5 signature. */
async function checkHdf5(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new AnnDataError('no such file', {
      file: path,
      hint: `check the path (looked for ${resolve(path)})`,
    });
  }
  if (info.isDirectory()) {
    throw new AnnDataError('is a folder, not an .h5ad file', {
      file: path,
      hint: 'a .zarr store is a folder; open it as zarr',
    });
  }
  if (!(await hasSignature(path, info.size))) {
    throw new AnnDataError('not an HDF5/h5ad file (no HDF5 signature)', {
      file: path,
      hint: 'give an .h5ad written by anndata (adata.write_h5ad), or a .zarr folder',
    });
  }
}

/** HDF5 looks for its signature at 0, 512, 1024, 2048… (after a user block). */
export async function hasSignature(path: string, size: number): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SIGNATURE.length);
    for (let at = 0; at + SIGNATURE.length <= size; at = at === 0 ? 512 : at * 2) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === buf.length && SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}

function openFile(path: string, mode: 'r' | 'a', source = path): InstanceType<typeof h5wasm.File> {
  try {
    return mode === 'r'
      ? new h5wasm.File(resolve(path), 'r')
      : new h5wasm.File(resolve(path), 'a', { libver: [...WRITE_LIBVER] });
  } catch (err) {
    throw asAnnDataError(err, source, undefined, 'open');
  }
}

/** What the writer needs for the edits h5wasm cannot make (see H5adFileAccess). */
function fileAccess(path: string, source: string): H5adFileAccess {
  return {
    bytes: () => {
      const fd = openSync(path, 'r+');
      return {
        read: (position, length) => {
          const buf = Buffer.alloc(length);
          const n = readSync(fd, buf, 0, length, position);
          return new Uint8Array(buf.buffer, buf.byteOffset, n);
        },
        write: (position, data) => void writeSync(fd, data, 0, data.length, position),
        close: () => closeSync(fd),
      };
    },
    reopen: () => openFile(path, 'a', source),
  };
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

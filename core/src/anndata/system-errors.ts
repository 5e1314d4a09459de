/**
 * Errors from the operating system (Node's errno codes, and the same failures as HDF5 reports
 * them) as one ScnymError each: the file, what happened in words, and what to do. Used by the
 * CLI's top-level handler and by the readers' error wrapping, so `EACCES` never reaches a user
 * bare. Platform-neutral: it only reads the fields Node puts on its errors.
 */
import { ScnymError } from '../errors.js';

interface SystemErrorFields {
  code?: unknown;
  path?: unknown;
  dest?: unknown;
  syscall?: unknown;
  port?: unknown;
  address?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** What each code means and what to do; `write`: name the destination of a copy. */
const EXPLAINED: Record<string, { problem: string; hint: string; write?: true }> = {
  ENOENT: { problem: 'no such file or folder', hint: 'check the path' },
  EACCES: {
    problem: 'permission denied',
    hint: 'check the permissions of the file and of its folder (ls -l), or choose another path',
  },
  EPERM: {
    problem: 'operation not permitted',
    hint: 'check the permissions of the file and of its folder (ls -l), or choose another path',
  },
  EROFS: {
    problem: 'the file system is read-only',
    hint: 'write somewhere else (--out, --model-out)',
    write: true,
  },
  EISDIR: {
    problem: 'is a folder where a file was expected',
    hint: 'give the path of a file (an .h5ad is a file, a .zarr store is a folder)',
  },
  ENOTDIR: {
    problem: 'a part of this path is a file, not a folder',
    hint: 'check the path',
  },
  ENOTEMPTY: {
    problem: 'the folder is not empty',
    hint: 'choose a new path, or empty the folder yourself',
  },
  EEXIST: { problem: 'already exists', hint: 'choose another path' },
  ENAMETOOLONG: { problem: 'the path is too long', hint: 'choose a shorter path' },
  ELOOP: { problem: 'too many symbolic links in this path', hint: 'check the links in the path' },
  ENOSPC: {
    problem: 'no space left on the disk',
    hint: 'free space on that disk, or write somewhere else (--out, --model-out)',
    write: true,
  },
  EDQUOT: {
    problem: 'your disk quota is exceeded',
    hint: 'free space within your quota, or write somewhere else (--out, --model-out)',
    write: true,
  },
  EFBIG: {
    problem: 'the file is larger than this file system or the file size limit (ulimit -f) allows',
    hint: 'raise the limit, or write to another file system (--out)',
    write: true,
  },
  EMFILE: {
    problem: 'too many open files',
    hint: 'raise the limit (ulimit -n 4096) and run it again',
  },
  ENFILE: {
    problem: 'too many open files on this machine',
    hint: 'close other programs and run it again',
  },
  EIO: {
    problem: 'input/output error from the disk',
    hint: 'check the disk or network file system, then run it again',
  },
  EBUSY: { problem: 'the file or folder is busy', hint: 'close what is using it and try again' },
  // fs.cp's own checks (ERR_FS_CP_EINVAL, _EEXIST, …): the message says which.
  ERR_FS_CP_EINVAL: {
    problem: 'cannot copy there',
    hint: 'choose an output path outside the input that does not exist yet (--out)',
  },
  EADDRINUSE: {
    problem: 'the port is already in use',
    hint: 'choose another --port, or leave it out to use any free port',
  },
  EADDRNOTAVAIL: {
    problem: 'this address is not available on this machine',
    hint: 'leave the host at its default (127.0.0.1)',
  },
};

/** The errno text HDF5 (h5wasm) prints, e.g. "error message = 'No space left on device'". */
const STRERROR: [RegExp, string][] = [
  [/no space left on device/i, 'ENOSPC'],
  [/disk quota exceeded/i, 'EDQUOT'],
  [/permission denied/i, 'EACCES'],
  [/read-only file system/i, 'EROFS'],
  [/file too large/i, 'EFBIG'],
  [/is a directory/i, 'EISDIR'],
];

/** The first error in `err`'s cause chain that carries an errno code (or HDF5's errno text). */
function findSystemError(err: unknown): { code: string; fields: SystemErrorFields } | undefined {
  const seen = new Set<unknown>();
  for (
    let e = err;
    e && typeof e === 'object' && !seen.has(e);
    e = (e as SystemErrorFields).cause
  ) {
    seen.add(e);
    const fields = e as SystemErrorFields;
    const code = typeof fields.code === 'string' ? fields.code : '';
    if (EXPLAINED[code] || code.startsWith('ERR_FS_CP_')) {
      return { code, fields };
    }
    const text = typeof fields.message === 'string' ? fields.message : '';
    const strerror = /error message = '([^']*)'/.exec(text)?.[1];
    if (strerror) {
      const known = STRERROR.find(([re]) => re.test(strerror));
      if (known) {
        const filename = /filename = '([^']*)'/.exec(text)?.[1];
        return { code: known[1], fields: { path: filename } };
      }
    }
  }
  return undefined;
}

/** The errno code of `err` or of an error in its cause chain (e.g. 'ENOSPC'), if it has one. */
export function systemErrorCode(err: unknown): string | undefined {
  return findSystemError(err)?.code;
}

/**
 * `err` (or its cause) as a ScnymError naming the file and saying what to do, or undefined when
 * it is not an operating-system error we can explain. `file` is used when the error names none.
 */
export function explainSystemError(
  err: unknown,
  where: { file?: string } = {},
): ScnymError | undefined {
  const found = findSystemError(err);
  if (!found) return undefined;
  const { code, fields } = found;
  const explained = EXPLAINED[code] ?? EXPLAINED.ERR_FS_CP_EINVAL;
  const path = typeof fields.path === 'string' ? userPath(fields.path) : undefined;
  const dest = typeof fields.dest === 'string' ? userPath(fields.dest) : undefined;
  let file = (explained.write ? (dest ?? path) : path) ?? where.file;
  let problem = explained.problem;
  const info = (fields as { info?: { message?: unknown } }).info;
  if (code.startsWith('ERR_FS_CP_') && typeof info?.message === 'string') {
    problem = userPath(info.message); // e.g. "cannot copy a to a subdirectory of self a/b"
    file = undefined;
  } else if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL') {
    const port = typeof fields.port === 'number' ? fields.port : undefined;
    const address = typeof fields.address === 'string' ? fields.address : undefined;
    if (port !== undefined) problem = `${problem} (${address ? `${address}:` : ''}${port})`;
  } else if (dest && path && !explained.write) {
    problem = `${problem} (copying ${path} to ${dest})`;
    file = undefined;
  }
  return new ScnymError(problem, { file, hint: explained.hint, cause: err, code: 'system' });
}

/** `err` itself when it is already a ScnymError or not a system error; else explained. */
export function withSystemErrorExplained(err: unknown, where: { file?: string } = {}): unknown {
  return err instanceof ScnymError ? err : (explainSystemError(err, where) ?? err);
}

/**
 * A path as the user named it: writes go through scratch beside the destination
 * (`.NAME.scnym-tmp-…`, `-new-`, `-old-`: node/scratch.ts) or a staging group inside a store
 * (`.scnym-stage-…`: zarr/publish.ts), which the user never saw: name NAME, or the store.
 */
function userPath(text: string): string {
  return text
    .replace(/([/\\]|^)\.([^/\\]+?)\.scnym-(?:tmp|new|old)-[^/\\\s)]*([/\\][^\s)]*)?/g, '$1$2')
    .replace(/[/\\]\.scnym-stage-[^\s)]*/g, '');
}

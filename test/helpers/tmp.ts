/** Temporary copies of data files, so no test ever writes into ../shared or the fixtures. */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const dirs: string[] = [];
// At exit, not in an `after` hook: hooks run in the order they were registered, and this module's
// would run before a test file's own hook that closes its browser, whose profile is in here.
process.on('exit', () => {
  for (const d of dirs) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (err) {
      console.error(`could not remove ${d}: ${(err as Error).message}`);
    }
  }
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'scnym-test-'));
  dirs.push(d);
  return d;
}

/**
 * A private copy of a file or folder, removed after the test file finishes. It is writable by its
 * owner, as a user's own copy would be, even when the source is read-only (../shared is).
 */
export function tempCopy(path: string, name = basename(path)): string {
  const dest = join(tempDir(), name);
  cpSync(path, dest, { recursive: true });
  makeWritable(dest);
  return dest;
}

function makeWritable(path: string): void {
  const s = statSync(path);
  chmodSync(path, s.mode | 0o200);
  if (s.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

/** A digest of every file's relative path, size, mtime and bytes under `root` (a file or folder). */
export function treeDigest(root: string): string {
  const hash = createHash('sha256');
  const visit = (path: string, rel: string) => {
    const s = statSync(path);
    if (s.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name), `${rel}/${name}`);
      return;
    }
    hash.update(`${rel}\0${s.size}\0${s.mtimeMs}\0`);
    hash.update(readFileSync(path));
  };
  visit(root, '.');
  return hash.digest('hex');
}

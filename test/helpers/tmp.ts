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
import { after } from 'node:test';

const dirs: string[] = [];
after(() => {
  // Retries: a browser or child process may still be closing files in it.
  for (const d of dirs)
    rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
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

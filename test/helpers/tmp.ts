/** Temporary copies of data files, so no test ever writes into ../shared or the fixtures. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after } from 'node:test';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'scnym-test-'));
  dirs.push(d);
  return d;
}

/** A private copy of a file or folder, removed after the test file finishes. */
export function tempCopy(path: string, name = basename(path)): string {
  const dest = join(tempDir(), name);
  cpSync(path, dest, { recursive: true });
  return dest;
}

/** Where tests find the repository, the shared data and the Python with anndata. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** ../shared beside the repository (CI puts it there). */
export const SHARED_DATA = join(REPO, '..', 'shared', 'data');
export const FIXTURES = join(REPO, 'test', 'fixtures');
export const GENERATED = join(FIXTURES, 'generated');
/** The built `scnym` command line (@scnym/cli). */
export const CLI = join(REPO, 'cli', 'dist', 'main.js');

/** Debian's python3 has anndata; a pyenv python3 earlier on PATH usually does not. */
export const PYTHON =
  process.env.SCNYM_TEST_PYTHON ??
  (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export function sharedFile(pair: string, name: string): string {
  return join(SHARED_DATA, pair, name);
}

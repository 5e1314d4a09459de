/** Where tests find the repository, the shared data and the Python with anndata. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** ../shared beside the repository (CI puts it there). */
export const SHARED_DATA = join(REPO, '..', 'shared', 'data');
export const FIXTURES = join(REPO, 'test', 'fixtures');
export const GENERATED = join(FIXTURES, 'generated');
/** The built `scnym` command line (@scnym/cli). */
export const CLI = join(REPO, 'cli', 'dist', 'main.js');
/**
 * The node options the installed `scnym` runs with: those on its launcher's first line
 * (cli/bin/scnym.js), for benchmarks that start `node … CLI` to run as a user would.
 */
export const CLI_NODE_FLAGS = readFileSync(join(REPO, 'cli', 'bin', 'scnym.js'), 'utf8')
  .split('\n')[0]
  .replace(/^#!\S*env\s+(-S\s+)?node/, '')
  .split(/\s+/)
  .filter(Boolean);

/** Debian's python3 has anndata; a pyenv python3 earlier on PATH usually does not. */
export const PYTHON =
  process.env.SCNYM_TEST_PYTHON ??
  (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export function sharedFile(pair: string, name: string): string {
  return join(SHARED_DATA, pair, name);
}

/** Runs the test fixtures' Python scripts (real anndata) and parses their JSON output. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, GENERATED, PYTHON, sharedFile } from './paths.js';

export function runPython(
  script: string,
  args: string[],
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, [join(FIXTURES, script), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** What python anndata reads from a file (test/fixtures/readback.py). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readBack(file: string): any {
  const r = runPython('readback.py', [file]);
  if (r.status !== 0) throw new Error(`anndata could not read ${file}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * Builds the fixture files once per version of the generator (a stamp holds its scripts' hash), so
 * repeated test runs reuse them.
 */
export function ensureFixtures(): string {
  const hash = createHash('sha256');
  for (const script of ['make_fixtures.py', 'jsonable.py'])
    hash.update(readFileSync(join(FIXTURES, script)));
  const digest = hash.digest('hex');
  const stamp = join(GENERATED, '.stamp');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return GENERATED;
  const r = runPython('make_fixtures.py', [GENERATED]);
  if (r.status !== 0) throw new Error(`make_fixtures.py failed:\n${r.stderr}`);
  writeFileSync(stamp, digest);
  return GENERATED;
}

/** The values make_fixtures.py promises a reader returns (expected.json). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function expectedFixtureValues(): any {
  return JSON.parse(readFileSync(join(ensureFixtures(), 'expected.json'), 'utf8'));
}

/**
 * Rewrites an AnnData with real anndata (`read_zarr`/`read_h5ad`, then `write_zarr` or
 * `write_h5ad` by the destination's extension), as a user's own script would: write_zarr does
 * not consolidate the store's metadata.
 */
export function anndataRewrite(src: string, dest: string): void {
  const script = [
    'import sys, anndata',
    'src, dest = sys.argv[1], sys.argv[2]',
    "a = anndata.read_zarr(src) if src.endswith('.zarr') else anndata.read_h5ad(src)",
    "a.write_zarr(dest) if dest.endswith('.zarr') else a.write_h5ad(dest)",
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, src, dest], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`anndata could not rewrite ${src} as ${dest}:\n${r.stderr}`);
}

/** zarr.consolidate_metadata on a store (what a user is told to run). */
export function zarrConsolidate(store: string): void {
  const r = spawnSync(
    PYTHON,
    ['-c', 'import sys, zarr; zarr.consolidate_metadata(sys.argv[1])', store],
    {
      encoding: 'utf8',
    },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`zarr could not consolidate ${store}:\n${r.stderr}`);
}

/**
 * The tiny target re-saved with HDF5 filter plugins (lzf, blosc, …) into `dir`
 * (test/fixtures/filtered_h5ad.py); returns the filters it had to skip, by file name.
 */
export function makeFilteredH5ads(dir: string): Record<string, string> {
  const r = runPython('filtered_h5ad.py', [sharedFile('tiny', 'target.h5ad'), dir]);
  if (r.status !== 0) throw new Error(`filtered_h5ad.py failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { skipped: Record<string, string> }).skipped;
}

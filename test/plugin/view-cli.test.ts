// `scnym view` argument and input checks through the built CLI (the browser flow is in test/e2e).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runScnym, type CliResult } from '../helpers/cli.js';
import { REPO } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const scnym = (...args: string[]) => runScnym(args, 30_000);

test('scnym view: help, listed among the commands', () => {
  const help = scnym('view', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: scnym view \[QUERY\]/);
  assert.match(help.stdout, /--no-open/);
  assert.match(scnym('--help').stdout, /view\s+open a dataset in the viewer/);
});

test('scnym view: usage errors exit 2, missing files exit 1 naming the file', () => {
  assert.equal(scnym('view', 'a.zarr', 'b.zarr').status, 2);
  assert.equal(scnym('view', 'a.zarr', '--reference', 'r', '--model', 'm').status, 2);
  assert.equal(scnym('view', '--port', 'http').status, 2);
  assert.equal(scnym('view', '--epochs', '0').status, 2);
  const missing = scnym('view', 'no-such.zarr', '--no-open');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no-such\.zarr/);
});

// Bad input is reported in the terminal before any server starts (a started server would print
// its URL and run until the timeout kills it).
const DEMO = join(REPO, 'core', 'demo');
const view = (...args: string[]) => runScnym(['view', ...args, '--no-open'], 60_000);

function assertRefused(r: CliResult, ...patterns: RegExp[]): void {
  assert.equal(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /scNym viewer:/, 'no server started');
  for (const p of patterns) assert.match(r.stderr, p);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

test('scnym view: a query or reference that is not AnnData is refused in the terminal', () => {
  const dir = tempDir();
  const garbage = join(dir, 'garbage.h5ad');
  writeFileSync(garbage, 'this is not an HDF5 file at all'.repeat(10));
  assertRefused(view(garbage), /garbage\.h5ad/, /HDF5/);
  const folder = join(dir, 'empty.zarr');
  mkdirSync(folder);
  assertRefused(view(folder), /empty\.zarr/, /not a Zarr store/);
  assertRefused(
    view(join(DEMO, 'target.zarr'), '--reference', garbage, '--label-key', 'cell_type'),
    /garbage\.h5ad/,
  );
  assertRefused(view(join(DEMO, 'target.zarr'), '--reference', garbage), /garbage\.h5ad/);
});

test('scnym view: a --label-key that is not a column of the reference is refused, listing the columns', () => {
  const r = view(
    join(DEMO, 'target.zarr'),
    '--reference',
    join(DEMO, 'reference.zarr'),
    '--label-key',
    'celltype_typo',
  );
  assertRefused(r, /reference\.zarr/, /no column 'celltype_typo'/, /cell_type/);
});

test('scnym view: a --model that is not a model folder is refused', () => {
  assertRefused(view(join(DEMO, 'target.zarr'), '--model', DEMO), /scNym model folder/, /demo/);
  const dir = tempDir();
  writeFileSync(join(dir, 'scnym.json'), '{"format": "not scnym"');
  assertRefused(view(join(DEMO, 'target.zarr'), '--model', dir), /scnym\.json/);
});

test('scnym view: a --port in use gets a hint to choose another', async () => {
  const blocker = createServer();
  await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const r = view(join(DEMO, 'target.zarr'), '--port', String(port));
    assertRefused(r, new RegExp(`port ${port} is already in use`), /--port/);
  } finally {
    await new Promise((ok) => blocker.close(ok));
  }
});

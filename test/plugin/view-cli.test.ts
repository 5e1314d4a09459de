// `scnym view` argument handling through the built CLI (the browser flow is in test/e2e).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLI, REPO } from '../helpers/paths.js';

function scnym(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: REPO,
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

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

// `scnym view` argument handling through the built CLI (the browser flow is in test/e2e).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScnym } from '../helpers/cli.js';

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

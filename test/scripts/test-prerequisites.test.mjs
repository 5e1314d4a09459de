// The decision at the front of `npm test` (scripts/test-prerequisites.mjs): what it does about
// missing Debian packages as root, with sudo, with neither, and without dpkg. Installs nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APT_PACKAGES, decide } from '../../scripts/test-prerequisites.mjs';

const pkg = (name) => APT_PACKAGES.find((p) => p.name === name);
const wabt = pkg('wabt');
const anndata = pkg('python3-anndata');

test('nothing missing: nothing to do, as root or not', () => {
  for (const root of [true, false]) {
    assert.deepEqual(decide({ missing: [], dpkg: true, root, sudo: false }), { action: 'none' });
  }
});

test('root installs the missing packages with apt-get, after an update', () => {
  assert.deepEqual(decide({ missing: [wabt, anndata], dpkg: true, root: true, sudo: false }), {
    action: 'install',
    commands: [
      ['apt-get', 'update', '-qq'],
      ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'wabt', 'python3-anndata'],
    ],
  });
});

test('a user with passwordless sudo installs them through sudo -n', () => {
  const plan = decide({ missing: [wabt], dpkg: true, root: false, sudo: true });
  assert.equal(plan.action, 'install');
  const apt = ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  assert.deepEqual(plan.commands, [
    [...apt, 'update', '-qq'],
    [...apt, 'install', '-y', '-qq', '--no-install-recommends', 'wabt'],
  ]);
});

test('neither root nor sudo: one line naming the packages and the command, then stop', () => {
  const plan = decide({ missing: [wabt, anndata], dpkg: true, root: false, sudo: false });
  assert.equal(plan.action, 'stop');
  assert.equal(plan.message.split('\n').length, 1);
  assert.match(plan.message, /missing Debian packages wabt python3-anndata;/);
  assert.match(
    plan.message,
    /sudo apt-get install -y --no-install-recommends wabt python3-anndata$/,
  );
});

test('without dpkg: goes on when everything is found, else names what is missing', () => {
  const fonts = pkg('fonts-liberation');
  const ok = decide({ missing: [], unchecked: [fonts], dpkg: false, root: true, sudo: false });
  assert.equal(ok.action, 'none');
  assert.match(ok.message, /not checked: fonts-liberation/);
  const stop = decide({ missing: [wabt, anndata], dpkg: false, root: true, sudo: true });
  assert.equal(stop.action, 'stop');
  assert.equal(stop.message.split('\n').length, 1);
  assert.match(
    stop.message,
    /wat2wasm \(Debian: wabt\), Python module anndata \(Debian: python3-anndata\)/,
  );
});

test('every package but the fonts names what it provides, so it can be checked without dpkg', () => {
  const names = APT_PACKAGES.map((p) => p.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(
    APT_PACKAGES.filter((p) => !p.python && !p.command).map((p) => p.name),
    ['fonts-liberation'],
  );
});

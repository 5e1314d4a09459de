#!/usr/bin/env node
// Runs every test file under test/ (or those under the folders given) with Node's test runner.
// Node 20's `--test` takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dirs = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const roots = dirs.length ? dirs.map((d) => join(root, d)) : [join(root, 'test')];

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'generated') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (/\.test\.(ts|mjs)$/.test(name)) out.push(relative(root, path));
  }
  return out;
}

const files = roots.flatMap((d) =>
  statSync(d).isDirectory() ? collect(d, []) : [relative(root, d)],
);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // Workspace packages from their sources (package.json `source` condition), as the bundles do,
  // so a test and the package code it calls share one copy of every class.
  ['--conditions=source', '--import', 'tsx', '--test', '--test-concurrency=1', ...extra, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);

// Operating-system errors in words (issue 13, item 11): each real failure — made here by the
// real system call — becomes one ScnymError naming the file, what happened and the fix, and an
// HDF5 write that hits a full disk is no longer called "damaged".
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import h5wasm from 'h5wasm/node';
import { ScnymError } from '../../core/src/errors.js';
import { asAnnDataError, prepareH5wasm } from '../../core/src/anndata/h5ad.js';
import {
  explainSystemError,
  systemErrorCode,
  withSystemErrorExplained,
} from '../../core/src/anndata/system-errors.js';
import { tempDir } from '../helpers/tmp.js';

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  assert.fail('expected a failure');
}

test('EISDIR and ENOENT name the path and the fix', async () => {
  const d = tempDir();
  // Node's read() errors carry no path: the caller names the file.
  const isDir = explainSystemError(await failure(() => readFile(d)), { file: d });
  assert.ok(isDir instanceof ScnymError);
  assert.equal(isDir.file, d);
  assert.match(
    isDir.message,
    /is a folder where a file was expected\n {2}→ give the path of a file/,
  );

  const missing = join(d, 'nothing.h5ad');
  const absent = explainSystemError(await failure(() => readFile(missing)));
  assert.equal(absent?.message, `${missing}: no such file or folder\n  → check the path`);
});

test('fs.cp into itself: the message names both paths, without our temporary name', async () => {
  const d = tempDir();
  const src = join(d, 'q.zarr');
  mkdirSync(src);
  writeFileSync(join(src, '.zgroup'), '{"zarr_format": 2}');
  const err = await failure(() =>
    cp(src, join(src, '.out.zarr.scnym-tmp-1-2'), { recursive: true }),
  );
  const explained = explainSystemError(err);
  assert.match(
    explained!.message,
    new RegExp(
      `cannot copy ${src} to a subdirectory of self ${src}/out\\.zarr\\n {2}→ choose an output path outside the input`,
    ),
  );
});

test('EADDRINUSE names the port and says to choose another', async () => {
  const first = createServer();
  await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
  const port = (first.address() as { port: number }).port;
  const second = createServer();
  try {
    const err = await failure(
      () =>
        new Promise<void>((resolve, reject) => {
          second.once('error', reject);
          second.listen(port, '127.0.0.1', resolve);
        }),
    );
    assert.equal(systemErrorCode(err), 'EADDRINUSE');
    assert.equal(
      explainSystemError(err)?.message,
      `the port is already in use (127.0.0.1:${port})\n  → choose another --port, or leave it out to use any free port`,
    );
  } finally {
    first.close();
    second.close();
  }
});

test('ENOSPC from Node (writing to /dev/full) and from HDF5 are a full disk, not a damaged file', async (t) => {
  if (!existsSync('/dev/full')) return t.skip('no /dev/full on this system');
  const node = await failure(() =>
    import('node:fs/promises').then((fs) => fs.writeFile('/dev/full', 'x')),
  );
  const fromNode = explainSystemError(node, { file: '/dev/full' });
  assert.equal(fromNode?.file, '/dev/full');
  assert.match(fromNode!.message, /no space left on the disk\n {2}→ free space on that disk/);

  // h5wasm reports the errno only as text in the HDF5 error stack.
  const m = await h5wasm.ready;
  prepareH5wasm(m);
  let hdf5: unknown;
  try {
    new h5wasm.File('/dev/full', 'w').close();
  } catch (err) {
    hdf5 = err;
  }
  assert.ok(hdf5 instanceof Error, 'h5wasm fails to create a file on /dev/full');
  assert.equal(systemErrorCode(hdf5), 'ENOSPC');
  const wrapped = asAnnDataError(hdf5, 'query.h5ad', undefined, 'write');
  assert.equal(wrapped.file, '/dev/full');
  assert.match(wrapped.message, /no space left on the disk/);
  assert.doesNotMatch(wrapped.message, /damaged/);

  // Found through a cause chain too; a ScnymError is left as it is.
  const chained = new Error('write failed', { cause: node });
  assert.equal(systemErrorCode(chained), 'ENOSPC');
  const already = new ScnymError('already explained');
  assert.equal(withSystemErrorExplained(already), already);
  const plain = new Error('not a system error');
  assert.equal(withSystemErrorExplained(plain), plain);
});

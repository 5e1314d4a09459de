// What the crash tests look at after killing a writer: the keys the real anndata sees with a
// digest of everything else (fixtures/keys_digest.py), scNym's scratch in or beside a dataset,
// and whether a zarr store holds a committed journal (a save that reopening completes); and a
// dataset's lock held as another live scNym run holds it; and the demo query they kill writers
// of, as a zarr store and the h5ad anndata writes from it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { acquireLock, type Lock } from '@scnym/core/node';
import { FIXTURES, PYTHON, REPO } from './paths.js';
import { tempCopy } from './tmp.js';

/** A fresh copy of the demo query (`q.zarr`) and, beside it, `q.h5ad` written from it by anndata. */
export function demoQueryCopies(): { zarr: string; h5ad: string } {
  const zarr = tempCopy(join(REPO, 'core', 'demo', 'target.zarr'), 'q.zarr');
  const h5ad = join(dirname(zarr), 'q.h5ad');
  const r = spawnSync(
    PYTHON,
    ['-c', `import anndata; anndata.read_zarr('${zarr}').write_h5ad('${h5ad}')`],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return { zarr, h5ad };
}

export interface Seen {
  obs: string[];
  obsm: string[];
  uns: string[];
  /** Of X, the names, var and every entry whose key starts with none of the prefixes. */
  digest: string;
  error?: string;
}

/** What anndata sees in each file, the keys starting with `prefixes` left out of the digest. */
export function keysSeen(prefixes: readonly string[], files: string[]): Seen[] {
  const r = spawnSync(PYTHON, [join(FIXTURES, 'keys_digest.py'), prefixes.join(','), ...files], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Seen[];
}

/**
 * `path`'s lock as a live scNym run on this host holds it (core's own lock, owned by this process,
 * which is alive): every writer of `path` waits for it or refuses until it is released.
 */
export function holdLockAsLiveRun(path: string): Promise<Lock> {
  return acquireLock(path, { waitMs: 0 });
}

/** scNym's scratch in or beside `path` (staging groups, temporary copies, locks). */
export function scratchOf(path: string): string[] {
  const beside = readdirSync(dirname(path)).filter((n) =>
    n.startsWith(`.${basename(path)}.scnym-`),
  );
  const inside = existsSync(path) && path.endsWith('.zarr') ? readdirSync(path) : [];
  return [...beside, ...inside.filter((n) => n.startsWith('.scnym-'))];
}

/** A zarr store holding a committed journal: part of a save shows until scNym reopens it. */
export function committedJournal(path: string): boolean {
  return (
    existsSync(path) &&
    path.endsWith('.zarr') &&
    readdirSync(path).some(
      (n) => n.startsWith('.scnym-stage-') && existsSync(join(path, n, 'journal.json')),
    )
  );
}

/**
 * What a write leaves beside its destination while it runs, and how a later run finishes or
 * discards it. For a destination `DIR/NAME`:
 * - `.NAME.scnym-tmp-ID`: being written; incomplete until renamed, so discarded if found;
 * - `.NAME.scnym-new-ID`: complete (a folder, committed): moved into place if found;
 * - `.NAME.scnym-old-ID`: the folder it replaces, moved aside; removed once the new one is in.
 * These are created only while holding the destination's lock, so whatever a later holder of
 * that lock finds was left by a process that is gone.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { onExit } from './exit-cleanup.js';
import { failpoint } from './failpoint.js';
import { LOCK_SUFFIX } from './lock.js';

type Kind = 'tmp' | 'new' | 'old';

/** A fresh scratch name beside `dest`. */
export function scratchPath(dest: string, kind: Kind): string {
  const abs = resolve(dest);
  return join(dirname(abs), `.${basename(abs)}.scnym-${kind}-${randomBytes(6).toString('hex')}`);
}

/**
 * Runs `write(tmp)` on a temporary path beside `dest`, removed if `write` fails or the process
 * exits first. `write` moves or renames the temporary path into place itself.
 */
export async function withTemporary<T>(
  dest: string,
  write: (tmp: string) => Promise<T>,
): Promise<T> {
  const tmp = scratchPath(dest, 'tmp');
  const forget = onExit(() => rmSync(tmp, { recursive: true, force: true }));
  try {
    return await write(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    forget();
  }
}

/**
 * Puts the complete folder `ready` at `dest`, replacing the folder there if any. The commit is
 * the rename to `.NAME.scnym-new-…`; if the process dies after it, `settleScratch` finishes.
 */
export async function replaceFolder(ready: string, dest: string): Promise<void> {
  const committed = scratchPath(dest, 'new');
  await rename(ready, committed);
  failpoint('replace');
  await moveIntoPlace(committed, dest);
}

async function moveIntoPlace(committed: string, dest: string): Promise<void> {
  if (await exists(dest)) {
    const old = scratchPath(dest, 'old');
    await rename(dest, old);
    failpoint('replace');
    await rename(committed, dest);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(committed, dest);
  }
}

/**
 * Finishes or discards what a killed writer left beside `dest` (call it holding dest's lock).
 * Returns one line per thing done, for the user.
 */
export async function settleScratch(dest: string): Promise<string[]> {
  const abs = resolve(dest);
  const prefix = `.${basename(abs)}.scnym-`;
  const names = await readdir(dirname(abs)).catch(() => [] as string[]);
  const found = (kind: Kind) =>
    names
      .filter((n) => n.startsWith(`${prefix}${kind}-`))
      .sort()
      .map((n) => join(dirname(abs), n));
  const done: string[] = [];
  for (const tmp of found('tmp')) {
    await rm(tmp, { recursive: true, force: true });
    done.push(`removed ${basename(tmp)}, left by an interrupted scNym write`);
  }
  const committed = found('new');
  for (const extra of committed.slice(1)) {
    await rm(extra, { recursive: true, force: true });
    done.push(`removed ${basename(extra)}, left by an interrupted scNym write`);
  }
  if (committed.length > 0) {
    await moveIntoPlace(committed[0], abs);
    done.push(`completed an interrupted scNym write of ${basename(abs)}`);
  }
  for (const old of found('old')) {
    if (await exists(abs)) {
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(old, abs);
      done.push(`restored ${basename(abs)} from an interrupted scNym write`);
    }
  }
  // A dead process's lock, renamed aside by the next writer which then died too.
  for (const n of names.filter((n) => n.startsWith(`.${basename(abs)}${LOCK_SUFFIX}.stale-`))) {
    await rm(join(dirname(abs), n), { force: true });
  }
  return done;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

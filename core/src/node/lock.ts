/**
 * One writer per dataset: a lock file beside the file or folder being written
 * (`.NAME.scnym-lock`), created exclusively and holding who owns it. Another scNym process
 * waits for it, then refuses with a message naming the owner. A lock whose owner is gone
 * (same host, process not running) is taken over; a lock of another host is never removed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { WriteConflictError, throwIfAborted } from '../errors.js';
import { onExit } from './exit-cleanup.js';

export const LOCK_SUFFIX = '.scnym-lock';
/** How long a writer waits for another one by default. */
export const DEFAULT_LOCK_WAIT_MS = 5 * 60_000;
const POLL_MS = 200;

interface Owner {
  pid: number;
  host: string;
  /** The owner's start time in clock ticks since boot (Linux), so a reused pid is not alive. */
  since: string | null;
  created: string;
  command: string;
  token: string;
}

export interface Lock {
  /** The lock file. */
  readonly path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** Wait this long for another writer (default 5 minutes; 0: refuse at once). */
  waitMs?: number;
  /** Called once when the lock is held by another live process and we start waiting. */
  onWait?: (message: string) => void;
}

/** The lock file for a dataset path: beside it, in the same folder. */
export function lockPathFor(target: string): string {
  const abs = resolve(target);
  return join(dirname(abs), `.${basename(abs)}${LOCK_SUFFIX}`);
}

/** Takes the dataset's lock, waiting for a live owner up to `waitMs`. */
export async function acquireLock(target: string, options: LockOptions = {}): Promise<Lock> {
  const path = lockPathFor(target);
  const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    throwIfAborted(options.signal);
    const lock = await tryCreate(path);
    if (lock) return lock;
    const owner = await readOwner(path);
    if (owner === 'gone') continue;
    if (owner === null || isStale(owner)) {
      await breakStale(path, owner);
      continue;
    }
    if (Date.now() >= deadline) throw busy(target, path, owner);
    if (!told) {
      options.onWait?.(`${describe(owner)} is writing ${target}; waiting for it to finish…`);
      told = true;
    }
    await sleep(POLL_MS, options.signal);
  }
}

/** Takes the lock if nobody alive holds it; null otherwise (never waits). */
export async function tryAcquireLock(target: string): Promise<Lock | null> {
  try {
    return await acquireLock(target, { waitMs: 0 });
  } catch (err) {
    if (err instanceof WriteConflictError) return null;
    throw err;
  }
}

/** Runs `fn` holding the locks of every target (taken in a fixed order, so two runs never deadlock). */
export async function withLocks<T>(
  targets: string[],
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const ordered = [...new Set(targets.map((t) => resolve(t)))].sort();
  const held: Lock[] = [];
  try {
    for (const target of ordered) held.push(await acquireLock(target, options));
    return await fn();
  } finally {
    for (const lock of held.reverse()) await lock.release();
  }
}

async function tryCreate(path: string): Promise<Lock | null> {
  const owner: Owner = {
    pid: process.pid,
    host: hostname(),
    since: startTime(process.pid),
    created: new Date().toISOString(),
    command: process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '',
    token: randomBytes(12).toString('hex'),
  };
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  try {
    await handle.writeFile(JSON.stringify(owner) + '\n');
  } finally {
    await handle.close();
  }
  // Removed at exit too (a second Ctrl-C exits at once), if it is still ours.
  const forget = onExit(() => {
    if (readTokenSync(path) === owner.token) unlinkSyncQuiet(path);
  });
  return {
    path,
    release: async () => {
      forget();
      const current = await readOwner(path);
      if (current !== 'gone' && current?.token === owner.token) await unlink(path).catch(ignore);
    },
  };
}

/** The owner recorded in a lock file; null if unreadable, 'gone' if it vanished meanwhile. */
async function readOwner(path: string): Promise<Owner | null | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const o = JSON.parse(text) as Owner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : null;
  } catch {
    // A lock file is written in one call right after creation: a half-written one is either
    // being written now (give it a moment) or left by a crash at that instant.
    const age = Date.now() - (await stat(path).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    return age > 10_000 ? null : ({ pid: -1, host: '', since: null } as unknown as Owner);
  }
}

/** The owner ran on this host and is no longer running (or its pid now names another process). */
function isStale(owner: Owner): boolean {
  if (owner.pid === -1) return false; // being written right now
  if (owner.host !== hostname()) return false;
  if (!alive(owner.pid)) return true;
  const since = startTime(owner.pid);
  return owner.since !== null && since !== null && since !== owner.since;
}

/**
 * Removes a dead owner's lock. Two processes may find the same stale lock: the one that renames
 * it away wins, and the loser sees a fresh lock (or none) on its next try; a lock that changed
 * since it was judged stale is put back.
 */
async function breakStale(path: string, judged: Owner | null): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readOwner(aside);
  const same = moved === null || moved === 'gone' || moved.token === judged?.token;
  if (!same) {
    // Someone else's fresh lock: restore it unless yet another one exists by now.
    await rename(aside, path).catch(() => unlink(aside).catch(ignore));
    return;
  }
  await unlink(aside).catch(ignore);
}

function busy(target: string, path: string, owner: Owner): WriteConflictError {
  const local = owner.host === hostname();
  return new WriteConflictError(`is being written by ${describe(owner)}`, {
    code: 'busy',
    file: target,
    hint: local
      ? 'wait for it to finish and run this again'
      : `wait for it to finish; if no scnym runs on ${owner.host} any more, delete ${path}`,
  });
}

function describe(owner: Owner): string {
  const what = owner.command ? `, '${owner.command}'` : '';
  const since = owner.created ? `, since ${owner.created.replace('T', ' ').slice(0, 19)} UTC` : '';
  return `another scNym run (process ${owner.pid} on ${owner.host}${what}${since})`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/PID/stat (start time after boot); null where there is no /proc. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function readTokenSync(path: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as Owner).token;
  } catch {
    return undefined;
  }
}

function unlinkSyncQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      ok();
    }
    function abort() {
      clearTimeout(timer);
      fail(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}

function ignore(): void {}

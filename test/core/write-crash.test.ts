// Whatever stops `scnym predict` or `scnym merge` while it writes — SIGKILL at every step of
// every write path (zarr and h5ad, in place and --out, a shard file), SIGKILL at random moments,
// SIGTERM, a write that fails for lack of room — the real anndata then sees either all of the
// run's keys or none, with every original array unchanged, and no scNym scratch is left once
// scNym next opens the file.
// Exact steps are reached with the SCNYM_FAILPOINT test hook (core/src/node/failpoint.ts).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { before, test } from 'node:test';
import { runScnym } from '../helpers/cli.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import {
  committedJournal,
  demoQueryCopies,
  keysSeen,
  scratchOf,
  type Seen,
} from '../helpers/crash.js';
import { CLI, REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const RUN_KEYS = ['scNym', 'X_scnym'];
/** What one run writes (see predictionAnnotations). */
const ALL = {
  obs: ['scNym', 'scNym_confidence', 'scNym_novelty'],
  obsm: ['X_scnym', 'scNym_probabilities'],
  uns: ['scNym_classes', 'scNym_colors', 'scNym_train_results'],
};

const dir = tempDir();
const model = join(dir, 'model');
let zarrSource = '';
let h5adSource = '';
let original = '';

before(() => {
  const trained = runScnym(
    ['train', '--reference', join(DEMO, 'reference.zarr'), '--label-key', 'cell_type'].concat([
      '--model-out',
      model,
      '--epochs',
      '1',
      '--quiet',
    ]),
  );
  assert.equal(trained.status, 0, trained.stderr);
  ({ zarr: zarrSource, h5ad: h5adSource } = demoQueryCopies());
  [original] = seen([zarrSource]).map((s) => s.digest);
  assert.equal(seen([h5adSource])[0].digest, original, 'the h5ad copy holds the same data');
});

/** What anndata sees in each file (one Python process for all of them). */
function seen(files: string[]): Seen[] {
  return keysSeen(RUN_KEYS, files);
}

/** Every key of the run, or none of them; everything else as it was. */
function allOrNone(s: Seen, what: string): 'all' | 'none' {
  assert.equal(s.error, undefined, `${what}: anndata cannot open it: ${s.error}`);
  assert.equal(s.digest, original, `${what}: the original data changed`);
  const has = (group: keyof typeof ALL) => ALL[group].filter((k) => s[group].includes(k));
  const found = [...has('obs'), ...has('obsm'), ...has('uns')];
  const total = ALL.obs.length + ALL.obsm.length + ALL.uns.length;
  assert.ok(
    found.length === 0 || found.length === total,
    `${what}: anndata sees part of the run: ${found.join(', ')}`,
  );
  return found.length === 0 ? 'none' : 'all';
}

function scnym(argv: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...argv, '--quiet'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

function predict(query: string, extra: string[], env: Record<string, string> = {}) {
  return scnym(['predict', '--model', model, '--query', query, ...extra], env);
}

/** What a crash test runs on a copy: `predict` on it with `args`, or the command `argv`. */
interface Setup {
  target: string;
  args: string[];
  argv?: string[];
}

function run(copy: string, setup: Setup, env: Record<string, string>) {
  return setup.argv ? scnym(setup.argv, env) : predict(copy, setup.args, env);
}

/** Opening a file with scNym completes or discards what a killed write left. */
async function reopen(path: string): Promise<void> {
  await (await openAnnDataFile(path)).close();
}

interface Crash {
  label: string;
  /** The file anndata should check: the query (in place) or the output. */
  target: string;
  committedBeforeReopen: boolean;
  outcome: 'killed' | 'finished';
}

/**
 * Kills a fresh copy's write at `failpoint` for each N in turn until one run finishes without
 * reaching it; returns what happened in each run.
 */
function crashAtEveryStep(
  source: string,
  failpoint: string,
  setup: (copy: string) => Setup,
  maxSteps: number,
): Crash[] {
  const crashes: Crash[] = [];
  for (let n = 1; n <= maxSteps; n++) {
    const copy = tempCopy(source);
    const what = setup(copy);
    const { target, args } = what;
    const r = run(copy, what, { SCNYM_FAILPOINT: `${failpoint}:${n}` });
    const killed = r.signal === 'SIGKILL';
    assert.ok(killed || r.status === 0, `${failpoint}:${n}: ${r.stderr}`);
    crashes.push({
      label: `${basename(source)} ${(what.argv ?? args).join(' ')} killed at ${failpoint}:${n}`,
      target,
      committedBeforeReopen: committedJournal(target),
      outcome: killed ? 'killed' : 'finished',
    });
    if (!killed) return crashes;
  }
  assert.fail(`${failpoint} was still reached after ${maxSteps} steps`);
}

async function checkCrashes(crashes: Crash[]): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = {};
  // Straight after the kill, before scNym opens the file again.
  const first = seen(crashes.map((c) => c.target).filter((t) => existsSync(t)));
  let i = 0;
  for (const c of crashes) {
    if (!existsSync(c.target)) continue; // mid-replacement of an --out folder: see below
    const s = first[i++];
    // A kill between a committed journal's renames is the one state anndata may see part of.
    if (!c.committedBeforeReopen) allOrNone(s, `${c.label} (before reopening)`);
  }
  for (const c of crashes) await reopen(c.target);
  const after = seen(crashes.map((c) => c.target));
  crashes.forEach((c, k) => {
    const state = allOrNone(after[k], c.label);
    if (c.committedBeforeReopen || c.outcome === 'finished') {
      assert.equal(state, 'all', `${c.label}: a committed write was not completed`);
    }
    assert.deepEqual(scratchOf(c.target), [], `${c.label}: scratch left behind`);
    outcomes[state] = (outcomes[state] ?? 0) + 1;
  });
  return outcomes;
}

test('zarr in place: killed at every store write and every publishing rename', async () => {
  const inPlace = (copy: string) => ({ target: copy, args: [] });
  // Store writes while staging (chunks, metadata), then each rename that publishes the run.
  const crashes = [1, 5, 12]
    .flatMap((n) => killOnce(zarrSource, `zarr-set:${n}`, inPlace))
    .concat(crashAtEveryStep(zarrSource, 'zarr-rename', inPlace, 14));
  const outcomes = await checkCrashes(crashes);
  assert.ok(outcomes.none >= 3 && outcomes.all >= 8, JSON.stringify(outcomes));
  // After an interrupted run, the same run goes through (it used to be refused: "already holds").
  const copy = tempCopy(zarrSource);
  assert.equal(predict(copy, [], { SCNYM_FAILPOINT: 'zarr-set:12' }).signal, 'SIGKILL');
  const again = predict(copy, []);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(allOrNone(seen([copy])[0], 'rerun'), 'all');
});

function killOnce(source: string, failpoint: string, setup: (copy: string) => Setup): Crash[] {
  const copy = tempCopy(source);
  const what = setup(copy);
  const { target, args } = what;
  const r = run(copy, what, { SCNYM_FAILPOINT: failpoint });
  assert.equal(r.signal, 'SIGKILL', `${failpoint} not reached: ${r.stderr}`);
  return [
    {
      label: `${basename(source)} ${(what.argv ?? args).join(' ')} killed at ${failpoint}`,
      target,
      committedBeforeReopen: committedJournal(target),
      outcome: 'killed',
    },
  ];
}

test('merge: killed at every step of writing the shards into the query, zarr and h5ad', async () => {
  const crashes: Crash[][] = [];
  for (const source of [zarrSource, h5adSource]) {
    // The shards of the query, written once; merged into fresh copies of it.
    const shards = join(dir, `shards-${basename(source)}`);
    for (const i of [0, 1]) {
      const r = predict(source, ['--shard', `${i}/2`, '--out', shards]);
      assert.equal(r.status, 0, r.stderr);
    }
    const merge = (copy: string): Setup => ({
      target: copy,
      args: [],
      argv: ['merge', '--query', copy, shards],
    });
    if (source.endsWith('.zarr')) {
      crashes.push(
        [1, 5, 12].flatMap((n) => killOnce(source, `zarr-set:${n}`, merge)),
        crashAtEveryStep(source, 'zarr-rename', merge, 14),
      );
    } else {
      crashes.push(crashAtEveryStep(source, 'h5ad', merge, 4));
    }
  }
  const outcomes = await checkCrashes(crashes.flat());
  assert.ok(outcomes.none >= 5 && outcomes.all >= 8, JSON.stringify(outcomes));
});

test('predict --shard: killed while writing its shard file, no shard or a whole one; the rerun goes through', () => {
  const out = join(dir, 'killed-shards');
  const shard = join(out, 'shard-0-of-2.scnym-shard');
  const args = ['--shard', '0/2', '--out', out];
  let finished = false;
  let kills = 0;
  for (let n = 1; n <= 8 && !finished; n++) {
    const r = predict(zarrSource, args, { SCNYM_FAILPOINT: `shard:${n}` });
    finished = r.status === 0;
    // The kill after the rename is the one that leaves the shard whole.
    if (!finished) assert.equal(r.signal, 'SIGKILL', `shard:${n}: ${r.stderr}`);
    if (!finished) kills++;
    const whole = existsSync(shard);
    const again = predict(zarrSource, whole ? [...args, '--overwrite'] : args);
    assert.equal(again.status, 0, `rerun after shard:${n}: ${again.stderr}`);
    assert.deepEqual(readdirSync(out), ['shard-0-of-2.scnym-shard'], `shard:${n}: scratch left`);
    rmSync(out, { recursive: true });
  }
  assert.ok(finished, 'the shard write reached its last failpoint');
  // Killed after each array, before and after the rename.
  assert.ok(kills >= 4, `killed ${kills} times`);
  const merged = tempCopy(zarrSource);
  for (const i of [0, 1])
    assert.equal(predict(zarrSource, ['--shard', `${i}/2`, '--out', out]).status, 0);
  const r = scnym(['merge', '--query', merged, out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(allOrNone(seen([merged])[0], 'merged'), 'all');
});

test('h5ad in place: killed after the copy, before and after the rename', async () => {
  const crashes = crashAtEveryStep(h5adSource, 'h5ad', (copy) => ({ target: copy, args: [] }), 4);
  assert.deepEqual(
    crashes.map((c) => c.outcome),
    ['killed', 'killed', 'killed', 'finished'],
  );
  const outcomes = await checkCrashes(crashes);
  assert.deepEqual(outcomes, { none: 2, all: 2 });
});

test('--out: killed while writing a new output, and while replacing an existing one', async () => {
  const crashes: Crash[][] = [];
  for (const source of [zarrSource, h5adSource]) {
    const zarr = source.endsWith('.zarr');
    const newOut = (copy: string) => {
      const out = join(dirname(copy), zarr ? 'out.zarr' : 'out.h5ad');
      return { target: out, args: ['--out', out] };
    };
    // An existing output (a copy of the query without predictions), replaced with --overwrite.
    const replaced = () => {
      const out = tempCopy(source, zarr ? 'old.zarr' : 'old.h5ad');
      return { target: out, args: ['--out', out, '--overwrite'] };
    };
    if (zarr) {
      crashes.push(
        killOnce(source, 'zarr-set:4', replaced),
        crashAtEveryStep(source, 'replace', newOut, 3),
        crashAtEveryStep(source, 'replace', replaced, 3),
      );
    } else {
      crashes.push(crashAtEveryStep(source, 'h5ad', newOut, 4).filter((c) => existsSync(c.target)));
      crashes.push(crashAtEveryStep(source, 'h5ad', replaced, 4));
    }
  }
  const outcomes = await checkCrashes(crashes.flat());
  assert.ok(outcomes.none >= 3 && outcomes.all >= 5, JSON.stringify(outcomes));
});

test('SIGKILL at random moments of real runs: all or nothing, in place and --out', async (t) => {
  // Moments spread over the run (start-up, reading, predicting, writing); fixed for repeatability.
  const delays = [350, 700, 900, 1100, 1300, 1600];
  const crashes: Crash[] = [];
  for (const [i, delay] of delays.entries()) {
    const source = i % 2 === 0 ? zarrSource : h5adSource;
    const copy = tempCopy(source);
    const out = i % 3 === 2 ? join(dirname(copy), `out${i}${source.slice(-5)}`) : null;
    const args = out ? ['--out', out] : [];
    const r = await runUntil(copy, args, delay, 'SIGKILL');
    const target = out ?? copy;
    if (out && !existsSync(out) && r.signal === 'SIGKILL') continue; // killed before it existed
    crashes.push({
      label: `${basename(copy)} ${args.join(' ')} SIGKILL after ${delay} ms`,
      target,
      committedBeforeReopen: committedJournal(target),
      outcome: r.signal === 'SIGKILL' ? 'killed' : 'finished',
    });
  }
  const outcomes = await checkCrashes(crashes);
  t.diagnostic(JSON.stringify(outcomes));
});

test('SIGTERM during the write cancels it (nothing written, exit 130); after the commit it completes', () => {
  for (const [source, failpoint, expect] of [
    [zarrSource, 'zarr-set:6:SIGTERM', 'none'],
    [h5adSource, 'h5ad:1:SIGTERM', 'none'],
    [h5adSource, 'h5ad:2:SIGTERM', 'all'], // arrives as the finished copy is renamed into place
    [zarrSource, 'zarr-rename:2:SIGTERM', 'all'],
  ] as const) {
    const copy = tempCopy(source);
    const r = predict(copy, [], { SCNYM_FAILPOINT: failpoint });
    assert.equal(r.status, expect === 'none' ? 130 : 0, `${failpoint}: ${r.stderr}`);
    if (expect === 'none') assert.match(r.stderr, /cancelled/);
    assert.equal(allOrNone(seen([copy])[0], failpoint), expect);
    assert.deepEqual(scratchOf(copy), [], `${failpoint}: scratch left behind`);
  }
});

test('a write that runs out of room fails cleanly: one clear error, nothing written, no scratch', () => {
  // RLIMIT_FSIZE makes every write past 64 KB fail (EFBIG), as a full disk would (ENOSPC),
  // without needing a small file system.
  for (const source of [zarrSource, h5adSource]) {
    const copy = tempCopy(source);
    const r = spawnSync(
      'bash',
      [
        '-c',
        `ulimit -f 64 && exec "$0" "$@"`,
        process.execPath,
        CLI,
        'predict',
        '--model',
        model,
        '--query',
        copy,
        '--quiet',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /q\.(zarr|h5ad): the file is larger than .*ulimit -f/);
    assert.equal(allOrNone(seen([copy])[0], basename(copy)), 'none');
    assert.deepEqual(scratchOf(copy), []);
  }
});

function runUntil(
  query: string,
  args: string[],
  delayMs: number,
  signal: NodeJS.Signals,
): Promise<{ status: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((ok) => {
    const child = spawn(
      process.execPath,
      [CLI, 'predict', '--model', model, '--query', query, '--quiet', ...args],
      { stdio: 'ignore' },
    );
    const timer = setTimeout(() => child.kill(signal), delayMs);
    child.on('exit', (status, sig) => {
      clearTimeout(timer);
      ok({ status, signal: sig });
    });
  });
}

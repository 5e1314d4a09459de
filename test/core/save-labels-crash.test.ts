// Whatever kills a hand-labels Save (the VS Code viewer's, core's saveLabelsFile) while it
// writes, the real anndata then sees the saved label column and its colours both or neither,
// with everything else in the file unchanged, and no scNym scratch is left once scNym next opens
// the file. Each kill comes from the SCNYM_FAILPOINT hook (core/src/node/failpoint.ts) at the
// Nth store write or publishing rename (zarr) or step of the copy-and-rename (h5ad), for every N
// the save reaches. (The writer itself is tested under `scnym predict` in write-crash.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { before, test } from 'node:test';
import { openAnnDataFile } from '@scnym/core/node';
import {
  committedJournal,
  demoQueryCopies,
  keysSeen,
  scratchOf,
  type Seen,
} from '../helpers/crash.js';
import { REPO } from '../helpers/paths.js';
import { tempCopy } from '../helpers/tmp.js';

const SAVED = { obs: 'scNym', uns: 'scNym_colors' };

// A child process that saves the demo's cell_type, with B relabelled, as the scNym labels.
const DRIVER = `
import { openAnnDataFile, saveLabelsFile } from '@scnym/core/node';
const path = process.argv[1];
const ad = await openAnnDataFile(path);
const column = await ad.obsColumn('cell_type');
await ad.close();
const categories = column.categories.map((c) => (c === 'B' ? 'B cell' : c));
await saveLabelsFile(path, { keyAdded: 'scNym', codes: column.codes, categories });
`;

let zarrSource = '';
let h5adSource = '';

before(() => {
  ({ zarr: zarrSource, h5ad: h5adSource } = demoQueryCopies());
});

/** What anndata sees in each file: its keys, and a digest of all but the saved ones. */
function seen(files: string[]): Seen[] {
  return keysSeen(['scNym'], files);
}

function save(path: string, failpoint: string) {
  return spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', DRIVER, path],
    { cwd: REPO, encoding: 'utf8', env: { ...process.env, SCNYM_FAILPOINT: failpoint } },
  );
}

/** Both saved keys or neither; the rest as in `original`. */
function bothOrNeither(s: Seen, original: string, what: string): 'both' | 'neither' {
  assert.equal(s.error, undefined, `${what}: anndata cannot open it: ${s.error}`);
  assert.equal(s.digest, original, `${what}: the rest of the file changed`);
  const obs = s.obs.includes(SAVED.obs);
  assert.equal(s.uns.includes(SAVED.uns), obs, `${what}: anndata sees part of the save`);
  return obs ? 'both' : 'neither';
}

/** Kills a save of a fresh copy at the Nth `failpoint` for N = 1, 2, … until one finishes. */
async function killedAtEveryStep(source: string, failpoint: string): Promise<string[]> {
  const [original] = seen([source]).map((s) => s.digest);
  const outcomes: string[] = [];
  for (let n = 1; n <= 60; n++) {
    const copy = tempCopy(source);
    const r = save(copy, `${failpoint}:${n}`);
    const killed = r.signal === 'SIGKILL';
    assert.ok(killed || r.status === 0, `${failpoint}:${n}: ${r.stderr}`);
    const what = `${basename(source)} killed at ${failpoint}:${n}`;
    // A kill between a committed journal's renames may show part of the save until scNym
    // opens the file again and completes it: checked after reopening.
    const journal = committedJournal(copy);
    if (!journal) bothOrNeither(seen([copy])[0], original, `${what} (before reopening)`);
    await (await openAnnDataFile(copy)).close();
    const state = bothOrNeither(seen([copy])[0], original, what);
    if (!killed || journal) assert.equal(state, 'both', `${what}: a committed save was lost`);
    assert.deepEqual(scratchOf(copy), [], `${what}: scratch left behind`);
    outcomes.push(killed ? state : 'finished');
    if (!killed) return outcomes;
  }
  assert.fail(`${failpoint} was still reached after 60 steps`);
}

test('zarr: a Save of hand labels killed at every store write and every rename: both keys or neither', async () => {
  const writes = await killedAtEveryStep(zarrSource, 'zarr-set');
  const renames = await killedAtEveryStep(zarrSource, 'zarr-rename');
  for (const outcomes of [writes, renames]) {
    assert.ok(outcomes.length >= 2, outcomes.join(' '));
    assert.equal(outcomes.at(-1), 'finished');
  }
  assert.ok(writes.includes('neither'), writes.join(' '));
});

test('h5ad: a Save of hand labels killed at every step of the copy and rename: both keys or neither', async () => {
  const outcomes = await killedAtEveryStep(h5adSource, 'h5ad');
  assert.ok(outcomes.length >= 2, outcomes.join(' '));
  assert.ok(outcomes.includes('neither'), outcomes.join(' '));
  assert.equal(outcomes.at(-1), 'finished');
});

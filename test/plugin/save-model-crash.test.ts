// Whatever kills the viewer's Save while it writes the model beside the dataset and then the
// predictions with the model's record (plugin/src/server/saved.ts writeSave), at every step it
// reaches (SCNYM_FAILPOINT: the model folder's publishing renames, the zarr store's publishing
// renames, the h5ad copy-and-rename; the store's every write is write-crash.test.ts's): the real
// anndata sees all of the save's keys or none, the rest of the file unchanged; the model folder,
// as a reader finds it, is absent or whole (the digest of the model sent), and a record in the
// dataset always names that whole folder. The next Save then finishes, with no scratch left, and
// saves its model, also where the kill fell between the folder and the record (the folder's card
// is stamped as saved beside this dataset, so it is still known to be ours).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { before, test } from 'node:test';
import {
  cardBytes,
  initBackend,
  MODEL_JSON,
  readLabels,
  SCNYM_JSON,
  WEIGHTS_BIN,
  type ModelCard,
} from '@scnym/core';
import { modelDigest, modelDirDigest, openAnnDataFile, readModelDirFiles } from '@scnym/core/node';
import {
  committedJournal,
  demoQueryCopies,
  keysSeen,
  scratchOf,
  type Seen,
} from '../helpers/crash.js';
import { untrainedModelFiles } from '../helpers/model.js';
import { PYTHON, REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const RECORD = 'scNym_model';

// A child process that saves the demo's cell_type as the scNym labels with the model in
// argv[2], recorded as the viewer does it (the record read from the dataset first); prints the
// model's record.
const DRIVER = `
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labelAnnotations } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { recordedModel, writeSave } from ${JSON.stringify(join(REPO, 'plugin/src/server/saved.ts'))};
const [path, model] = process.argv.slice(1);
const ad = await openAnnDataFile(path);
const column = await ad.obsColumn('cell_type');
const recorded = await recordedModel(ad);
await ad.close();
const names = ${JSON.stringify([SCNYM_JSON, MODEL_JSON, WEIGHTS_BIN])};
const files = new Map(names.map((n) => [n, readFileSync(join(model, n))]));
const record = await writeSave(path, labelAnnotations('scNym', column), files, recorded);
console.log(JSON.stringify(record));
`;

let zarrSource = '';
let h5adSource = '';
let modelDir = '';
let digest = '';

before(async () => {
  await initBackend('auto');
  ({ zarr: zarrSource, h5ad: h5adSource } = demoQueryCopies());
  const ad = await openAnnDataFile(zarrSource);
  const genes = await ad.varNames();
  const classes = (await readLabels(ad, 'cell_type')).names;
  await ad.close();
  const files = await untrainedModelFiles(genes, [...classes], 3, '2026-12-07T00:00:00.000Z');
  modelDir = join(tempDir(), 'sent');
  mkdirSync(modelDir);
  for (const [name, bytes] of files) writeFileSync(join(modelDir, name), bytes);
  digest = modelDigest(files);
});

function save(path: string, failpoint = '') {
  return spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', DRIVER, path, modelDir],
    { cwd: REPO, encoding: 'utf8', env: { ...process.env, SCNYM_FAILPOINT: failpoint } },
  );
}

/** The folder's digest with its card's savedBeside stamp taken out: the sent model's when whole. */
async function unstampedDigest(dir: string): Promise<string> {
  const files = await readModelDirFiles(dir);
  const card = JSON.parse(new TextDecoder().decode(files.get(SCNYM_JSON))) as ModelCard;
  delete card.provenance.savedBeside;
  files.set(SCNYM_JSON, cardBytes(card));
  return modelDigest(files);
}

const besideOf = (path: string) => join(dirname(path), `${basename(path)}.scnym-model`);

/** The record anndata reads from uns, or null. */
function recordIn(path: string): { path: string; digest: string } | null {
  const code =
    'import sys, json, anndata\n' +
    'p = sys.argv[1]\n' +
    'a = anndata.read_zarr(p) if p.endswith(".zarr") else anndata.read_h5ad(p)\n' +
    `r = a.uns.get("${RECORD}")\n` +
    'print(json.dumps(None if r is None else {"path": str(r["path"]), "digest": str(r["digest"])}))';
  const r = spawnSync(PYTHON, ['-c', code, path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { path: string; digest: string } | null;
}

/** All the save's keys or none, the rest as in `original`. */
function allOrNone(s: Seen, original: string, what: string): 'all' | 'none' {
  assert.equal(s.error, undefined, `${what}: anndata cannot open it: ${s.error}`);
  assert.equal(s.digest, original, `${what}: the rest of the file changed`);
  const keys = [s.obs.includes('scNym'), s.uns.includes('scNym_colors'), s.uns.includes(RECORD)];
  assert.ok(
    keys.every((k) => k === keys[0]),
    `${what}: anndata sees part of the save: ${keys}`,
  );
  return keys[0] ? 'all' : 'none';
}

/**
 * Kills a Save of a fresh copy (holding an earlier complete Save when `again`) at the Nth
 * `failpoint` for N = 1, 2, … until one finishes; checks each as the header says.
 */
async function killedAtEveryStep(source: string, failpoint: string, again = false) {
  const outcomes: string[] = [];
  for (let n = 1; n <= 60; n++) {
    const copy = tempCopy(source);
    const beside = besideOf(copy);
    if (again) assert.equal(save(copy).status, 0, 'the earlier Save');
    const [original] = keysSeen(['scNym'], [copy]).map((s) => s.digest);
    const r = save(copy, `${failpoint}:${n}`);
    const killed = r.signal === 'SIGKILL';
    assert.ok(killed || r.status === 0, `${failpoint}:${n}: ${r.stderr}`);
    const what = `${basename(source)}${again ? ' (saved before)' : ''} killed at ${failpoint}:${n}`;
    const journal = committedJournal(copy);
    await (await openAnnDataFile(copy)).close();
    const state = allOrNone(keysSeen(['scNym'], [copy])[0], original, what);
    if (!killed || journal) assert.equal(state, 'all', `${what}: a committed save was lost`);
    // As a reader finds it (an interrupted replacement put back): never partial, and a record
    // names the whole folder.
    const folder = await modelDirDigest(beside).catch(() => null);
    if (folder !== null)
      assert.equal(await unstampedDigest(beside), digest, `${what}: the model folder is partial`);
    const record = recordIn(copy);
    if (record) assert.equal(folder, record.digest, `${what}: the record names another folder`);
    // The next Save.
    const next = save(copy);
    assert.equal(next.status, 0, `${what}: the next Save: ${next.stderr}`);
    const saved = JSON.parse(next.stdout.trim().split('\n').at(-1)!) as { where: string };
    // The window: the folder is there, the dataset does not record it.
    const window = !record && folder !== null;
    assert.equal(saved.where, 'beside', `${what}: the next Save did not save the model`);
    assert.equal(recordIn(copy)?.digest, await modelDirDigest(beside), `${what}: the record`);
    assert.equal(await unstampedDigest(beside), digest, `${what}: the folder after the next Save`);
    assert.deepEqual(scratchOf(copy), [], `${what}: scratch left beside the dataset`);
    assert.deepEqual(scratchOf(beside), [], `${what}: scratch left beside the model folder`);
    outcomes.push(killed ? `${state}${window ? '+window' : ''}` : 'finished');
    if (!killed) return outcomes;
  }
  assert.fail(`${failpoint} was still reached after 60 steps`);
}

test('zarr: the viewer Save with its model killed at every step: all keys or none, the folder whole', async () => {
  for (const [failpoint, again] of [
    ['replace', false],
    ['replace', true],
    ['zarr-rename', true],
  ] as const) {
    const outcomes = await killedAtEveryStep(zarrSource, failpoint, again);
    assert.equal(outcomes.at(-1), 'finished', outcomes.join(' '));
    assert.ok(outcomes.length >= 2, `${failpoint}: ${outcomes.join(' ')}`);
  }
});

test('h5ad: the viewer Save with its model killed at every step: all keys or none, the folder whole', async () => {
  const outcomes = await killedAtEveryStep(h5adSource, 'h5ad');
  assert.ok(outcomes.includes('none+window'), outcomes.join(' '));
  assert.equal(outcomes.at(-1), 'finished');
});

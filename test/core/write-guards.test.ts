// What a write may touch: --overwrite replaces only what is recognisably ours (an AnnData store
// or file, an scNym model folder) and never an input or a folder holding one; in-place writes
// refuse symbolic links and read-only files; two writers of one file are serialised by a lock
// instead of losing one's keys; a stale lock of a dead process is taken over. And the staged zarr
// write (journal, publish, recovery) on Zarr v3 and consolidated v2 stores.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { before, test } from 'node:test';
import { WriteConflictError } from '../../core/src/errors.js';
import { writeAnnotations, type Annotations } from '../../core/src/anndata/write.js';
import { recoverStaged } from '../../core/src/anndata/zarr/publish.js';
import { acquireLock, lockPathFor } from '@scnym/core/node';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { writeAnnotationsToFile } from '../../core/src/node/write-file.js';
import { FileSystemZarrStore, openZarrFile } from '../../core/src/node/zarr-store.js';
import { runScnym } from '../helpers/cli.js';
import { CLI, PYTHON, REPO } from '../helpers/paths.js';
import { ensureFixtures, readBack } from '../helpers/python.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const dir = tempDir();
const model = join(dir, 'model');
let h5ad = '';

before(() => {
  const r = runScnym([
    'train',
    '--reference',
    join(DEMO, 'reference.zarr'),
    '--label-key',
    'cell_type',
    '--model-out',
    model,
    '--epochs',
    '1',
    '--quiet',
  ]);
  assert.equal(r.status, 0, r.stderr);
  h5ad = join(dir, 'q.h5ad');
  const py = spawnSync(PYTHON, [
    '-c',
    `import anndata; anndata.read_zarr('${join(DEMO, 'target.zarr')}').write_h5ad('${h5ad}')`,
  ]);
  assert.equal(py.status, 0, String(py.stderr));
});

const scnym = (...args: string[]) => runScnym(args, 120_000);
const demoQuery = () => tempCopy(join(DEMO, 'target.zarr'), 'q.zarr');

function annotations(nObs: number, prefix = 'scNym'): Annotations {
  return {
    obs: { [prefix]: { kind: 'float', values: new Float32Array(nObs).fill(0.5) } },
    obsm: { [`${prefix}_m`]: { data: new Float32Array(nObs * 2), shape: [nObs, 2] } },
    uns: { [`${prefix}_u`]: 'x' },
  };
}

test('--model-out --overwrite refuses a folder that holds an input or anything but a model', () => {
  const project = join(tempDir(), 'project');
  mkdirSync(project);
  const reference = tempCopy(join(DEMO, 'reference.zarr'));
  const inside = join(project, 'ref.zarr');
  spawnSync('cp', ['-r', reference, inside]);
  writeFileSync(join(project, 'notes.txt'), 'my notes');
  const before = treeDigest(project);
  const train = (out: string, ref = inside) =>
    scnym(
      ...['train', '--reference', ref, '--label-key', 'cell_type', '--model-out', out],
      ...['--overwrite', '--epochs', '1', '--quiet'],
    );

  let r = train(project);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /project: holds .*ref\.zarr, an input of this run/);
  r = train(project, reference); // the input is elsewhere; the folder still is not a model
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /holds files that are not part of an scNym model \(notes\.txt, ref\.zarr\)/,
  );
  assert.match(r.stderr, /nothing was changed/);
  assert.equal(treeDigest(project), before, 'the project folder was touched');
  assert.doesNotMatch(r.stderr, /training/, 'refused before training');

  // A model folder is replaced; without --overwrite it is refused.
  const models = tempDir();
  const saved = join(models, 'm');
  assert.equal(train(saved, reference).status, 0);
  const card = readFileSync(join(saved, 'scnym.json'), 'utf8');
  r = scnym(
    ...['train', '--reference', reference, '--label-key', 'cell_type'],
    '--model-out',
    saved,
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already exists/);
  assert.equal(train(saved, reference).status, 0);
  assert.notEqual(readFileSync(join(saved, 'scnym.json'), 'utf8'), card, 'replaced');
  assert.deepEqual(readdirSync(models), ['m'], 'no scratch left beside it');
});

test('--out refuses a plain folder, an input, a path inside an input; replaces an AnnData store', () => {
  const query = demoQuery();
  const folder = join(tempDir(), 'project');
  mkdirSync(folder);
  writeFileSync(join(folder, 'data.csv'), '1,2');
  const queryBefore = treeDigest(query);
  const out = (path: string) =>
    scnym('predict', '--model', model, '--query', query, '--out', path, '--overwrite', '--quiet');

  let r = out(folder);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is not a Zarr store .*--overwrite only replaces an AnnData \.zarr store/);
  assert.ok(existsSync(join(folder, 'data.csv')));
  r = out(join(query, 'obs', 'copy.zarr'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is inside .*q\.zarr, an input of this run/);
  r = out(dirname(query));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /holds .*q\.zarr, an input of this run/);
  r = out(model);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is one of this run's inputs/);
  assert.equal(treeDigest(query), queryBefore, 'the query was touched');

  // An AnnData store at --out is replaced; --out naming the query itself writes in place.
  const existing = tempCopy(join(DEMO, 'target.zarr'), 'old.zarr');
  r = out(existing);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readBack(existing).obs.scNym.dtype, 'category');
  r = out(query);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readBack(query).obs.scNym.dtype, 'category');
  assert.deepEqual(readdirSync(dirname(query)).sort(), ['q.zarr']);
});

test('in place: a symbolic link or a read-only file is refused, before any work and untouched', () => {
  const folder = tempDir();
  const real = join(folder, 'real.h5ad');
  spawnSync('cp', [h5ad, real]);
  const link = join(folder, 'link.h5ad');
  symlinkSync(real, link);
  const original = readFileSync(real);
  let r = scnym('predict', '--model', model, '--query', link, '--quiet');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /link\.h5ad: is a symbolic link to .*real\.h5ad/);
  assert.match(r.stderr, /pass the file it points to/);
  assert.deepEqual(readFileSync(real), original);

  chmodSync(real, 0o444); // refused even for root, who could write it
  r = scnym('predict', '--model', model, '--query', real, '--quiet');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /real\.h5ad: is read-only/);
  assert.match(r.stderr, /chmod u\+w/);
  assert.deepEqual(readFileSync(real), original);
  // A copy can still be written elsewhere.
  r = scnym(
    'predict',
    '--model',
    model,
    '--query',
    real,
    '--out',
    join(folder, 'out.h5ad'),
    '--quiet',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(folder).sort(), ['link.h5ad', 'out.h5ad', 'real.h5ad']);
});

test('two predicts on one file at once: both runs keep their keys (zarr and h5ad)', async () => {
  for (const source of [join(DEMO, 'target.zarr'), h5ad]) {
    for (let round = 0; round < 2; round++) {
      const file = tempCopy(source);
      const runs = await Promise.all(
        ['A', 'B'].map((key) =>
          spawnAsync(['predict', '--model', model, '--query', file, '--key-added', key, '--quiet']),
        ),
      );
      for (const r of runs) assert.equal(r.status, 0, r.stderr);
      const back = readBack(file);
      for (const key of ['A', 'A_confidence', 'B', 'B_confidence'])
        assert.ok(back.obs[key], `${file}: obs ${key} lost`);
      for (const key of ['A_classes', 'B_classes'])
        assert.ok(key in back.uns, `${file}: uns ${key} lost`);
      assert.deepEqual(readdirSync(dirname(file)), [
        source.endsWith('.zarr') ? 'target.zarr' : 'q.h5ad',
      ]);
    }
  }
  // The same key twice: one run writes it, the other is refused by name.
  const file = tempCopy(join(DEMO, 'target.zarr'));
  const runs = await Promise.all(
    [0, 1].map(() => spawnAsync(['predict', '--model', model, '--query', file, '--quiet'])),
  );
  assert.deepEqual(runs.map((r) => r.status).sort(), [0, 1]);
  assert.match(runs.find((r) => r.status === 1)?.stderr ?? '', /already holds obs\/scNym/);
});

test('lock: a live writer is waited for, then refused by name; a dead one is taken over; cancel', async () => {
  const file = tempCopy(join(DEMO, 'target.zarr'));
  const held = await acquireLock(file);
  const notes: string[] = [];
  const started = Date.now();
  await assert.rejects(
    writeAnnotationsToFile(file, annotations(1039), {
      lockWaitMs: 600,
      onNotice: (m) => notes.push(m),
    }),
    (err: Error) =>
      err instanceof WriteConflictError &&
      new RegExp(
        `is being written by another scNym run \\(process ${process.pid} on ${hostname()}`,
      ).test(err.message),
  );
  assert.ok(Date.now() - started >= 500, 'waited before refusing');
  assert.match(notes[0], /waiting for it to finish/);
  // Cancelling while waiting returns at once.
  const controller = new AbortController();
  const waiting = writeAnnotationsToFile(file, annotations(1039), { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  const t0 = Date.now();
  await assert.rejects(waiting, { name: 'AbortError' });
  assert.ok(Date.now() - t0 < 2000);
  await held.release();
  assert.equal(existsSync(lockPathFor(file)), false);

  // A lock left by a process that is gone (a finished child's pid) is taken over.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  writeFileSync(
    lockPathFor(file),
    JSON.stringify({
      pid: Number(dead.stdout),
      host: hostname(),
      since: null,
      created: '',
      command: 'predict',
      token: 'x',
    }),
  );
  await writeAnnotationsToFile(file, annotations(1039));
  assert.equal(existsSync(lockPathFor(file)), false);
  assert.equal((await readBack(file)).obs.scNym.dtype, 'float32');
  // Another host's lock is never removed: refused, naming the file to delete if it is stale.
  writeFileSync(
    lockPathFor(file),
    JSON.stringify({
      pid: 1,
      host: 'elsewhere',
      since: null,
      created: '',
      command: 'predict',
      token: 'y',
    }),
  );
  await assert.rejects(
    writeAnnotationsToFile(file, annotations(1039, 'other'), { lockWaitMs: 0 }),
    /process 1 on elsewhere[\s\S]*if no scnym runs on elsewhere any more, delete .*\.target\.zarr\.scnym-lock/,
  );
  assert.ok(existsSync(lockPathFor(file)));
});

test('staged zarr write: a crash at any rename is completed by recovery (v3 consolidated, v2 .zmetadata)', async () => {
  for (const fixture of ['v3_consolidated.zarr', 'consolidated.zarr']) {
    const source = join(ensureFixtures(), fixture);
    const opened = await openAnnDataFile(source);
    const nObs = opened.nObs;
    await opened.close();
    let step = 0;
    for (; ; step++) {
      const path = tempCopy(source);
      const h = await openZarrFile(path, { writable: true });
      const store = (h as unknown as { store: FileSystemZarrStore }).store;
      const rename = store.rename.bind(store);
      let renames = 0;
      store.rename = async (from, to) => {
        if (renames++ === step) throw new Error('crash');
        return rename(from, to);
      };
      const crashed = await writeAnnotations(h, annotations(nObs)).then(
        () => false,
        () => true,
      );
      const result = await recoverStaged(new FileSystemZarrStore(path));
      const r = await openAnnDataFile(path);
      try {
        assert.ok((await r.obsColumnNames()).includes('scNym'), `${fixture} step ${step}`);
        assert.ok((await r.obsmKeys()).includes('scNym_m'), `${fixture} step ${step}`);
        assert.ok((await r.unsKeys()).includes('scNym_u'), `${fixture} step ${step}`);
      } finally {
        await r.close();
      }
      assert.deepEqual(
        readdirSync(path).filter((n) => n.startsWith('.scnym')),
        [],
      );
      // The consolidated metadata names the new elements too.
      const meta = fixture.startsWith('v3')
        ? Object.keys(
            JSON.parse(readFileSync(join(path, 'zarr.json'), 'utf8')).consolidated_metadata
              .metadata,
          )
        : Object.keys(JSON.parse(readFileSync(join(path, '.zmetadata'), 'utf8')).metadata);
      assert.ok(
        meta.some((k) => k.startsWith('obsm/scNym_m')),
        `${fixture} step ${step}`,
      );
      if (!crashed) break;
      assert.equal(result.completed, 1);
    }
    assert.ok(step >= 4, `${fixture}: only ${step} renames`);
  }
});

function spawnAsync(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (status) => ok({ status, stderr }));
  });
}

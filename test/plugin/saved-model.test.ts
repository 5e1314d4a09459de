// What a save leaves for the next session of the viewer: the model written beside the dataset
// (`<dataset>.scnym-model`, replacing only our own model folder), its name and digest in uns
// scNym_model, the markers in uns scNym_markers, and GET /api/saved / /saved-model/ giving them
// back; a path there that is not ours (a folder of other files, a link) or a read-only folder
// leaves the model unsaved, says why, and touches nothing.
import assert from 'node:assert/strict';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend, type ModelCard } from '@scnym/core';
import { untrainedModelFiles } from '../helpers/model.js';
import { modelDirDigest, openAnnDataFile, writeAnnotationsToFile } from '@scnym/core/node';
import { MODEL_BESIDE_SUFFIX, type ModelRecord } from '@scnym/core/vocabulary';
import { startViewServer, type ViewServer } from '../../plugin/src/server/index.js';
import {
  markersFromRecord,
  markersRecord,
  type ClassMarkers,
} from '../../plugin/src/shared/markers-record.js';
import {
  toBase64,
  wireArray,
  type SaveRequest,
  type SaveResponse,
  type SavedState,
} from '../../plugin/src/shared/save-format.js';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const N = 1039;
const MARKERS: ClassMarkers[] = [
  {
    className: 'CD14+ Mono',
    method: 'gradient',
    nCells: 200,
    genes: ['LYZ', 'S100A9'],
    scores: [2.5, -0.5],
  },
  { className: 'B', method: 'integrated', nCells: 81, genes: ['MS4A1'], scores: [1.25] },
];

let files: Record<string, string>;
const servers: ViewServer[] = [];

before(async () => {
  await initBackend('cpu');
  const ad = await openAnnDataFile(join(DEMO, 'target.zarr'));
  const genes = (await ad.varNames()).slice(0, 50);
  await ad.close();
  const bytes = await untrainedModelFiles(genes, ['A', 'B'], 7, '2026-12-07T15:00:00Z');
  files = Object.fromEntries([...bytes].map(([name, b]) => [name, toBase64(b)]));
});

after(async () => {
  for (const s of servers) await s.close();
});

function fakeApp(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'index.html'), '<html><head><!--scnym-token--></head></html>');
  return dir;
}

/** A server on a fresh copy of the demo query, logged in: its fetch and save. */
async function session() {
  const query = tempCopy(join(DEMO, 'target.zarr'));
  const s = await startViewServer({ query, appDir: fakeApp() });
  servers.push(s);
  const login = await fetch(`${s.url}`, { redirect: 'manual' });
  const cookie = String(login.headers.get('set-cookie')).split(';')[0];
  const page = await (await fetch(`${s.origin}/`, { headers: { cookie } })).text();
  const token = /content="([0-9a-f]+)"/.exec(page)![1];
  const get = (path: string) => fetch(`${s.origin}${path}`, { headers: { cookie } });
  const save = async (body: SaveRequest) => {
    const r = await fetch(`${s.origin}/api/save`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-scnym-token': token },
      body: JSON.stringify(body),
    });
    return { status: r.status, reply: (await r.json()) as SaveResponse & { error?: string } };
  };
  const saved = async () => (await (await get('/api/saved')).json()) as SavedState;
  return { query, beside: `${query}${MODEL_BESIDE_SUFFIX}`, get, save, saved };
}

function body(withModel = true): SaveRequest {
  const codes = Int32Array.from({ length: N }, (_, i) => i % 2);
  const confidence = Float32Array.from({ length: N }, (_, i) => (i % 10) / 10);
  return {
    schema: 'scnym.save/1',
    obs: {
      scNym: { kind: 'categorical', codes: wireArray(codes), categories: ['A', 'B'] },
      scNym_confidence: { kind: 'float', values: wireArray(confidence) },
    },
    uns: { scNym_markers: { ...markersRecord(MARKERS)! } },
    ...(withModel ? { model: { files } } : {}),
  };
}

async function unsModel(query: string): Promise<ModelRecord> {
  const ad = await openAnnDataFile(query);
  try {
    return (await ad.uns('scNym_model')) as unknown as ModelRecord;
  } finally {
    await ad.close();
  }
}

test('markers round-trip through their uns record; a malformed record is none', () => {
  assert.deepEqual(markersFromRecord(markersRecord(MARKERS)), MARKERS);
  assert.equal(markersRecord([]), null);
  const bad = { ...markersRecord(MARKERS)!, n_genes: [2, 2] };
  assert.equal(markersFromRecord(bad), null);
  assert.equal(markersFromRecord('x'), null);
});

test('a save writes the model beside the dataset, records it, and gives it back', async () => {
  const s = await session();
  const { status, reply } = await s.save(body());
  assert.equal(status, 200, reply.error);
  assert.equal(reply.model?.where, 'beside');
  assert.equal(reply.model?.path, `${basename(s.query)}${MODEL_BESIDE_SUFFIX}`);
  assert.deepEqual(readdirSync(s.beside).sort(), ['model.json', 'scnym.json', 'weights.bin']);
  const digest = await modelDirDigest(s.beside);
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(await unsModel(s.query), { path: reply.model.path, digest, where: 'beside' });

  const state = await s.saved();
  assert.equal(state.model?.available, true, state.model?.problem);
  assert.deepEqual(markersFromRecord(state.markers), MARKERS);
  const card = (await (await s.get('/saved-model/scnym.json')).json()) as ModelCard;
  assert.deepEqual(card.classNames, ['A', 'B']);
  assert.equal((await s.get('/saved-model/secret.txt')).status, 404);

  // Saved again: our own folder is replaced, the record stays true.
  const again = await s.save(body());
  assert.equal(again.reply.model?.where, 'beside');
  assert.equal((await s.saved()).model?.available, true);
});

test('a changed or missing model folder is not loaded, and says why', async () => {
  const s = await session();
  await s.save(body());
  writeFileSync(join(s.beside, 'weights.bin'), 'changed');
  const changed = await s.saved();
  assert.equal(changed.model?.available, false);
  assert.match(changed.model?.problem ?? '', /is not the model that was saved/);
  assert.equal((await s.get('/saved-model/scnym.json')).status, 200); // served, not trusted
});

test('a folder that is not ours at the model path is refused and left untouched; the predictions are saved', async () => {
  const s = await session();
  mkdirSync(s.beside);
  writeFileSync(join(s.beside, 'notes.txt'), 'my notes');
  const before = treeDigest(s.beside);
  const { status, reply } = await s.save(body());
  assert.equal(status, 200, reply.error);
  assert.deepEqual(reply.written.slice(0, 2), ['obs/scNym', 'obs/scNym_confidence']);
  assert.equal(reply.model?.where, 'none');
  assert.match(
    reply.model?.reason ?? '',
    /not saved: .*scnym-model is not the model folder an earlier Save made here .*; scNym leaves it untouched/,
  );
  assert.ok(!(reply.model?.reason ?? '').includes(dirname(s.query)), 'no absolute path');
  assert.equal(treeDigest(s.beside), before);
  assert.equal((await unsModel(s.query)).where, 'none');
  const state = await s.saved();
  assert.equal(state.model?.available, false);
  assert.match(state.model?.problem ?? '', /is not the model folder an earlier Save made here/);
});

test("an scNym model folder the dataset does not record (the user's own) is refused and left untouched", async () => {
  const first = await session();
  await first.save(body());
  const s = await session();
  cpSync(first.beside, s.beside, { recursive: true });
  const before = treeDigest(s.beside);
  const { status, reply } = await s.save(body());
  assert.equal(status, 200, reply.error);
  assert.equal(reply.model?.where, 'none');
  assert.match(reply.model?.reason ?? '', /is not the model folder an earlier Save made here/);
  assert.equal(treeDigest(s.beside), before);

  // Ours, but edited since the save that recorded it: refused as well.
  const again = await first.save(body());
  assert.equal(again.reply.model?.where, 'beside');
  writeFileSync(join(first.beside, 'weights.bin'), 'changed');
  const edited = treeDigest(first.beside);
  assert.equal((await first.save(body())).reply.model?.where, 'none');
  assert.equal(treeDigest(first.beside), edited);
});

test('a folder a Save made beside this dataset but never recorded (killed between) is ours; edited, it is not', async () => {
  const s = await session();
  await s.save(body());
  const stamped = (JSON.parse(readFileSync(join(s.beside, 'scnym.json'), 'utf8')) as ModelCard)
    .provenance.savedBeside;
  assert.match(String(stamped), /^sha256:[0-9a-f]{64}$/);
  // As a kill after the folder and before the record leaves it: the dataset records no model.
  const unrecorded: ModelRecord = { path: '', digest: '', where: 'none', reason: 'killed' };
  await writeAnnotationsToFile(
    s.query,
    { uns: { scNym_model: { ...unrecorded } } },
    { overwrite: true },
  );
  const next = await s.save(body());
  assert.equal(next.reply.model?.where, 'beside', next.reply.model?.reason);
  assert.equal((await unsModel(s.query)).digest, await modelDirDigest(s.beside));

  // Unrecorded and edited since: not ours any more.
  await writeAnnotationsToFile(
    s.query,
    { uns: { scNym_model: { ...unrecorded } } },
    { overwrite: true },
  );
  writeFileSync(join(s.beside, 'weights.bin'), 'changed');
  const edited = treeDigest(s.beside);
  assert.equal((await s.save(body())).reply.model?.where, 'none');
  assert.equal(treeDigest(s.beside), edited);
});

test('a link at the model path is refused and left as it was', async () => {
  const s = await session();
  const elsewhere = tempDir();
  writeFileSync(join(elsewhere, 'scnym.json'), '{}');
  symlinkSync(elsewhere, s.beside);
  const { reply } = await s.save(body());
  assert.equal(reply.model?.where, 'none');
  assert.match(reply.model?.reason ?? '', /symbolic link/);
  assert.deepEqual(readdirSync(elsewhere), ['scnym.json']);
});

test('a read-only folder: the predictions are saved without the model, which says so', async () => {
  const s = await session();
  // The query stays writable (a zarr store is written inside itself); its folder does not.
  chmodSync(dirname(s.query), 0o555);
  try {
    const { status, reply } = await s.save(body());
    assert.equal(status, 200, reply.error);
    assert.equal(reply.model?.where, 'none');
    assert.match(reply.model?.reason ?? '', /read-only/);
    assert.ok(!existsSync(s.beside));
  } finally {
    chmodSync(dirname(s.query), 0o755);
  }
});

test('a save without a model leaves uns scNym_model alone; a bad model is refused whole', async () => {
  const s = await session();
  const { reply } = await s.save(body(false));
  assert.equal(reply.model, undefined);
  assert.equal((await s.saved()).model, null);
  const bad = { ...body(), model: { files: { ...files, 'extra.bin': '' } } };
  const refused = await s.save(bad);
  assert.equal(refused.status, 400);
  assert.match(refused.reply.error ?? '', /model files must be/);
  const notACard = {
    ...body(),
    model: { files: { ...files, 'scnym.json': toBase64(new Uint8Array([123])) } },
  };
  assert.equal((await s.save(notACard)).status, 400);
  assert.ok(!existsSync(s.beside));
});

// The `scnym view` server's guards: every request needs the session cookie that only the
// printed URL's ?token= gives; it serves only the app and the given datasets (range reads
// included), refuses path traversal, foreign origins and hosts, and writes only scNym's keys
// into the opened dataset, only with the page's save token and a body no larger than a save of
// the query can be; error bodies name no absolute path; a good save round-trips through core.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AnnDataError } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { startViewServer, type ViewServer } from '../../plugin/src/server/index.js';
import { withoutPaths } from '../../plugin/src/server/public-error.js';
import {
  maxSaveBytes,
  PICKED_MAX_CLASSES,
  wireArray,
  type SaveRequest,
} from '../../plugin/src/shared/save-format.js';
import { withHint } from '../../plugin/src/shared/worker-messages.js';
import { REPO } from '../helpers/paths.js';
import { anndataRewrite, ensureFixtures, zarrConsolidate } from '../helpers/python.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const N = 1039;
let server: ViewServer;
let query: string;
/** This test's session: the cookie `?token=` set, and the save token from the page. */
let cookie = '';
let saveToken = '';

/** A tiny built app, so these tests do not depend on the esbuild bundle. */
function fakeApp(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'index.html'), '<html><head><!--scnym-token--></head></html>');
  writeFileSync(join(dir, 'main.js'), 'console.log(1)');
  return dir;
}

before(async () => {
  const root = tempDir();
  query = tempCopy(join(DEMO, 'target.zarr'));
  // A secret beside the dataset, and a symlink inside it pointing out: neither may be served.
  writeFileSync(join(root, 'secret.txt'), 'secret');
  symlinkSync(join(root, 'secret.txt'), join(query, 'link-out'));
  server = await startViewServer({
    query,
    reference: join(DEMO, 'reference.zarr'),
    appDir: fakeApp(),
  });
  cookie = await login(server);
  saveToken = pageToken((await http('/')).body.toString());
});

after(() => server.close());

/** What a browser does with the printed URL: `?token=` answers with the session cookie. */
async function login(s: ViewServer): Promise<string> {
  const r = await http(`/?token=${s.token}`, { port: s.port, cookie: '' });
  assert.equal(r.status, 303);
  const set = String(r.headers['set-cookie']);
  const m = /^([^=;]+=[^;]+);/.exec(set);
  assert.ok(m, set);
  return m[1];
}

async function queryGenes(): Promise<number> {
  const ad = await openAnnDataFile(query);
  try {
    return ad.nVars;
  } finally {
    await ad.close();
  }
}

function pageToken(page: string): string {
  const m = /<meta name="scnym-token" content="([0-9a-f]+)">/.exec(page);
  assert.ok(m, page);
  return m[1];
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Raw HTTP (fetch would normalise paths and forbid some headers). */
function http(
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** The Cookie header; default: this test's session ('' sends none). */
    cookie?: string;
    port?: number;
  } = {},
): Promise<Reply> {
  const cookieHeader = options.cookie ?? cookie;
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port ?? server.port,
        path,
        method: options.method ?? 'GET',
        headers: { ...(cookieHeader ? { cookie: cookieHeader } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', fail);
    req.end(options.body);
  });
}

function saveBody(extra: Partial<SaveRequest> = {}): SaveRequest {
  const codes = Int32Array.from({ length: N }, (_, i) => i % 2);
  const confidence = Float32Array.from({ length: N }, (_, i) => (i % 10) / 10);
  return {
    schema: 'scnym.save/1',
    obs: {
      scNym: { kind: 'categorical', codes: wireArray(codes), categories: ['A', 'B'] },
      scNym_confidence: { kind: 'float', values: wireArray(confidence) },
    },
    uns: { scNym_colors: ['#1f77b4', '#ff7f0e'] },
    ...extra,
  };
}

function post(body: unknown, headers: Record<string, string> = {}, cookieHeader?: string) {
  return http('/api/save', {
    method: 'POST',
    cookie: cookieHeader,
    headers: {
      'content-type': 'application/json',
      'x-scnym-token': saveToken,
      origin: `http://127.0.0.1:${server.port}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('binds 127.0.0.1 and serves the page with the save token and a CSP', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
  assert.equal(server.url, `${server.origin}/?token=${server.token}`);
  const r = await http('/');
  assert.equal(r.status, 200);
  assert.notEqual(saveToken, server.token, 'the save token is not the URL secret');
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /'wasm-unsafe-eval'/);
  assert.match(csp, /frame-ancestors 'none'/);
  const config = JSON.parse((await http('/api/config')).body.toString());
  assert.equal(config.query.url, '/data/query/');
  assert.equal(config.reference.url, '/data/reference/');
  assert.equal(JSON.stringify(config).includes(saveToken), false, 'token only in the page');
});

test('serves dataset files with range requests', async () => {
  const whole = await http('/data/query/.zmetadata');
  assert.equal(whole.status, 200);
  const meta = JSON.parse(whole.body.toString());
  assert.ok(meta.metadata['obs/.zattrs']);
  const part = await http('/data/query/.zmetadata', { headers: { range: 'bytes=2-11' } });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), whole.body.subarray(2, 12).toString());
  assert.equal(part.headers['content-range'], `bytes 2-11/${whole.body.length}`);
  const suffix = await http('/data/query/.zmetadata', { headers: { range: 'bytes=-5' } });
  assert.equal(suffix.body.toString(), whole.body.subarray(whole.body.length - 5).toString());
  const bad = await http('/data/query/.zmetadata', {
    headers: { range: `bytes=${whole.body.length + 10}-` },
  });
  assert.equal(bad.status, 416);
  assert.equal((await http('/data/query/no-such-key')).status, 404);
  assert.equal((await http('/data/reference/.zgroup')).status, 200);
});

test('refuses path traversal, encoded or not, and symlinks out of the dataset', async () => {
  for (const path of [
    '/data/query/../secret.txt',
    '/data/query/%2e%2e/secret.txt',
    '/data/query/obs/..%2f..%2fsecret.txt',
    '/data/query/%2e%2e%2f%2e%2e%2fpackage.json',
    '/app/%2e%2e/%2e%2e/package.json',
    '/data/query/..%5c..%5csecret.txt',
    '/data/query/%00',
  ]) {
    const r = await http(path);
    assert.ok([400, 403, 404].includes(r.status), `${path} → ${r.status}`);
    assert.equal(r.body.toString().includes('secret'), false, path);
  }
  const link = await http('/data/query/link-out');
  assert.equal(link.status, 403);
  assert.equal((await http('/etc/passwd')).status, 404);
  assert.equal((await http('/data/other/x')).status, 404);
  assert.equal((await http('/model/scnym.json')).status, 404, 'no model was given');
});

test('refuses foreign origins, cross-site fetches and foreign Host headers', async () => {
  const evil = await http('/data/query/.zmetadata', { headers: { origin: 'http://evil.test' } });
  assert.equal(evil.status, 403);
  const save = await post(saveBody(), { origin: 'http://evil.test' });
  assert.equal(save.status, 403);
  const site = await http('/api/config', { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(site.status, 403);
  const rebinding = await http('/', { headers: { host: `evil.test:${server.port}` } });
  assert.equal(rebinding.status, 403);
  const localhost = await http('/api/config', { headers: { host: `localhost:${server.port}` } });
  assert.equal(localhost.status, 200);
});

test('a save without the right token is refused', async () => {
  const none = await post(saveBody(), { 'x-scnym-token': '' });
  assert.equal(none.status, 403);
  const wrong = await post(saveBody(), { 'x-scnym-token': 'a'.repeat(saveToken.length) });
  assert.equal(wrong.status, 403);
  const ad = await openAnnDataFile(query);
  try {
    assert.equal((await ad.obsColumnNames()).includes('scNym'), false);
  } finally {
    await ad.close();
  }
});

test('a save outside the scNym keys is refused and writes nothing', async () => {
  const bodies: unknown[] = [
    { schema: 'scnym.save/1', obs: { cell_type: saveBody().obs!.scNym } },
    { schema: 'scnym.save/1', obs: { '../scNym': saveBody().obs!.scNym } },
    {
      schema: 'scnym.save/1',
      obsm: { X_umap: { data: wireArray(new Float32Array(2 * N)), shape: [N, 2] } },
    },
    { schema: 'scnym.save/1', uns: { cell_type_colors: ['#000000'] } },
    saveBody({ uns: { scNym_colors: ['#1f77b4'], neighbors: 'x' } }),
  ];
  for (const body of bodies) {
    const r = await post(body);
    assert.equal(r.status, 403, r.body.toString());
  }
  for (const body of [
    '{not json',
    { schema: 'other' },
    { schema: 'scnym.save/1' },
    { schema: 'scnym.save/1', path: '/etc/passwd', uns: { scNym_x: 'y' } },
    {
      schema: 'scnym.save/1',
      obs: {
        scNym: {
          kind: 'categorical',
          codes: wireArray(new Int32Array(N).fill(5)),
          categories: ['A'],
        },
      },
    },
  ]) {
    const r = await post(body);
    assert.equal(r.status, 400, r.body.toString());
  }
  const wrongLength = await post({
    schema: 'scnym.save/1',
    obs: { scNym_confidence: { kind: 'float', values: wireArray(new Float32Array(5)) } },
  });
  assert.equal(wrongLength.status, 422, 'core refuses a column of the wrong length');
  const ad = await openAnnDataFile(query);
  try {
    const names = await ad.obsColumnNames();
    assert.equal(names.includes('scNym'), false);
    assert.equal(names.includes('scNym_confidence'), false);
  } finally {
    await ad.close();
  }
});

test('a good save writes the scNym keys atomically and can be repeated', async () => {
  for (let round = 0; round < 2; round++) {
    const r = await post(saveBody());
    assert.equal(r.status, 200, r.body.toString());
    const reply = JSON.parse(r.body.toString());
    assert.deepEqual(reply.written, ['obs/scNym', 'obs/scNym_confidence', 'uns/scNym_colors']);
  }
  const ad = await openAnnDataFile(query);
  try {
    const labels = await ad.obsColumn('scNym');
    assert.equal(labels.kind, 'categorical');
    if (labels.kind === 'categorical') {
      assert.deepEqual(labels.categories, ['A', 'B']);
      assert.equal(labels.codes[3], 1);
    }
    const conf = await ad.obsColumn('scNym_confidence');
    assert.equal(conf.kind, 'numeric');
    if (conf.kind === 'numeric') assert.ok(Math.abs(conf.values[7] - 0.7) < 1e-6);
    const truth = await ad.obsColumn('cell_type');
    assert.equal(truth.kind, 'categorical', 'existing columns are untouched');
  } finally {
    await ad.close();
  }
});

test('a read-only server refuses saves', async () => {
  const ro = await startViewServer({ query, appDir: fakeApp(), writable: false });
  try {
    const roCookie = await login(ro);
    const config = await http('/api/config', { port: ro.port, cookie: roCookie });
    assert.equal(JSON.parse(config.body.toString()).query.writable, false);
    const roToken = pageToken(
      (await http('/', { port: ro.port, cookie: roCookie })).body.toString(),
    );
    const r = await http('/api/save', {
      port: ro.port,
      cookie: roCookie,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scnym-token': roToken },
      body: JSON.stringify(saveBody()),
    });
    assert.equal(r.status, 403);
  } finally {
    await ro.close();
  }
});

// --- the session: only the printed URL opens the viewer ------------------------------------

const REFUSED = /open the URL printed by scnym view/;

test('without the session cookie the page, config, data, app files and save are refused', async () => {
  for (const path of [
    '/',
    '/index.html',
    '/api/config',
    '/data/query/.zmetadata',
    '/data/query/obs/.zattrs',
    '/data/reference/.zgroup',
    '/app/main.js',
  ]) {
    const r = await http(path, { cookie: '' });
    assert.equal(r.status, 403, path);
    assert.match(r.body.toString(), REFUSED, path);
    assert.equal(r.body.toString().includes(saveToken), false, path);
  }
  // A browser tab gets a short page saying what to do.
  const tab = await http('/', {
    cookie: '',
    headers: { accept: 'text/html', 'sec-fetch-dest': 'document' },
  });
  assert.equal(tab.status, 403);
  assert.match(String(tab.headers['content-type']), /text\/html/);
  assert.match(tab.body.toString(), REFUSED);
  // The page's save token alone is not enough either.
  const before = treeDigest(query);
  const save = await post(saveBody({ uns: { scNym_colors: ['#000000'] } }), {}, '');
  assert.equal(save.status, 403);
  assert.equal(treeDigest(query), before, 'nothing written');
});

test('?token= sets an HttpOnly, SameSite=Strict cookie named for this server and redirects without the token', async () => {
  const r = await http(`/?token=${server.token}&backend=wasm`, { cookie: '' });
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, '/?backend=wasm', 'the token leaves the address bar');
  const set = String(r.headers['set-cookie']);
  assert.match(
    set,
    new RegExp(`^scnym-${server.port}=[0-9a-f]{48}; HttpOnly; SameSite=Strict; Path=/$`),
  );
  assert.equal(server.cookieName, `scnym-${server.port}`);
  assert.equal(set.includes(server.token), false, 'the cookie is not the URL secret');
  const session = set.split(';')[0];
  const page = await http('/', { cookie: session });
  assert.equal(page.status, 200);
  assert.match(page.body.toString(), /name="scnym-token"/);
  assert.equal((await http('/api/config', { cookie: session })).status, 200);
  assert.equal((await http('/data/query/.zgroup', { cookie: session })).status, 200);
  const deep = await http(`/api/config?token=${server.token}`, { cookie: '' });
  assert.equal(deep.status, 303);
  assert.equal(deep.headers.location, '/api/config');
});

test("a wrong token, a wrong cookie or another server's cookie is refused; two servers do not clash", async () => {
  const wrongToken = await http(`/?token=${'0'.repeat(48)}`, { cookie: '' });
  assert.equal(wrongToken.status, 403);
  assert.equal(wrongToken.headers['set-cookie'], undefined);
  assert.match(wrongToken.body.toString(), REFUSED);
  assert.equal((await http('/?token=', { cookie: '' })).status, 403);
  const forged = `${server.cookieName}=${'0'.repeat(48)}`;
  assert.equal((await http('/api/config', { cookie: forged })).status, 403);
  // Cookies on 127.0.0.1 are shared by every port: a browser sends both servers' cookies to each.
  const other = await startViewServer({ query, appDir: fakeApp(), writable: false });
  try {
    const otherCookie = await login(other);
    assert.notEqual(otherCookie.split('=')[0], cookie.split('=')[0]);
    assert.equal((await http('/api/config', { cookie: otherCookie })).status, 403);
    const both = `${otherCookie}; ${cookie}`;
    assert.equal((await http('/api/config', { cookie: both })).status, 200);
    const bothOther = await http('/api/config', {
      port: other.port,
      cookie: `${cookie}; ${otherCookie}`,
    });
    assert.equal(bothOther.status, 200);
  } finally {
    await other.close();
  }
});

// --- error bodies and the save body's size ----------------------------------------------------

/** An absolute path of this machine in a response body (the dataset's folder, the repository, …). */
function assertNoPath(body: string, what: string): void {
  for (const dir of [tmpdir(), REPO, query, process.env.HOME ?? '/nonexistent']) {
    assert.equal(body.includes(dir), false, `${what} names ${dir}: ${body}`);
  }
  assert.doesNotMatch(body, /(^|[\s"'(])\/[\w.-]+\/[\w.-]+/, `${what}: ${body}`);
}

test('no error body names an absolute path; core errors name the dataset by its base name', async () => {
  const wrongLength = await post({
    schema: 'scnym.save/1',
    obs: { scNym_confidence: { kind: 'float', values: wireArray(new Float32Array(5)) } },
  });
  assert.equal(wrongLength.status, 422);
  const reply = JSON.parse(wrongLength.body.toString());
  assert.match(reply.error, /target\.zarr/, 'the dataset is named');
  assertNoPath(wrongLength.body.toString(), '422');
  for (const [path, options] of [
    ['/data/query/no-such-key', {}],
    ['/data/query/link-out', {}],
    ['/api/config', { cookie: '' }],
    ['/%zz', {}],
  ] as const) {
    const r = await http(path, options);
    assert.ok(r.status >= 400, path);
    assertNoPath(r.body.toString(), path);
  }
  assertNoPath((await post('{not json')).body.toString(), '400');
});

test(
  'a save body larger than a save of this query can be is refused by its Content-Length, unread',
  { timeout: 20_000 },
  async () => {
    // 1039 cells: label codes, confidences, novelty, a few classes' probabilities and a 256-d
    // X_scnym, and the model (the demo reference's genes × 256, and its linear head of genes ×
    // up to 500 classes picked in the page, ~27 MB of base64 of it).
    // Declares 50 MB (the case) and sends none of it: the answer comes without waiting
    // for the body (a server that read first would wait here until the test times out).
    const declared = 50 * 1024 * 1024;
    assert.ok(server.maxSaveBytes < declared, `cap ${server.maxSaveBytes}`);
    const reply = await new Promise<Reply>((ok, fail) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/save',
          method: 'POST',
          headers: {
            cookie,
            'content-type': 'application/json',
            'content-length': String(declared),
            'x-scnym-token': saveToken,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
            req.destroy();
          });
        },
      );
      req.on('error', fail);
      req.flushHeaders();
    });
    assert.equal(reply.status, 413);
    assert.match(reply.body.toString(), /larger than a save of target\.zarr can be/);
  },
);

test(
  'a streamed save body is refused once it passes the cap, before it ends',
  { timeout: 20_000 },
  async () => {
    // No Content-Length: the body is streamed past the cap and never ended, so only a server
    // that stops at the cap can answer (one that read it all would wait until the timeout).
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const enough = server.maxSaveBytes + 4 * chunk.length;
    const status = await new Promise<number>((ok, fail) => {
      let answered = false;
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/save',
          method: 'POST',
          headers: { cookie, 'content-type': 'application/json', 'x-scnym-token': saveToken },
        },
        (res) => {
          answered = true;
          res.resume();
          ok(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', (err) => (answered ? undefined : fail(err)));
      let written = 0;
      const pump = () => {
        while (!answered && written < enough) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
      };
      pump();
    });
    assert.equal(status, 413);
  },
);

test('a full save of the panel (probabilities and X_scnym) fits under the cap', async () => {
  const classes = ['B', 'CD14+Mono', 'CD4T', 'CD8T', 'Dendritic', 'FCGR3A+Mono', 'NK'];
  const body = saveBody({
    obsm: {
      scNym_probabilities: { data: wireArray(new Float32Array(N * 7).fill(1 / 7)), shape: [N, 7] },
      X_scnym: { data: wireArray(new Float32Array(N * 256).fill(0.5)), shape: [N, 256] },
    },
    uns: {
      scNym_classes: classes,
      scNym_colors: classes.map(() => '#1f77b4'),
      scNym_train_results: { class_names: classes, n_genes: 6998, tool: 'scnym-js test' },
    },
  });
  const text = JSON.stringify(body);
  assert.ok(text.length < server.maxSaveBytes, `${text.length} ≥ ${server.maxSaveBytes}`);
  const r = await post(text);
  assert.equal(r.status, 200, r.body.toString());
});

test("an error's hint is said once, though core's message already ends with it", () => {
  const err = new AnnDataError('cannot list the elements of this store', {
    file: 'my.zarr',
    element: 'obsm',
    hint: 'consolidate its metadata (Python: zarr.consolidate_metadata(path)) or open a local copy',
  });
  const text = withHint(err.message, err.hint);
  assert.equal(text.split('consolidate its metadata').length - 1, 1, text);
  assert.equal(withHint('plain', 'do this'), 'plain (do this)');
});

// --- stores anndata writes: no consolidated metadata --------------------------------------------

test('a store written by anndata (not consolidated) gets its .zmetadata built in memory, after a save too', async () => {
  const dir = tempDir();
  const plain = join(dir, 'plain.zarr');
  anndataRewrite(join(DEMO, 'target.zarr'), plain);
  assert.equal(existsSync(join(plain, '.zmetadata')), false, 'anndata does not consolidate');
  // What zarr itself would write, on a copy.
  const reference = tempCopy(plain, 'consolidated.zarr');
  zarrConsolidate(reference);
  const expected = JSON.parse(readFileSync(join(reference, '.zmetadata'), 'utf8'));

  const s = await startViewServer({ query: plain, appDir: fakeApp() });
  try {
    const c = await login(s);
    const get = (path: string) => http(path, { port: s.port, cookie: c });
    const digest = treeDigest(plain);
    const r = await get('/data/query/.zmetadata');
    assert.equal(r.status, 200, r.body.toString());
    const built = JSON.parse(r.body.toString());
    assert.equal(built.zarr_consolidated_format, 1);
    for (const [key, doc] of Object.entries(expected.metadata)) {
      assert.deepEqual(built.metadata[key], doc, key);
    }
    assert.equal((await get('/data/query/zarr.json')).status, 404, 'a v2 store has no zarr.json');
    assert.equal(treeDigest(plain), digest, 'nothing written into the store');

    // A save adds keys: the next .zmetadata lists them (and the store still has none of its own).
    const page = pageToken((await get('/')).body.toString());
    const saved = await http('/api/save', {
      port: s.port,
      cookie: c,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scnym-token': page },
      body: JSON.stringify(saveBody()),
    });
    assert.equal(saved.status, 200, saved.body.toString());
    const after = JSON.parse((await get('/data/query/.zmetadata')).body.toString());
    assert.ok(after.metadata['obs/scNym/.zattrs'], 'the saved column is listed');
    assert.ok(after.metadata['obs/scNym/codes/.zarray']);
    assert.ok(after.metadata['uns/scNym_colors/.zarray']);
    assert.ok(after.metadata['obs/.zattrs']['column-order'].includes('scNym'));
    assert.equal(existsSync(join(plain, '.zmetadata')), false);
  } finally {
    await s.close();
  }
});

test('error text: datasets by base name, paths beside or elsewhere cut, keys and URLs kept', () => {
  const known = ['/home/ann/my data/q.zarr', 'rel/ref.h5ad'];
  const cut = (text: string) => withoutPaths(text, known);
  assert.equal(cut("/home/ann/my data/q.zarr: obs: no column 'x'"), "q.zarr: obs: no column 'x'");
  assert.equal(
    cut('cannot rename /home/ann/my data/.q.zarr.scnym-tmp-1 into place'),
    'cannot rename .q.zarr.scnym-tmp-1 into place',
  );
  assert.equal(cut('EACCES: open "/srv/lab/weights/x.bin"'), 'EACCES: open "x.bin"');
  assert.equal(cut(`${join(process.cwd(), 'rel', 'ref.h5ad')}: bad`), 'ref.h5ad: bad');
  for (const kept of [
    'obs/scNym_confidence: 5 values for 1039 cells',
    'refusing to write obs/../scNym',
    'see http://127.0.0.1:8080/data/query/ and X/indptr',
    'keys must be scNym_<name>',
  ]) {
    assert.equal(cut(kept), kept);
  }
});

test('a model folder: the save cap follows its classes; a folder without a model card is refused', async () => {
  const dir = tempDir();
  const model = join(dir, 'model');
  mkdirSync(model);
  // More classes and a wider layer than a source picked in the page is allowed.
  const classes = Array.from({ length: PICKED_MAX_CLASSES + 100 }, (_, i) => `type${i}`);
  writeFileSync(
    join(model, 'scnym.json'),
    JSON.stringify({ format: 'scnym-model', classNames: classes, network: { nHidden: 512 } }),
  );
  const s = await startViewServer({ query, model, appDir: fakeApp(), writable: false });
  try {
    // The model a save carries has the query's genes (the card names none).
    const nVars = await queryGenes();
    assert.equal(s.maxSaveBytes, maxSaveBytes(N, PICKED_MAX_CLASSES + 100, 512, nVars));
  } finally {
    await s.close();
  }
  writeFileSync(join(model, 'scnym.json'), '{"format": "not json');
  await assert.rejects(
    startViewServer({ query, model, appDir: fakeApp() }),
    /not an scNym model card/,
  );
});

test('a query alone: the save cap fits a reference or model picked in the page', async () => {
  const s = await startViewServer({ query, appDir: fakeApp(), writable: false });
  try {
    // The widest preset's X_scnym is 256-d (project default and original alike).
    assert.equal(s.maxSaveBytes, maxSaveBytes(N, PICKED_MAX_CLASSES, 256, await queryGenes()));
  } finally {
    await s.close();
  }
});

test('a Zarr v3 store without consolidated metadata gets a consolidated root zarr.json', async () => {
  const store = tempCopy(join(ensureFixtures(), 'v3.zarr'));
  const onDisk = JSON.parse(readFileSync(join(store, 'zarr.json'), 'utf8'));
  assert.equal(onDisk.consolidated_metadata ?? null, null);
  const digest = treeDigest(store);
  const s = await startViewServer({ query: store, appDir: fakeApp(), writable: false });
  try {
    const c = await login(s);
    const r = await http('/data/query/zarr.json', { port: s.port, cookie: c });
    assert.equal(r.status, 200);
    const root = JSON.parse(r.body.toString());
    assert.deepEqual(root.attributes, onDisk.attributes);
    assert.equal(root.consolidated_metadata.kind, 'inline');
    const meta = root.consolidated_metadata.metadata;
    assert.equal(meta['obs'].node_type, 'group');
    assert.equal(meta['X'].node_type, 'group');
    assert.equal(meta['X/data'].node_type, 'array');
    assert.equal((await http('/data/query/.zmetadata', { port: s.port, cookie: c })).status, 404);
    assert.equal(treeDigest(store), digest, 'nothing written into the store');
  } finally {
    await s.close();
  }
});

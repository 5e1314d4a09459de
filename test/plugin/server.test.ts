// The `scnym view` server's guards: it serves only the app and the given datasets (range reads
// included), refuses path traversal, foreign origins and hosts, and writes only scNym's keys
// into the opened dataset, only with the per-run token; a good save round-trips through core.
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openAnnDataFile } from '@scnym/core/node';
import { startViewServer, type ViewServer } from '../../plugin/src/server/index.js';
import { wireArray, type SaveRequest } from '../../plugin/src/shared/save-format.js';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const N = 1039;
let server: ViewServer;
let query: string;

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
});

after(() => server.close());

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Raw HTTP (fetch would normalise paths and forbid some headers). */
function http(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
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

function post(body: unknown, headers: Record<string, string> = {}) {
  return http('/api/save', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-scnym-token': server.token,
      origin: `http://127.0.0.1:${server.port}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('binds 127.0.0.1 and serves the page with the token and a CSP', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const r = await http('/');
  assert.equal(r.status, 200);
  assert.ok(r.body.toString().includes(`content="${server.token}"`));
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /'wasm-unsafe-eval'/);
  assert.match(csp, /frame-ancestors 'none'/);
  const config = JSON.parse((await http('/api/config')).body.toString());
  assert.equal(config.query.url, '/data/query/');
  assert.equal(config.reference.url, '/data/reference/');
  assert.equal(JSON.stringify(config).includes(server.token), false, 'token only in the page');
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
  const wrong = await post(saveBody(), { 'x-scnym-token': 'a'.repeat(server.token.length) });
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
    const page = await new Promise<string>((ok) => {
      request({ host: '127.0.0.1', port: ro.port, path: '/api/config' }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => ok(s));
      }).end();
    });
    assert.equal(JSON.parse(page).query.writable, false);
    const r = await new Promise<number>((ok) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: ro.port,
          path: '/api/save',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-scnym-token': ro.token },
        },
        (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        },
      );
      req.end(JSON.stringify(saveBody()));
    });
    assert.equal(r, 403);
  } finally {
    await ro.close();
  }
});

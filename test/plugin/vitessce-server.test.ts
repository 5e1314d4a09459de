// `scnym view --host vitessce`'s server side: the page is the Vitessce host's (with the per-run
// save token, behind the same session cookie), its files are served under /vitessce/ with the same guards as the app's, the app's
// workers stay under /app/, and .h5ad queries or an unbuilt host are refused with a reason.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startViewServer, type ViewServer } from '../../plugin/src/server/index.js';
import { runScnym } from '../helpers/cli.js';
import { REPO } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const servers: ViewServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

function builtDir(page: string, script: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'index.html'), `<html><head><!--scnym-token--></head>${page}</html>`);
  writeFileSync(join(dir, 'main.js'), script);
  return dir;
}

/** Each server's session cookie, from its URL's ?token= (as a browser gets it). */
const sessions = new Map<ViewServer, string>();

function raw(
  server: ViewServer,
  path: string,
  cookie?: string,
): Promise<{ status: number; body: string; setCookie?: string[] }> {
  return new Promise((ok, fail) => {
    const headers = cookie ? { cookie } : {};
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        ok({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] }),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

async function get(server: ViewServer, path: string): Promise<{ status: number; body: string }> {
  let cookie = sessions.get(server);
  if (!cookie) {
    const login = await raw(server, `/?token=${server.token}`);
    assert.equal(login.status, 303);
    cookie = String(login.setCookie).split(';')[0];
    sessions.set(server, cookie);
  }
  return raw(server, path, cookie);
}

test('--host vitessce: the Vitessce page with the token, its files, and the app workers', async () => {
  const secretDir = tempDir();
  writeFileSync(join(secretDir, 'secret.txt'), 'secret');
  const vitessceDir = builtDir('vitessce page', 'vitessce()');
  symlinkSync(join(secretDir, 'secret.txt'), join(vitessceDir, 'link-out'));
  const server = await startViewServer({
    query: join(DEMO, 'target.zarr'),
    reference: join(DEMO, 'reference.zarr'),
    appDir: builtDir('scnym app', 'app()'),
    vitessceDir,
    host: 'vitessce',
    writable: false,
  });
  servers.push(server);
  const page = await get(server, '/');
  assert.equal(page.status, 200);
  assert.match(page.body, /vitessce page/);
  assert.match(page.body, /<meta name="scnym-token" content="[0-9a-f]{48}">/);
  assert.equal((await raw(server, '/vitessce/main.js')).status, 403, 'no session, no page files');
  assert.equal((await get(server, '/vitessce/main.js')).body, 'vitessce()');
  assert.equal((await get(server, '/app/main.js')).body, 'app()', 'the workers come from /app/');
  for (const path of [
    '/vitessce/../../secret.txt',
    '/vitessce/%2e%2e/%2e%2e/secret.txt',
    '/vitessce/..%2f..%2fsecret.txt',
    '/vitessce/link-out',
  ]) {
    const r = await get(server, path);
    assert.ok([400, 403, 404].includes(r.status), `${path} → ${r.status}`);
    assert.equal(r.body.includes('secret'), false, path);
  }
  assert.equal((await get(server, '/vitessce/nothing.js')).status, 404);
  assert.equal((await get(server, '/data/query/.zattrs')).status, 200);
  // the default host never serves /vitessce/
  const plain = await startViewServer({
    query: join(DEMO, 'target.zarr'),
    appDir: builtDir('scnym app', 'app()'),
    vitessceDir: builtDir('vitessce page', 'vitessce()'),
  });
  servers.push(plain);
  assert.match((await get(plain, '/')).body, /scnym app/);
  assert.equal((await get(plain, '/vitessce/main.js')).status, 404);
});

test('--host vitessce refuses .h5ad queries and says when the host is not built', async () => {
  const dir = tempDir();
  const h5ad = join(dir, 'q.h5ad');
  writeFileSync(h5ad, 'not really hdf5');
  await assert.rejects(
    startViewServer({
      query: h5ad,
      appDir: builtDir('', ''),
      vitessceDir: builtDir('', ''),
      host: 'vitessce',
    }),
    /opens AnnData \.zarr folders only/,
  );
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(
    startViewServer({
      query: join(DEMO, 'target.zarr'),
      appDir: builtDir('', ''),
      vitessceDir: empty,
      host: 'vitessce',
    }),
    /the Vitessce host is not built .*run npm run build/,
  );
});

test('scnym view --host: only scnym or vitessce', () => {
  const bad = runScnym(['view', '--host', 'cellxgene', '--no-open'], 30_000);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--host must be scnym or vitessce/);
  assert.match(runScnym(['view', '--help'], 30_000).stdout, /--host NAME/);
});

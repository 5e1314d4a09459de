/**
 * The local server behind `scnym view`: serves the built viewer (or, with `host: 'vitessce'`, the
 * Vitessce page of @scnym/vitessce-host, which uses the viewer's workers), the datasets it was given
 * (read-only, with HTTP range requests, so zarr chunks and h5ad bytes load lazily) and one
 * guarded write endpoint, `POST /api/save`, that adds scNym's keys to the opened query through
 * core's atomic writer.
 *
 * Guards: binds 127.0.0.1 only; the Host header must name this server (DNS rebinding); a
 * request carrying a foreign Origin is refused; writes need the per-run token (a random value
 * put into the page itself, which other origins cannot read) and may only touch scNym keys;
 * paths are resolved inside the served roots, never outside them (no `..`, no symlinks out).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeAnnotationsToFile } from '@scnym/core/node';
import { decodeSaveRequest, SaveRejected, writtenKeys } from './save.js';
import type { ViewerConfig } from '../shared/config.js';

export type { ViewerConfig } from '../shared/config.js';
export { isScnymKey } from './save.js';

export interface ViewServerOptions {
  /** The dataset to show and annotate: a `.zarr` folder or an `.h5ad` file. */
  query: string;
  /** A labelled reference to offer in the Transfer-labels panel. */
  reference?: string;
  /** A saved scNym model folder (scnym.json, model.json, weights.bin) to offer instead. */
  model?: string;
  /** Reference column suggested as the label column. */
  labelKey?: string;
  /** Epochs the panel proposes (default: the panel's own). */
  epochs?: number;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The built app (index.html, app.js, worker bundles, wasm/); default: next to this file. */
  appDir?: string;
  /** Allow Save into the query (default true). */
  writable?: boolean;
  /**
   * The page: our own viewer (`scnym`, default) or Vitessce with the Transfer-labels plugin view
   * (`vitessce`, from @scnym/vitessce-host; .zarr queries only). Both use the app's workers.
   */
  host?: 'scnym' | 'vitessce';
  /** The built Vitessce page (index.html, main.js, …); default: @scnym/vitessce-host's dist/. */
  vitessceDir?: string;
  /** Called for each completed save (for logs). */
  onSave?: (keys: string[]) => void;
}

export interface ViewServer {
  url: string;
  port: number;
  token: string;
  server: Server;
  close(): Promise<void>;
}

const MAX_SAVE_BYTES = 512 * 1024 * 1024;
const MODEL_FILES = new Set(['scnym.json', 'model.json', 'weights.bin']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Scripts only from this server. 'unsafe-eval' is needed by regl (it compiles its draw commands
 * with `new Function`) and by numcodecs' Blosc decoder (Emscripten/embind); 'wasm-unsafe-eval'
 * by TF.js's WASM backend, Blosc and h5wasm. No inline scripts, no other origins.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Dataset {
  id: 'query' | 'reference';
  path: string;
  format: 'zarr' | 'h5ad';
}

async function dataset(id: Dataset['id'], path: string): Promise<Dataset> {
  const abs = resolve(path);
  const info = await stat(abs).catch(() => undefined);
  if (!info) throw new Error(`${path}: no such file or folder`);
  return { id, path: await realpath(abs), format: info.isDirectory() ? 'zarr' : 'h5ad' };
}

function defaultAppDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'app');
}

/** @scnym/vitessce-host's dist/ (a workspace beside this package), found through node_modules. */
function defaultVitessceDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('@scnym/vitessce-host/package.json')), 'dist');
  } catch {
    return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'vitessce', 'dist');
  }
}

async function builtDir(dir: string, what: string): Promise<{ dir: string; index: string }> {
  const notBuilt = (path: string) =>
    new Error(`${what} is not built (no ${path}); run npm run build`);
  const real = await realpath(resolve(dir)).catch(() => {
    throw notBuilt(dir);
  });
  const index = await readFile(join(real, 'index.html'), 'utf8').catch(() => {
    throw notBuilt(join(real, 'index.html'));
  });
  return { dir: real, index };
}

/** Starts the server on 127.0.0.1; resolves once it listens. */
export async function startViewServer(options: ViewServerOptions): Promise<ViewServer> {
  const app = await builtDir(options.appDir ?? defaultAppDir(), 'the viewer');
  const appDir = app.dir;
  const query = await dataset('query', options.query);
  const vitessce =
    options.host === 'vitessce'
      ? await builtDir(options.vitessceDir ?? defaultVitessceDir(), 'the Vitessce host')
      : null;
  if (vitessce && query.format !== 'zarr') {
    throw new Error(
      `${options.query}: the Vitessce host opens AnnData .zarr folders only (Vitessce reads .h5ad only through a separate reference spec); use the scNym host for .h5ad files`,
    );
  }
  const indexHtml = vitessce ? vitessce.index : app.index;
  const reference = options.reference ? await dataset('reference', options.reference) : undefined;
  const modelDir = options.model ? await realpath(resolve(options.model)) : undefined;
  if (modelDir && !(await stat(join(modelDir, 'scnym.json')).catch(() => undefined))) {
    throw new Error(`${options.model}: not an scNym model folder (no scnym.json)`);
  }
  const datasets = new Map<string, Dataset>([[query.id, query]]);
  if (reference) datasets.set(reference.id, reference);
  const token = randomBytes(24).toString('hex');
  const writable = options.writable ?? true;
  let port = 0;
  let saving: Promise<unknown> = Promise.resolve();

  const config = (): ViewerConfig => ({
    query: { name: basename(query.path), url: dataUrl(query), format: query.format, writable },
    reference: reference
      ? { name: basename(reference.path), url: dataUrl(reference), format: reference.format }
      : null,
    model: modelDir ? { name: basename(modelDir), url: '/model/' } : null,
    labelKey: options.labelKey ?? null,
    epochs: options.epochs ?? null,
  });

  const page = indexHtml.replace(
    '<!--scnym-token-->',
    `<meta name="scnym-token" content="${token}">`,
  );

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: (err as Error).message });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
    const host = req.headers.host;
    if (!host || !origins.includes(`http://${host}`)) {
      return send(res, 403, { ok: false, error: 'unexpected Host header' });
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.includes(origin)) {
      return send(res, 403, { ok: false, error: 'foreign origin refused' });
    }
    const fetchSite = req.headers['sec-fetch-site'];
    if (fetchSite === 'cross-site' || fetchSite === 'same-site') {
      return send(res, 403, { ok: false, error: 'cross-site request refused' });
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(res, 400, { ok: false, error: 'bad URL' });
    }
    if (pathname.includes('\0') || pathname.includes('\\')) {
      return send(res, 400, { ok: false, error: 'bad path' });
    }
    if (req.method === 'POST' && pathname === '/api/save') return save(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, { ok: false, error: 'method not allowed' });
    }
    if (pathname === '/' || pathname === '/index.html') {
      res.writeHead(200, {
        ...securityHeaders(),
        'content-type': TYPES['.html'],
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : page);
      return;
    }
    if (pathname === '/api/config') return send(res, 200, config());
    if (pathname === '/favicon.ico') {
      res.writeHead(204, securityHeaders());
      res.end();
      return;
    }
    if (pathname.startsWith('/app/')) {
      return serveFile(req, res, appDir, pathname.slice('/app/'.length));
    }
    if (vitessce && pathname.startsWith('/vitessce/')) {
      return serveFile(req, res, vitessce.dir, pathname.slice('/vitessce/'.length));
    }
    if (pathname.startsWith('/model/') && modelDir) {
      const name = pathname.slice('/model/'.length);
      if (!MODEL_FILES.has(name)) return send(res, 404, { ok: false, error: 'not found' });
      return serveFile(req, res, modelDir, name);
    }
    const m = /^\/data\/(query|reference)(\/.*)?$/.exec(pathname);
    if (m) {
      const ds = datasets.get(m[1]);
      if (!ds) return send(res, 404, { ok: false, error: 'not found' });
      if (ds.format === 'h5ad') {
        if (m[2] && m[2] !== '/') return send(res, 404, { ok: false, error: 'not found' });
        return serveFile(req, res, dirname(ds.path), basename(ds.path));
      }
      return serveFile(req, res, ds.path, (m[2] ?? '/').slice(1));
    }
    return send(res, 404, { ok: false, error: 'not found' });
  }

  async function save(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!writable) return send(res, 403, { ok: false, error: 'this server was started read-only' });
    const given = req.headers['x-scnym-token'];
    if (typeof given !== 'string' || !sameSecret(given, token)) {
      return send(res, 403, { ok: false, error: 'missing or wrong token' });
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(res, 415, { ok: false, error: 'expected application/json' });
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_SAVE_BYTES));
    } catch (err) {
      const tooBig = err instanceof SaveRejected;
      return send(res, tooBig ? 413 : 400, {
        ok: false,
        error: tooBig ? err.message : 'the body is not valid JSON',
      });
    }
    let annotations;
    try {
      annotations = decodeSaveRequest(body);
    } catch (err) {
      if (err instanceof SaveRejected) {
        return send(res, err.status, { ok: false, error: err.message, hint: err.hint });
      }
      throw err;
    }
    // One write at a time: core's writer is atomic per element, not across concurrent calls.
    const run = saving.then(() =>
      writeAnnotationsToFile(query.path, annotations, { overwrite: true }),
    );
    saving = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      const e = err as Error & { hint?: string };
      return send(res, 422, { ok: false, error: e.message, hint: e.hint });
    }
    const keys = writtenKeys(annotations);
    options.onSave?.(keys);
    return send(res, 200, { ok: true, written: keys });
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    token,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

function dataUrl(ds: Dataset): string {
  return ds.format === 'zarr' ? `/data/${ds.id}/` : `/data/${ds.id}`;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function securityHeaders(csp = CSP): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'x-frame-options': 'DENY',
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        fail(new SaveRejected(`the body exceeds ${limit} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

/**
 * Serves `rel` inside `root`. Refuses `..` segments and anything that resolves (through
 * symlinks too) outside the root; supports a single `Range: bytes=…` range.
 */
async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  root: string,
  rel: string,
): Promise<void> {
  const segments = rel.split('/');
  if (segments.some((s) => s === '..' || s === '.') || isAbsolute(rel)) {
    return send(res, 403, { ok: false, error: 'path outside the served folder' });
  }
  const target = resolve(root, rel);
  const inside = (p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
  if (!inside(target))
    return send(res, 403, { ok: false, error: 'path outside the served folder' });
  const real = await realpath(target).catch(() => undefined);
  if (!real) return send(res, 404, { ok: false, error: 'not found' });
  if (!inside(real)) return send(res, 403, { ok: false, error: 'path outside the served folder' });
  const info = await stat(real);
  if (!info.isFile()) return send(res, 404, { ok: false, error: 'not found' });
  const headers: Record<string, string> = {
    ...securityHeaders(),
    'content-type': TYPES[extname(real)] ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    'cache-control': 'no-cache',
  };
  const size = info.size;
  const range = req.headers.range;
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    if (m[1] === '') {
      const suffix = Number(m[2]);
      start = Math.max(0, size - suffix);
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start > end || start >= size) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['content-length'] = String(Math.max(0, end - start + 1));
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  createReadStream(real, { start, end }).pipe(res);
}

/**
 * The local server behind `scnym view`: serves the built viewer (or, with `host: 'vitessce'`, the
 * Vitessce page of @scnym/vitessce-host, which uses the viewer's workers), the datasets it was given
 * (read-only, with HTTP range requests, so zarr chunks and h5ad bytes load lazily) and one
 * guarded write endpoint, `POST /api/save`, that adds scNym's keys to the opened query through
 * core's atomic writer (and the model beside it: saved.ts).
 *
 * Guards: binds 127.0.0.1 only; every request needs this run's session cookie, which only the
 * printed URL's `?token=…` gives (as Jupyter does: on a shared machine such as an HPC login
 * node, any local user can reach 127.0.0.1); the Host header must name this server (DNS
 * rebinding); a request carrying a foreign Origin is refused; writes also need the save token
 * (put into the page, which other origins cannot read: the CSRF guard), may only touch scNym
 * keys and are capped at what a save of this query can need; paths are resolved inside the
 * served roots, never outside them (no `..`, no symlinks out); error bodies name files by their
 * base name only.
 */
import { constants as bufferConstants } from 'node:buffer';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnnData } from '@scnym/core';
import { consolidatedMetadataFile, openAnnDataFile } from '@scnym/core/node';
import { GeneService } from './gene-service.js';
import { withoutPaths } from './public-error.js';
import { decodeSaveModel, decodeSaveRequest, SaveRejected, writtenKeys } from './save.js';
import { modelBesidePath, recordedModel, savedState, writeSave } from './saved.js';
import type { ViewerConfig } from '../shared/config.js';
import { maxSaveBytes, PICKED_MAX_CLASSES } from '../shared/save-format.js';

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
  /** Where the query's gene-major cache goes (default: gene-cache.ts's cacheRoot()). */
  geneCacheDir?: string;
  /** Called for each completed save (for logs). */
  onSave?: (keys: string[]) => void;
}

export interface ViewServer {
  /** The URL to open: the server's root with `?token=…` (it sets the session cookie). */
  url: string;
  /** `http://127.0.0.1:PORT`, without the token. */
  origin: string;
  port: number;
  /** The secret in `url`. */
  token: string;
  /** The session cookie's name (one per server: cookies on 127.0.0.1 are shared by all ports). */
  cookieName: string;
  /** The largest `POST /api/save` body accepted, derived from the query's cells. */
  maxSaveBytes: number;
  server: Server;
  close(): Promise<void>;
}

/** The longest string Node makes, so the largest JSON body it can parse at all. */
const MAX_JSON_BYTES = bufferConstants.MAX_STRING_LENGTH;
const MODEL_FILES = new Set(['scnym.json', 'model.json', 'weights.bin']);
/** scnym.json lists genes and classes: megabytes at most. */
const MAX_CARD_BYTES = 64 * 1024 * 1024;

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
 * Scripts only from this server. 'unsafe-eval' is needed by numcodecs' Blosc decoder
 * (Emscripten/embind); 'wasm-unsafe-eval' by TF.js's WASM backend, Blosc and h5wasm. No inline
 * scripts, no other origins.
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

/**
 * Starts the server on 127.0.0.1; resolves once it listens. The datasets are opened with core's
 * readers first, so a file that is not readable AnnData is refused before anything listens.
 */
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
  const [nObs, nVars] = await withAnnData(options.query, async (ad) => [ad.nObs, ad.nVars]);
  // A save carries the model too: one input per gene, of the query's, reference's or model's.
  const nGenes = Math.max(nVars, await genesOf(options.reference, modelDir));
  // A reference or model picked in the page may replace the one given: its save fits too.
  const saveLimit = Math.min(
    MAX_JSON_BYTES,
    Math.max(
      maxSaveBytes(nObs, ...(await annotationShape(options.reference, modelDir)), nGenes),
      maxSaveBytes(nObs, PICKED_MAX_CLASSES, await widestPreset(), nGenes),
    ),
  );
  const datasets = new Map<string, Dataset>([[query.id, query]]);
  if (reference) datasets.set(reference.id, reference);
  // Three secrets: the URL's token (gives the cookie), the cookie's value (every request), the
  // save token (in the page; the CSRF guard on POST /api/save).
  const token = secret();
  const session = secret();
  const saveToken = secret();
  const writable = options.writable ?? true;
  let port = 0;
  let cookieName = '';
  let saving: Promise<unknown> = Promise.resolve();
  const genes = new GeneService(query.path, () => saving, options.geneCacheDir);
  const publicText = (text: string) =>
    withoutPaths(text, [
      query.path,
      reference?.path,
      modelDir,
      options.query,
      options.reference,
      options.model,
      appDir,
      vitessce?.dir,
    ]);

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
    `<meta name="scnym-token" content="${saveToken}">`,
  );

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        send(res, 500, { ok: false, error: publicText((err as Error).message ?? String(err)) });
      } else res.destroy();
    });
  });

  function hasSession(req: IncomingMessage): boolean {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === cookieName) {
        return sameSecret(part.slice(eq + 1).trim(), session);
      }
    }
    return false;
  }

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
    let url: URL;
    let pathname: string;
    try {
      url = new URL(req.url ?? '/', 'http://x');
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, { ok: false, error: 'bad URL' });
    }
    if (pathname.includes('\0') || pathname.includes('\\')) {
      return send(res, 400, { ok: false, error: 'bad path' });
    }
    const given = url.searchParams.get('token');
    if (given !== null && (req.method === 'GET' || req.method === 'HEAD')) {
      if (!sameSecret(given, token)) return refuse(req, res, 'wrong token');
      // The cookie, then the same URL without the token (out of the address bar and history).
      url.searchParams.delete('token');
      res.writeHead(303, {
        ...securityHeaders(),
        location: url.pathname + url.search,
        'set-cookie': `${cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    if (pathname === '/favicon.ico') {
      res.writeHead(204, securityHeaders());
      res.end();
      return;
    }
    // Everything else needs the cookie, the app's own files (/app/, /vitessce/) too: they hold no
    // data, but one rule for all paths leaves nothing to get wrong later, and the page's workers
    // send the cookie anyway (same-origin requests carry it).
    if (!hasSession(req)) return refuse(req, res, 'no session');
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
    if (pathname === '/api/genes') return send(res, 200, await genes.status());
    if (pathname === '/api/saved') {
      await saving; // never from a half-written save
      return send(res, 200, await withAnnData(query.path, (ad) => savedState(ad, query.path)));
    }
    if (pathname.startsWith('/saved-model/')) {
      // The model an earlier save wrote beside the query (a real folder, never a link).
      const name = pathname.slice('/saved-model/'.length);
      const dir = modelBesidePath(query.path);
      const info = await lstat(dir).catch(() => undefined);
      if (!MODEL_FILES.has(name) || !info?.isDirectory()) {
        return send(res, 404, { ok: false, error: 'not found' });
      }
      return serveFile(req, res, dir, name);
    }
    const gene = /^\/api\/genes\/(\d+)$/.exec(pathname);
    if (gene) {
      const values = url.searchParams.get('values') === 'raw' ? 'raw' : 'log1p';
      return sendFloats(req, res, await genes.gene(Number(gene[1]), values));
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
      const key = (m[2] ?? '/').slice(1);
      const consolidated = await consolidatedFor(ds, key);
      if (consolidated) return sendJsonBytes(req, res, consolidated);
      return serveFile(req, res, ds.path, key);
    }
    return send(res, 404, { ok: false, error: 'not found' });
  }

  /**
   * The browser cannot list a store, so it needs consolidated metadata; anndata's write_zarr
   * does not write it. For a store without it, the `.zmetadata` (v2) or consolidated root
   * `zarr.json` (v3) is built here from the folder on every request — after a Save too — and
   * never written into the user's store.
   */
  async function consolidatedFor(ds: Dataset, key: string): Promise<Uint8Array | undefined> {
    if (key !== '.zmetadata' && key !== 'zarr.json') return undefined;
    const present = await stat(join(ds.path, key)).then(
      () => true,
      () => false,
    );
    // v2: only when .zmetadata is missing; v3: only for an existing root zarr.json.
    if (present === (key === '.zmetadata')) return undefined;
    await saving; // never from a half-written save
    const built = await consolidatedMetadataFile(ds.path);
    return built?.key === key ? built.bytes : undefined;
  }

  /** 403 for a request without the session: a short page for a browser tab, JSON otherwise. */
  function refuse(req: IncomingMessage, res: ServerResponse, why: string): void {
    const advice = 'open the URL printed by scnym view (it ends in ?token=…)';
    const tab =
      req.headers['sec-fetch-dest'] === 'document' ||
      String(req.headers.accept ?? '').includes('text/html');
    if (!tab) return send(res, 403, { ok: false, error: `${why}: ${advice}` });
    res.writeHead(403, {
      ...securityHeaders(),
      'content-type': TYPES['.html'],
      'cache-control': 'no-store',
    });
    res.end(
      '<!doctype html><meta charset="utf-8"><title>scNym viewer</title>' +
        `<p>This scNym viewer only opens from its own link: ${advice}.</p>`,
    );
  }

  async function save(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!writable) return send(res, 403, { ok: false, error: 'this server was started read-only' });
    const given = req.headers['x-scnym-token'];
    if (typeof given !== 'string' || !sameSecret(given, saveToken)) {
      return send(res, 403, { ok: false, error: 'missing or wrong token' });
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(res, 415, { ok: false, error: 'expected application/json' });
    }
    // The rest of the body is discarded as it comes, never kept (Node drains a declared body;
    // readBody drops a streamed one); the connection stays open so the client reads this answer.
    const tooBig = () =>
      send(res, 413, {
        ok: false,
        error: `the body is larger than a save of ${basename(query.path)} can be (${saveLimit} bytes)`,
      });
    // Refused by its declared length before a byte is read, and while streaming otherwise.
    const declared = req.headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= saveLimit)) return tooBig();
    const text = await readBody(req, saveLimit);
    if (text === undefined) return tooBig();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return send(res, 400, { ok: false, error: 'the body is not valid JSON' });
    }
    let annotations;
    let model;
    try {
      annotations = decodeSaveRequest(body);
      model = decodeSaveModel(body);
    } catch (err) {
      if (err instanceof SaveRejected) {
        return send(res, err.status, { ok: false, error: err.message, hint: err.hint });
      }
      throw err;
    }
    // One write at a time: core's writer is atomic per element, not across concurrent calls.
    const run = saving.then(async () => {
      const recorded = model ? await withAnnData(query.path, recordedModel) : null;
      return writeSave(query.path, annotations, model, recorded);
    });
    saving = run.catch(() => undefined);
    let record;
    try {
      record = await run;
    } catch (err) {
      const e = err as Error & { hint?: string };
      return send(res, 422, {
        ok: false,
        error: publicText(e.message),
        hint: e.hint === undefined ? undefined : publicText(e.hint),
      });
    }
    const keys = writtenKeys(annotations);
    options.onSave?.(keys);
    if (!record) return send(res, 200, { ok: true, written: keys });
    const reason = record.reason === undefined ? {} : { reason: publicText(record.reason) };
    return send(res, 200, { ok: true, written: keys, model: { ...record, ...reason } });
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  cookieName = `scnym-${port}`;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    cookieName,
    maxSaveBytes: saveLimit,
    server,
    close: async () => {
      await genes.close();
      await new Promise<void>((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      });
    },
  };
}

function secret(): string {
  return randomBytes(24).toString('hex');
}

/** Opens an AnnData with core's reader, hands it to `use`, and closes it. */
async function withAnnData<T>(path: string, use: (ad: AnnData) => Promise<T>): Promise<T> {
  const ad = await openAnnDataFile(path);
  try {
    return await use(ad);
  } finally {
    await ad.close();
  }
}

/**
 * The most classes and the embedding width a prediction here can have, for the save cap: a
 * model's own (its scnym.json); for a reference, the largest label column the panel offers
 * (categories, or one class per cell for a string column) and core's network width.
 */
async function annotationShape(
  referencePath: string | undefined,
  modelDir: string | undefined,
): Promise<[classes: number, embeddingDim: number]> {
  if (modelDir) {
    const card = await readModelCard(modelDir);
    return [card.classNames.length, card.network.nHidden];
  }
  if (!referencePath) return [0, 0];
  const classes = await withAnnData(referencePath, async (ad) => {
    let most = 0;
    for (const name of await ad.obsColumnNames()) {
      const info = await ad.obsColumnInfo(name).catch(() => undefined);
      if (info?.kind === 'categorical') most = Math.max(most, info.nCategories ?? 0);
      else if (info?.kind === 'string') most = Math.max(most, ad.nObs);
    }
    return most;
  });
  return [classes, await widestPreset()];
}

/** The genes of the reference (its var) or of the model folder (its card), else 0. */
async function genesOf(referencePath?: string, modelDir?: string): Promise<number> {
  if (modelDir) return (await readModelCard(modelDir)).nGenes;
  return referencePath ? withAnnData(referencePath, async (ad) => ad.nVars) : 0;
}

/** The widest hidden layer of the presets (X_scnym's dimensions of a model trained here). */
async function widestPreset(): Promise<number> {
  // Loaded only here: the network's defaults live with TF.js in core's main entry.
  const { ORIGINAL, PROJECT_DEFAULT } = await import('@scnym/core');
  return Math.max(ORIGINAL.network.nHidden, PROJECT_DEFAULT.network.nHidden);
}

/** The classes and width of a model folder's scnym.json (a regular file inside it). */
async function readModelCard(
  dir: string,
): Promise<{ classNames: unknown[]; network: { nHidden: number }; nGenes: number }> {
  const file = join(dir, 'scnym.json');
  const real = await realpath(file);
  const info = await stat(real);
  const inside = real.startsWith(dir.endsWith(sep) ? dir : dir + sep);
  let card: { classNames?: unknown; network?: { nHidden?: unknown }; genes?: unknown } | undefined;
  if (inside && info.isFile() && info.size <= MAX_CARD_BYTES) {
    try {
      card = JSON.parse(await readFile(real, 'utf8')) ?? undefined;
    } catch {
      card = undefined; // reported below
    }
  }
  const classNames = card?.classNames;
  const nHidden = card?.network?.nHidden;
  if (!Array.isArray(classNames) || typeof nHidden !== 'number') {
    throw new Error(`${file}: not an scNym model card (no classNames or network)`);
  }
  const nGenes = Array.isArray(card?.genes) ? card.genes.length : 0;
  return { classNames, network: { nHidden }, nGenes };
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

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** A JSON document built in memory (consolidated metadata), whole: no ranges. */
function sendJsonBytes(req: IncomingMessage, res: ServerResponse, bytes: Uint8Array): void {
  res.writeHead(200, {
    ...securityHeaders(),
    'content-type': TYPES['.json'],
    'content-length': String(bytes.byteLength),
    'cache-control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** A gene's values, little-endian float32 (as the page's Float32Array reads them). */
function sendFloats(req: IncomingMessage, res: ServerResponse, values: Float32Array): void {
  res.writeHead(200, {
    ...securityHeaders(),
    'content-type': 'application/octet-stream',
    'content-length': String(values.byteLength),
    'cache-control': 'no-store',
  });
  res.end(
    req.method === 'HEAD'
      ? undefined
      : Buffer.from(values.buffer, values.byteOffset, values.byteLength),
  );
}

/**
 * The body as text, or undefined once it passes `limit` bytes: what was read is dropped there
 * and the rest is discarded as it arrives (the caller answers 413).
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((ok, fail) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // the rest flows past, unkept
        chunks = [];
        ok(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
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

/// <reference lib="dom" />
// The viewer webview (dist/webview/viewer.js) in headless Chromium, outside VS Code: the page
// the extension renders (same markup, styles and Content-Security-Policy) is served over HTTP,
// a stub acquireVsCodeApi() plays the extension host, and its data requests are answered in
// Node by the plugin's DataService over core's Node reader, as the extension's worker does.
// Proves the webview draws: state ready, a canvas, the legend, colour-by, colour by gene, lasso
// and tooltip;
// and that its Relabel panel corrects the predictions (relabel a selection, undo, redo, rename
// from the legend), saves them through the extension's worker into the file, is refused while
// another scNym run writes it, and that the page keeps its dataset and colour column in its
// webview state (what the host restores the tab from after a window reload).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { after, test } from 'node:test';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/browser.js';
import { holdLockAsLiveRun } from '../helpers/crash.js';
import { openAnnDataFile, saveLabelsFile } from '@scnym/core/node';
import type { DataRequest, DatasetLocation } from '@scnym/plugin/data-messages';
import { DataService } from '@scnym/plugin/data-service';
import type { FromViewerView, ToViewerView } from '../../extension/src/messages.js';
import { nonce, webviewDocument } from '../../extension/src/panels/webview-html.js';
import {
  hostRequest,
  VIEWER_BODY,
  VIEWER_CSP,
  VIEWER_SCRIPT,
  VIEWER_STYLES,
  viewerTitle,
} from '../../extension/src/viewer/viewer-page.js';
import { GeneReader } from '../../extension/src/worker/genes.js';
import { WorkerClient } from '../../extension/src/worker-client.js';
import { PYTHON, REPO } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DIST = join(REPO, 'extension', 'dist', 'webview');
const WORKER = join(REPO, 'extension', 'dist', 'worker.mjs');
const DATASET: DatasetLocation = {
  url: join(REPO, 'core', 'demo', 'target.zarr'),
  format: 'zarr',
  name: 'target.zarr',
};

let server: Server | undefined;
let context: BrowserContext | undefined;
const service = new DataService((where) => openAnnDataFile(where.url));
after(async () => {
  server?.close();
  await service.close();
  const closing = context?.close().catch(() => undefined);
  await Promise.race([closing, new Promise((done) => setTimeout(done, 15_000).unref())]);
});

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
};

/** Serves the page at / and dist/webview's files, like VS Code's webview resource origin. */
async function serve(): Promise<string> {
  if (server) return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  server = createServer((req, res) => {
    const origin = `http://${req.headers.host}`;
    const path = new URL(req.url ?? '/', origin).pathname;
    if (path === '/favicon.ico') {
      res.writeHead(204).end(); // VS Code's webviews ask for none
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        webviewDocument({
          cspSource: origin,
          nonce: nonce(),
          ...VIEWER_CSP,
          title: viewerTitle(DATASET.name),
          // As webviewHtml() lists them.
          scripts: [
            { src: `${origin}/elements.js`, module: true },
            { src: `${origin}/${VIEWER_SCRIPT}` },
          ],
          styles: VIEWER_STYLES.map((s) => `${origin}/${s}`),
          body: VIEWER_BODY,
        }),
      );
      return;
    }
    const file = join(DIST, path.replace(/^\/+/, ''));
    if (!file.startsWith(DIST) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`;
}

/** Typed arrays cannot cross page.evaluate as they are; they travel as base64. */
function encode(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { $typed: value.constructor.name, base64: bytes.toString('base64') };
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

/** The stub VS Code API, installed before the page's scripts run. */
const STUB = `
window.acquireVsCodeApi = () => {
  // VS Code sets its theme colours as CSS variables on <html>.
  document.documentElement.style.setProperty('--vscode-editor-background', '#1e1e1e');
  const encode = (v) => {
    if (ArrayBuffer.isView(v)) {
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      let text = '';
      for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
      return { $typed: v.constructor.name, base64: btoa(text) };
    }
    if (Array.isArray(v)) return v.map(encode);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
    return v;
  };
  // VS Code keeps a webview's state across reloads of its page; sessionStorage does here.
  return {
    postMessage: (m) => window.__scnymToHost(JSON.stringify(encode(m))),
    getState: () => JSON.parse(sessionStorage.getItem('scnym-state') ?? 'null'),
    setState: (s) => sessionStorage.setItem('scnym-state', JSON.stringify(s)),
  };
};
window.__scnymFromHost = (m) => {
  const decode = (v) => {
    if (Array.isArray(v)) return v.map(decode);
    if (v && typeof v === 'object') {
      if (typeof v.$typed === 'string') {
        const bytes = Uint8Array.from(atob(v.base64), (c) => c.charCodeAt(0));
        return new globalThis[v.$typed](bytes.buffer);
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
    }
    return v;
  };
  window.dispatchEvent(new MessageEvent('message', { data: decode(m) }));
};
`;

/** What the page's stub sends: typed arrays as base64 (see STUB). */
function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    const v = value as { $typed?: string; base64?: string };
    if (v.$typed === 'Int32Array') {
      const bytes = Buffer.from(v.base64!, 'base64');
      return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    }
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, decode(x)]));
  }
  return value;
}

/**
 * The extension host's side (viewer-panel.ts): init on ready, data requests to the reader, a
 * save as a 'saveLabels' job of the extension's worker (dist/worker.mjs), as the panel runs it.
 */
async function host(
  page: Page,
  log: FromViewerView[],
  dataset: DatasetLocation = DATASET,
): Promise<void> {
  const send = (m: ToViewerView) =>
    page.evaluate(
      (x) => (window as never as { __scnymFromHost(m: unknown): void }).__scnymFromHost(x),
      encode(m),
    );
  let genes: GeneReader | undefined;
  await page.exposeFunction('__scnymToHost', (json: string) => {
    const msg = decode(JSON.parse(json)) as FromViewerView;
    log.push(msg);
    if (msg.type === 'ready') {
      void send({
        type: 'init',
        name: dataset.name,
        format: dataset.format,
        path: dataset.url,
        labelKey: 'scNym',
      });
    } else if (msg.type === 'data') {
      // The webview names the dataset; the host opens its own file whatever it asks for.
      const request: DataRequest = hostRequest(msg.request, dataset);
      void service.answer(request).then(({ response }) => send({ type: 'data', response }));
    } else if (msg.type === 'gene') {
      // As the viewer's worker answers them (worker/genes.ts).
      genes ??= new GeneReader(dataset.url);
      const reader = genes;
      const { request } = msg;
      const { id } = request;
      void (
        request.type === 'status'
          ? reader.status().then((status) => ({ id, status }))
          : reader.values(request.index, request.kind).then((values) => ({ id, values }))
      )
        .catch((err: Error) => ({ id, error: err.message }))
        .then((response) => send({ type: 'gene', response }));
    } else if (msg.type === 'save') {
      const worker = new WorkerClient(WORKER);
      const { codes, categories } = msg;
      void worker
        .run(
          { type: 'saveLabels', path: dataset.url, keyAdded: 'scNym', codes, categories },
          () => undefined,
        )
        .then(
          (r) => send({ type: 'saved', written: r.type === 'saveLabels' ? r.written : [] }),
          (err: Error) => send({ type: 'saved', error: err.message }),
        )
        .finally(() => worker.dispose());
    }
  });
}

async function legend(page: Page): Promise<{ name: string; count: number }[]> {
  return page.locator('#legend .legend-row').evaluateAll((rows) =>
    rows.map((r) => ({
      name: r.getAttribute('data-category') ?? '',
      count: Number(r.getAttribute('data-count')),
    })),
  );
}

test(
  'viewer webview: draws the demo, legend, colour-by, lasso and tooltip under the real CSP',
  {
    timeout: 5 * 60_000,
    skip: chromiumSkip,
  },
  async () => {
    assert.ok(
      existsSync(join(DIST, VIEWER_SCRIPT)) && existsSync(join(DIST, 'viewer.css')),
      `no ${join(DIST, VIEWER_SCRIPT)}: run \`npm run build -w extension\` first`,
    );
    const url = await serve();
    const launched = await launchChromium(join(tempDir(), 'profile'), { width: 1200, height: 760 });
    context = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(60_000);
    // CSP violations are reported as console errors: none may occur.
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${m.text()} (${m.location().url})`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    const messages: FromViewerView[] = [];
    await page.addInitScript(STUB);
    await host(page, messages);

    await page.goto(url);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
    assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
    const log = messages.map((m) => m.type);
    assert.equal(log[0], 'ready', 'ready is posted first');
    assert.ok(log.includes('data'));

    // A drawn canvas filling the plot area; no Transfer-labels panel, and the Relabel panel
    // says the demo has no predictions to correct.
    const box = (await page.locator('canvas#plot').boundingBox())!;
    assert.ok(box.width > 400 && box.height > 300, `canvas ${box.width}×${box.height}`);
    assert.equal(await page.locator('#panel-transfer-labels').count(), 0);
    assert.match(
      await page.locator('#vs-relabel-about').innerText(),
      /No scNym predictions \(obs\['scNym'\]\) in this dataset/,
    );
    assert.equal(await page.locator('#tl-relabel-apply').isVisible(), false);
    assert.equal(await page.locator('#vs-save').isVisible(), false);
    assert.equal(await page.locator('#dataset-name').innerText(), 'target.zarr');

    // The legend lists cell_type's categories with their counts and coloured swatches (style
    // attributes, which the page's CSP must allow).
    const rows = await legend(page);
    assert.deepEqual(
      rows.map((r) => r.name),
      ['B', 'CD14+Mono', 'CD4T', 'CD8T', 'Dendritic', 'FCGR3A+Mono', 'NK'],
    );
    assert.equal(rows.find((r) => r.name === 'CD4T')?.count, 356);
    assert.equal(
      rows.reduce((s, r) => s + r.count, 0),
      1039,
    );
    const swatch = await page
      .locator('#legend .legend-row .swatch')
      .first()
      .evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(swatch, 'rgba(0, 0, 0, 0)', 'swatch colour applied');
    // The page follows the theme (VS Code's variables), not the plugin's light defaults.
    const bodyBackground = await page.evaluate(
      () => getComputedStyle(document.body).backgroundColor,
    );
    assert.equal(bodyBackground, 'rgb(30, 30, 30)');

    // Colour-by lists the obs columns; a numeric one shows a colour ramp.
    const options = await page.locator('#color-by option').allInnerTexts();
    assert.ok(options.includes('cell_type') && options.includes('n_counts_allgenes'), `${options}`);
    await page.selectOption('#color-by', 'n_counts_allgenes');
    await page.waitForSelector('#legend .ramp');
    assert.equal(await page.locator('#legend h2').innerText(), 'n_counts_allgenes');
    await page.selectOption('#color-by', 'cell_type');
    await page.waitForSelector('#legend .legend-row');

    // Colour by a gene: its log1p(CPM) as a ramp, read by the viewer's worker.
    await page.fill('#gene-search', 'cd79a');
    await page.press('#gene-search', 'Enter');
    await page.waitForFunction(
      () => document.querySelector('#legend h2')?.textContent === 'CD79A · log1p(CPM)',
    );
    assert.equal(await page.locator('#legend .ramp').count(), 1);
    // The status is written once colour() resolves, a moment after the legend is drawn.
    await page.waitForSelector('#gene-status[data-gene]');
    assert.equal(await page.locator('#gene-status').getAttribute('data-gene'), 'CD79A');
    const shots = process.env.SCNYM_E2E_SCREENSHOTS;
    if (shots) await page.screenshot({ path: join(shots, 'vscode-viewer-gene.png') });
    await page.selectOption('#color-by', 'cell_type');
    await page.waitForSelector('#legend .legend-row');

    // Clicking a legend name selects its cells.
    await page.locator('#legend .legend-row[data-category="NK"] .name').click();
    const nk = rows.find((r) => r.name === 'NK')!.count;
    await page.waitForFunction(
      (n) => document.querySelector('#selection-info')?.textContent === `${n} selected`,
      nk,
    );

    // Lasso: a drag in lasso mode over the left part selects some cells.
    await page.click('#clear-selection');
    await page.click('#mode-lasso');
    await page.mouse.move(box.x + box.width * 0.02, box.y + box.height * 0.02);
    await page.mouse.down();
    for (const [fx, fy] of [
      [0.6, 0.02],
      [0.6, 0.98],
      [0.02, 0.98],
      [0.02, 0.03],
    ]) {
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 12 });
    }
    await page.mouse.up();
    await page.waitForFunction(() =>
      /selected/.test(document.querySelector('#selection-info')?.textContent ?? ''),
    );
    const lassoed = Number((await page.locator('#selection-info').innerText()).replace(/\D/g, ''));
    assert.ok(lassoed > 50 && lassoed < 1039, `lasso selected ${lassoed}`);
    await page.click('#mode-pan');

    // Tooltip: sweep the pointer across the plot until it is over a cell.
    let tooltip = '';
    sweep: for (const fy of [0.5, 0.4, 0.6, 0.3, 0.7]) {
      for (let fx = 0.05; fx < 0.95; fx += 0.005) {
        await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
        if (await page.locator('#tooltip').isVisible()) {
          tooltip = await page.locator('#tooltip').innerText();
          break sweep;
        }
      }
    }
    assert.match(tooltip, /-stimulated/, 'the cell name');
    assert.match(tooltip, /cell_type: /);

    assert.deepEqual(problems, []);
  },
);

/** An obs column's labels, read with core. */
async function labelsIn(
  path: string,
  key: string,
): Promise<{ codes: Int32Array; categories: string[] }> {
  const ad = await openAnnDataFile(path);
  try {
    const col = await ad.obsColumn(key);
    assert.equal(col.kind, 'categorical', key);
    if (col.kind !== 'categorical') throw new Error(`${key} is not categorical`);
    return { codes: Int32Array.from(col.codes), categories: [...col.categories] };
  } finally {
    await ad.close();
  }
}

const named = ({ codes, categories }: { codes: Int32Array; categories: string[] }) =>
  Array.from(codes, (c) => (c < 0 ? null : categories[c]));

test(
  'viewer webview: relabel a selection, undo, redo, rename, Save into the file; refused while another run writes; state kept',
  { timeout: 5 * 60_000, skip: chromiumSkip },
  async () => {
    // The demo with predictions: cell_type's labels as obs['scNym'], as Annotate writes them.
    const path = tempCopy(DATASET.url);
    const truth = await labelsIn(path, 'cell_type');
    await saveLabelsFile(path, { keyAdded: 'scNym', ...truth });
    const dataset: DatasetLocation = { ...DATASET, url: path };
    const url = await serve();
    if (!context) {
      context = (await launchChromium(join(tempDir(), 'profile'), { width: 1200, height: 760 }))
        .context;
    }
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${m.text()} (${m.location().url})`);
    });
    const messages: FromViewerView[] = [];
    await page.addInitScript(STUB);
    await host(page, messages, dataset);
    const unsaved = () => {
      const edits = messages.filter((m) => m.type === 'edits');
      return edits.length ? edits[edits.length - 1].unsaved : null;
    };
    const rowCount = (name: string) =>
      page
        .locator(`#legend .legend-row[data-category="${name}"]`)
        .evaluateAll((rows) => (rows[0] ? Number(rows[0].getAttribute('data-count')) : 0));

    await page.goto(url);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
    assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
    assert.match(await page.locator('#vs-relabel-about').innerText(), /Corrects obs\['scNym'\]/);
    assert.equal(await page.locator('#vs-save').isDisabled(), true, 'nothing to save yet');
    // Once only in the colour-by list, though both the file and the edits hold it.
    const options = await page.locator('#color-by option').allInnerTexts();
    assert.equal(options.filter((o) => o === 'scNym').length, 1, `${options}`);
    await page.selectOption('#color-by', 'scNym');
    await page.waitForSelector('#legend .legend-row[data-category="NK"]');
    const nk = await rowCount('NK');
    assert.ok(nk > 10, `NK ${nk}`);
    const swatch = (name: string) =>
      page
        .locator(`#legend .legend-row[data-category="${name}"] .swatch`)
        .evaluate((e) => getComputedStyle(e).backgroundColor);
    const nkColour = await swatch('NK');

    // Select the NK cells (their legend name), relabel them 'NK cell'.
    await page.locator('#legend .legend-row[data-category="NK"] .name').click();
    await page.waitForFunction(
      (n) => document.querySelector('#selection-info')?.textContent === `${n} selected`,
      nk,
    );
    await page.fill('#tl-relabel-name', 'NK cell');
    await page.click('#tl-relabel-apply');
    await page.waitForSelector('#legend .legend-row[data-category="NK cell"]');
    assert.equal(await rowCount('NK cell'), nk);
    assert.equal(await rowCount('NK'), 0);
    // Drawn in the colour Save writes for it: NK's, whose place it takes.
    assert.equal(await swatch('NK cell'), nkColour);
    assert.match(
      await page.locator('#tl-relabel-info').innerText(),
      new RegExp(`${nk} cells relabelled 'NK cell'`),
    );
    assert.equal(unsaved(), nk, 'the host is told of the unsaved edits');
    assert.equal(await page.locator('#vs-save').isDisabled(), false);
    const shots = process.env.SCNYM_E2E_SCREENSHOTS;
    if (shots) await page.screenshot({ path: join(shots, 'vscode-viewer-relabelled.png') });

    // Undo (Ctrl+Z outside the text field) and redo (Ctrl+Shift+Z).
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Control+z');
    await page.waitForFunction(
      () => !document.querySelector('#legend .legend-row[data-category="NK cell"]'),
    );
    assert.equal(await rowCount('NK'), nk);
    assert.equal(unsaved(), 0);
    await page.keyboard.press('Control+Shift+z');
    await page.waitForSelector('#legend .legend-row[data-category="NK cell"]');

    // Rename a category from the legend's pencil.
    await page.locator('#legend .legend-row[data-category="B"] .rename').click();
    await page.locator('#legend .rename-input').fill('B cell');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#legend .legend-row[data-category="B cell"]');
    const b = await rowCount('B cell');

    // Save: the file holds the edits, the emptied NK category dropped.
    await page.click('#vs-save');
    await page.waitForFunction(() => document.body.dataset.saved === '1');
    assert.equal(
      await page.locator('#vs-save-info').innerText(),
      'saved obs/scNym, uns/scNym_colors',
    );
    assert.equal(unsaved(), 0);
    assert.equal(await page.locator('#vs-save').isDisabled(), true);
    const saved = await labelsIn(path, 'scNym');
    const want = named(truth).map((l) => (l === 'NK' ? 'NK cell' : l === 'B' ? 'B cell' : l));
    assert.deepEqual(named(saved), want);
    assert.ok(
      !saved.categories.includes('NK') && !saved.categories.includes('B'),
      `${saved.categories}`,
    );
    assert.equal(want.filter((l) => l === 'B cell').length, b);
    assert.deepEqual(named(await labelsIn(path, 'cell_type')), named(truth), 'cell_type untouched');
    if (existsSync(PYTHON)) assert.deepEqual(readBack(path).obs.scNym.values, want);

    // Another scNym run holds the file: Save is refused at once and the file left as it was.
    const lock = await holdLockAsLiveRun(path);
    const before = treeDigest(path);
    await page.locator('#legend .legend-row[data-category="CD8T"] .name').click();
    await page.fill('#tl-relabel-name', 'CD4T');
    await page.click('#tl-relabel-apply');
    await page.waitForFunction(
      () => !document.querySelector('#legend .legend-row[data-category="CD8T"]'),
    );
    await page.click('#vs-save');
    await page.waitForFunction(() =>
      /save failed/.test(document.querySelector('#vs-save-info')?.textContent ?? ''),
    );
    assert.match(
      await page.locator('#vs-save-info').innerText(),
      /being written by another scNym run/,
    );
    await lock.release();
    assert.equal(treeDigest(path), before, 'a refused save writes nothing');
    assert.ok((unsaved() ?? 0) > 0, 'the edits are still unsaved');
    assert.equal(await page.locator('#vs-save').isDisabled(), false, 'Save can be tried again');

    // The page keeps its dataset and colour column for the host to restore it after a reload.
    await page.selectOption('#color-by', 'n_counts_allgenes');
    await page.waitForSelector('#legend .ramp');
    const state = await page.evaluate(() =>
      JSON.parse(sessionStorage.getItem('scnym-state') ?? 'null'),
    );
    assert.deepEqual(state, {
      path,
      name: 'target.zarr',
      format: 'zarr',
      colorBy: 'n_counts_allgenes',
    });
    await page.reload();
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
    assert.equal(await page.locator('#color-by').inputValue(), 'n_counts_allgenes');
    assert.equal(await page.locator('#legend h2').innerText(), 'n_counts_allgenes');
    assert.deepEqual(problems, []);
    await page.close();
  },
);

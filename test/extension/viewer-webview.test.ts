/// <reference lib="dom" />
// The viewer webview (dist/webview/viewer.js) in headless Chromium, outside VS Code: the page
// the extension renders (same markup, styles and Content-Security-Policy) is served over HTTP,
// a stub acquireVsCodeApi() plays the extension host, and its data requests are answered in
// Node by the plugin's DataService over core's Node reader, as the extension's worker does.
// Proves the webview draws: state ready, a canvas, the legend, colour-by, lasso and tooltip.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { after, test } from 'node:test';
import { type BrowserContext, type Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/browser.js';
import { openAnnDataFile } from '@scnym/core/node';
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
import { REPO } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const DIST = join(REPO, 'extension', 'dist', 'webview');
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
  return { postMessage: (m) => window.__scnymToHost(JSON.stringify(m)) };
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

/** The extension host's side (viewer-panel.ts): init on ready, data requests to the reader. */
async function host(page: Page, log: FromViewerView['type'][]): Promise<void> {
  const send = (m: ToViewerView) =>
    page.evaluate(
      (x) => (window as never as { __scnymFromHost(m: unknown): void }).__scnymFromHost(x),
      encode(m),
    );
  await page.exposeFunction('__scnymToHost', (json: string) => {
    const msg = JSON.parse(json) as FromViewerView;
    log.push(msg.type);
    if (msg.type === 'ready') {
      void send({ type: 'init', name: DATASET.name, format: DATASET.format });
    } else if (msg.type === 'data') {
      // The webview names the dataset; the host opens its own file whatever it asks for.
      const request: DataRequest = hostRequest(msg.request, DATASET);
      void service.answer(request).then(({ response }) => send({ type: 'data', response }));
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
    const log: FromViewerView['type'][] = [];
    await page.addInitScript(STUB);
    await host(page, log);

    await page.goto(url);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
    assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
    assert.equal(log[0], 'ready', 'ready is posted first');
    assert.ok(log.includes('data'));

    // A drawn canvas filling the plot area, and no Transfer-labels panel.
    const box = (await page.locator('canvas#plot').boundingBox())!;
    assert.ok(box.width > 400 && box.height > 300, `canvas ${box.width}×${box.height}`);
    assert.equal(await page.locator('#panels').isVisible(), false);
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

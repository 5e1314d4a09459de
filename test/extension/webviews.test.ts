/// <reference lib="dom" />
// The results and saliency webviews in headless Chromium (Debian's chromium via playwright-core):
// the pages are bundled as build.mjs does, served under the exact page and CSP the extension
// uses (webviewDocument) with a stub acquireVsCodeApi, and driven with the host's messages
// (JSON round-tripped, as VS Code delivers them). Checks the data-testid contract, the messages
// posted back, state restore on reload, and that nothing breaks the CSP (no inline styles).
// Screenshots go to $SCNYM_WEBVIEW_SCREENSHOTS when set.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, chromiumSkip } from '../helpers/browser.js';
import type { ResultsModel, SaliencyModel } from '../../extension/src/messages.js';
import { nonce, webviewDocument } from '../../extension/src/panels/webview-html.js';
import { summarizeResults } from '../../extension/src/results.js';
import { REPO } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const ORIGIN = 'https://webview.test';
const EXTENSION = join(REPO, 'extension');
const skip = chromiumSkip;
const shots = process.env.SCNYM_WEBVIEW_SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

let dist = '';
let browser: Browser | undefined;

before(async () => {
  if (skip) return;
  dist = tempDir();
  // As build.mjs builds dist/webview (only the two pages under test).
  await build({
    entryPoints: {
      results: join(EXTENSION, 'src/webview/results.ts'),
      saliency: join(EXTENSION, 'src/webview/saliency.ts'),
    },
    bundle: true,
    conditions: ['source'],
    outdir: dist,
    format: 'iife',
    platform: 'browser',
    target: ['chrome120'],
    logLevel: 'warning',
  });
  const require = createRequire(join(EXTENSION, 'package.json'));
  copyFileSync(
    require.resolve('@vscode-elements/elements/dist/bundled.js'),
    join(dist, 'elements.js'),
  );
  copyFileSync(join(EXTENSION, 'src/webview/webview.css'), join(dist, 'webview.css'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

after(async () => {
  await browser?.close();
});

// A few of the variables VS Code sets on <html> (dark theme), so screenshots look right.
const THEME: Record<string, string> = {
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-font-family': 'system-ui, sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-editor-font-family': 'monospace',
  '--vscode-panel-border': '#2b2b2b',
  '--vscode-textLink-foreground': '#4daafc',
  '--vscode-textBlockQuote-background': '#2b2b2b',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-lines': '#80808080',
  '--vscode-errorForeground': '#f85149',
  '--vscode-editorWidget-background': '#202020',
};

/**
 * Runs before the page's scripts: the VS Code API stub (JSON-serialising like VS Code, state in
 * sessionStorage so it survives a reload), a CSP violation log, the theme variables. Plain
 * source text, since a compiled function may reference the test runner's helpers.
 */
const STUB = `
window.posted = [];
window.violations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.violations.push(e.violatedDirective + ': ' + e.blockedURI));
let acquired = false;
window.acquireVsCodeApi = () => {
  if (acquired) throw new Error('acquireVsCodeApi called twice');
  acquired = true;
  return {
    postMessage: (m) => window.posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => JSON.parse(sessionStorage.getItem('state') ?? 'null') ?? undefined,
    setState: (s) => sessionStorage.setItem('state', JSON.stringify(s)),
  };
};
const theme = ${JSON.stringify(THEME)};
new MutationObserver((_, observer) => {
  if (!document.documentElement) return;
  observer.disconnect();
  for (const [k, v] of Object.entries(theme)) document.documentElement.style.setProperty(k, v);
}).observe(document, { childList: true });
`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css' };

/** Opens a page as the extension builds it (same CSP), its files served from `dist`. */
async function openPage(script: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1000, height: 900 } });
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  const html = webviewDocument({
    cspSource: ORIGIN,
    nonce: nonce(),
    title: 'test',
    scripts: [{ src: `${ORIGIN}/elements.js`, module: true }, { src: `${ORIGIN}/${script}` }],
    styles: [`${ORIGIN}/webview.css`],
  });
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/') return route.fulfill({ contentType: 'text/html', body: html });
    const file = join(dist, path.slice(1));
    if (!/^\/[\w.-]+$/.test(path) || !existsSync(file)) return route.fulfill({ status: 404 });
    return route.fulfill({ contentType: TYPES[extname(file)], body: readFileSync(file) });
  });
  await page.addInitScript({ content: STUB });
  await page.goto(`${ORIGIN}/`);
  return { page, problems };
}

async function posted(page: Page): Promise<{ type: string; [k: string]: unknown }[]> {
  return page.evaluate(() => (window as unknown as { posted: never[] }).posted);
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { violations: string[] }).violations);
}

/** The host's message, delivered as VS Code does (JSON: NaN becomes null). */
async function send(page: Page, message: unknown): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), JSON.parse(JSON.stringify(message)));
}

async function shot(page: Page, name: string): Promise<void> {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

function resultsModel(): ResultsModel {
  const names = ['B cell', 'CD4 T', 'NK', 'Mono <script>'];
  const n = 300;
  const labels: string[] = [];
  const truth: string[] = [];
  const confidence = new Float32Array(n);
  const probs = new Float32Array(n * names.length);
  for (let i = 0; i < n; i++) {
    const best = (i * 7) % names.length;
    confidence[i] = i === 0 ? 1 : ((i * 37) % 100) / 100;
    for (let k = 0; k < names.length; k++)
      probs[i * names.length + k] = k === best ? confidence[i] : (1 - confidence[i]) / 3;
    labels.push(confidence[i] < 0.3 ? 'Unknown' : names[best]);
    truth.push(i % 5 === 0 ? names[(best + 1) % names.length] : names[best]);
  }
  return summarizeResults({
    dataset: 'pbmc.h5ad',
    path: '/data/pbmc.h5ad',
    keyAdded: 'scNym',
    cellNames: Array.from({ length: n }, (_, i) => `cell-${i}`),
    labels,
    confidence,
    classNames: names,
    probabilities: { data: probs, nClasses: names.length, classNames: names },
    truth,
    truthKey: 'cell_type',
    training: {
      backend: 'wasm',
      seconds: 42.5,
      epochs: 30,
      valAccuracy: NaN,
      classNames: names,
      nReference: 1200,
      nGenes: 2000,
    },
  });
}

test(
  'results page: test ids, rows per label and bin, Open in Viewer, state restore',
  { skip },
  async () => {
    const { page, problems } = await openPage('results.js');
    await page.waitForFunction(() => document.body.dataset.state === 'loading');
    assert.deepEqual(await posted(page), [{ type: 'ready' }]);

    const model = resultsModel();
    await send(page, { type: 'show', results: model });
    await page.waitForSelector('body[data-state="ready"]');
    await shot(page, 'results');

    const summary = await page.textContent('[data-testid="summary"]');
    assert.match(summary!, /300 cells/);
    assert.match(summary!, /trained with wasm in 42\.5 s/);
    assert.doesNotMatch(summary!, /validation accuracy/, 'NaN validation accuracy is left out');
    assert.match(summary!, /accuracy \d+\.\d%/);
    assert.match(summary!, /ECE 0\.\d{3}/);

    const counts = await page.$$eval('[data-testid="label-counts"] [data-label]', (rows) =>
      rows.map((r) => [r.getAttribute('data-label'), Number(r.getAttribute('data-count'))]),
    );
    assert.deepEqual(
      counts,
      model.classes.map((c) => [c.label, c.count]),
    );
    assert.equal(
      counts.reduce((a, [, c]) => a + (c as number), 0),
      300,
    );
    // Label text is text, not markup.
    assert.equal(await page.$$eval('script', (s) => s.length), 2);
    assert.ok((await page.textContent('[data-testid="label-counts"]'))!.includes('Mono <script>'));

    const bins = await page.$$eval('[data-testid="confidence-histogram"] rect[data-bin]', (rects) =>
      rects.map((r) => Number(r.getAttribute('data-count'))),
    );
    assert.deepEqual(bins, model.histogram.counts);
    assert.equal(bins.length, 20);

    const low = await page.$$eval('[data-testid="low-confidence"] [data-cell]', (rows) =>
      rows.map((r) => r.getAttribute('data-cell')),
    );
    assert.deepEqual(
      low,
      model.lowConfidence.map((c) => c.cell),
    );
    assert.equal(low.length, 50);

    const perClass = await page.$$eval('[data-testid="per-class"] [data-label]', (rows) =>
      rows.map((r) => r.textContent ?? ''),
    );
    assert.equal(perClass.length, model.classes.length);
    const headers = await page.$$eval('[data-testid="per-class"] vscode-table-header-cell', (c) =>
      c.map((x) => x.textContent),
    );
    assert.deepEqual(headers.slice(-4), ['Precision', 'Recall', 'F1', 'Support']);

    await page.click('[data-testid="open-viewer"]');
    await page.waitForFunction(() =>
      (window as unknown as { posted: { type: string }[] }).posted.some(
        (m) => m.type === 'openViewer',
      ),
    );
    assert.deepEqual((await posted(page)).at(-1), { type: 'openViewer', path: '/data/pbmc.h5ad' });

    // A hidden tab coming back reloads the page: it draws from the saved state at once.
    await page.reload();
    await page.waitForSelector('body[data-state="ready"]');
    assert.deepEqual(await posted(page), [{ type: 'ready' }]);
    assert.equal(
      await page.$$eval('[data-testid="label-counts"] [data-label]', (r) => r.length),
      model.classes.length,
    );

    // An empty dataset without training or truth still draws every part.
    const empty = summarizeResults({
      dataset: 'empty.zarr',
      path: '/data/empty.zarr',
      keyAdded: 'scNym',
      cellNames: [],
      labels: [],
      confidence: [],
    });
    await send(page, { type: 'show', results: empty });
    await page.waitForSelector('[data-testid="summary"]:has-text("0 cells")');
    const rows = (selector: string) => page.$$eval(selector, (r) => r.length);
    assert.equal(await rows('[data-testid="label-counts"] [data-label]'), 0);
    assert.equal(await rows('[data-testid="low-confidence"] [data-cell]'), 0);
    assert.equal(await rows('[data-testid="confidence-histogram"] rect[data-bin]'), 20);
    assert.equal(await page.getAttribute('body', 'data-state'), 'ready');

    assert.deepEqual(await violations(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  },
);

function saliencyModel(method: SaliencyModel['method'], scale = 1): SaliencyModel {
  return {
    dataset: 'pbmc.h5ad',
    path: '/data/pbmc.h5ad',
    model: '/models/pbmc',
    method,
    seconds: 3.2,
    classes: [
      {
        name: 'NK',
        color: '#279e68',
        nCells: 120,
        nExplained: 100,
        genes: ['GNLY', 'NKG7', 'GZMB', 'PRF1'],
        scores: [0.9, 0.5, 0.2, -0.1].map((s) => s * scale),
      },
      {
        name: 'B cell',
        color: '#1f77b4',
        nCells: 80,
        nExplained: 80,
        genes: ['MS4A1', 'CD79A', 'CD79B'],
        scores: [0.7, 0.6, 0.3].map((s) => s * scale),
      },
    ],
  };
}

async function genes(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="saliency-chart"] g[data-gene]', (g) =>
    g.map((x) => x.getAttribute('data-gene')!),
  );
}

test('saliency page: class and method switches, busy / error / ready', { skip }, async () => {
  const { page, problems } = await openPage('saliency.js');
  await page.waitForFunction(() =>
    (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'),
  );
  await send(page, { type: 'show', saliency: saliencyModel('gradient') });
  await page.waitForSelector('body[data-state="ready"]');
  await shot(page, 'saliency');
  assert.equal(await page.getAttribute('[data-testid="saliency-chart"]', 'data-class'), 'NK');
  assert.deepEqual(await genes(page), ['GNLY', 'NKG7', 'GZMB', 'PRF1']);
  const labels = await page.$$eval('[data-testid="saliency-chart"] g[data-gene] text', (t) =>
    t.map((x) => x.textContent),
  );
  assert.ok(labels.includes('GNLY') && labels.includes('PRF1'));

  // Class switch, as a user does it: open the dropdown, pick the option.
  await page.click('[data-testid="class-select"]');
  await page
    .locator('[data-testid="class-select"]')
    .getByRole('option', { name: 'B cell (80 cells)' })
    .click();
  await page.waitForSelector('[data-testid="saliency-chart"][data-class="B cell"]');
  assert.deepEqual(await genes(page), ['MS4A1', 'CD79A', 'CD79B']);

  // Method switch: busy at once, the host is asked, an error keeps the old chart.
  await page.click('[data-testid="method-select"]');
  await page
    .locator('[data-testid="method-select"]')
    .getByRole('option', { name: 'Integrated gradients' })
    .click();
  await page.waitForSelector('body[data-state="busy"]');
  assert.deepEqual((await posted(page)).at(-1), { type: 'method', method: 'integrated' });
  await send(page, { type: 'busy', message: 'Computing integrated gradients saliency…' });
  assert.match((await page.textContent('[data-testid="status"]'))!, /Computing integrated/);
  await send(page, { type: 'error', message: 'the model folder is gone' });
  await page.waitForSelector('body[data-state="error"]');
  assert.match((await page.textContent('[data-testid="error"]'))!, /model folder is gone/);
  assert.equal(
    await page.$eval('[data-testid="method-select"]', (s) => (s as HTMLSelectElement).value),
    'gradient',
  );
  await shot(page, 'saliency-error');

  // The recomputed model: ready again, still on the chosen class.
  await send(page, { type: 'show', saliency: saliencyModel('integrated', 2) });
  await page.waitForSelector('body[data-state="ready"]');
  assert.equal(await page.getAttribute('[data-testid="saliency-chart"]', 'data-class'), 'B cell');
  assert.equal(
    await page.getAttribute('[data-testid="saliency-chart"] g[data-gene="MS4A1"]', 'data-score'),
    '1.4',
  );
  assert.equal(
    await page.$eval('[data-testid="method-select"]', (s) => (s as HTMLSelectElement).value),
    'integrated',
  );

  // Reload: the saved model and class come back without the host.
  await page.reload();
  await page.waitForSelector('body[data-state="ready"]');
  assert.equal(await page.getAttribute('[data-testid="saliency-chart"]', 'data-class'), 'B cell');

  assert.deepEqual(await violations(page), []);
  assert.deepEqual(problems, []);
  await page.close();
});

/// <reference lib="dom" />
// The viewer's polish in headless Chromium, on a copy of the demo query that also holds a 256-d
// obsm X_scnym (as a saved annotation does): the plot fits a narrow window and a zoomed view
// comes back with Reset view; X_scnym is not offered as an embedding. Screenshots go to
// $SCNYM_E2E_SCREENSHOTS (default: a temp folder, printed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, e2eLog, launchChromium, startView } from '../helpers/browser.js';
import { PYTHON, REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const { shots, step, shot } = e2eLog(tempDir, 'polish-');

let server: ChildProcess | undefined;
let context: BrowserContext | undefined;
after(async () => {
  server?.kill('SIGTERM');
  const closing = context?.close().catch(() => undefined);
  await Promise.race([closing, new Promise((done) => setTimeout(done, 15_000).unref())]);
});

/** The demo query with a random 256-d obsm X_scnym, written by real anndata. */
function queryWithLatent(): string {
  const source = tempCopy(join(DEMO, 'target.zarr'), 'source.zarr');
  const out = join(tempDir(), 'query.zarr');
  const script = [
    'import sys, anndata, numpy as np',
    'ad = anndata.read_zarr(sys.argv[1])',
    "ad.obsm['X_scnym'] = np.random.default_rng(0).random((ad.n_obs, 256), dtype=np.float32)",
    'ad.write_zarr(sys.argv[2])',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, source, out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

/** The plot's size and its points' box (device px), as the scatterplot last drew them. */
function plotBox(page: Page) {
  return page.evaluate(() => {
    const c = document.querySelector('#plot') as HTMLCanvasElement;
    const [left, top, right, bottom] = (c.dataset.bounds ?? '').split(' ').map(Number);
    return { width: c.width, height: c.height, left, top, right, bottom };
  });
}

function assertInside(box: Awaited<ReturnType<typeof plotBox>>, what: string) {
  const msg = `${what}: points ${JSON.stringify(box)}`;
  assert.ok(box.width > 150 && box.height > 150, `the plot is visible; ${msg}`);
  assert.ok(box.left >= 0 && box.top >= 0, msg);
  assert.ok(box.right <= box.width && box.bottom <= box.height, msg);
}

test(
  'viewer polish: fit a narrow window, Reset view, no X_scnym embedding',
  { timeout: 10 * 60_000, skip: chromiumSkip },
  async () => {
    const query = queryWithLatent();
    const view = await startView([query, '--reference', join(DEMO, 'reference.zarr')]);
    server = view.server;
    const launched = await launchChromium(join(tempDir(), 'profile'), {
      width: 1400,
      height: 860,
    });
    context = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(60_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(view.url);
    await page.waitForSelector('body[data-ready="true"], body[data-error]', { timeout: 60_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);

    step('embeddings');
    const embeddings = await page
      .locator('#embedding option')
      .evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value));
    assert.deepEqual(embeddings, ['X_umap'], 'X_scnym (256-d) is not offered');

    step('narrow window');
    assertInside(await plotBox(page), 'wide');
    await page.setViewportSize({ width: 520, height: 700 });
    await page.waitForFunction(
      () => (document.querySelector('#plot') as HTMLCanvasElement).width > 400,
    );
    await page.waitForTimeout(300); // the next frame after the resize
    assertInside(await plotBox(page), 'narrow');
    await shot(page, '1-narrow');

    step('reset view');
    const plot = (await page.locator('#plot').boundingBox())!;
    await page.mouse.move(plot.x + plot.width * 0.3, plot.y + plot.height * 0.4);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -400);
    await page.waitForFunction(() => {
      const c = document.querySelector('#plot') as HTMLCanvasElement;
      const [l, , r] = (c.dataset.bounds ?? '').split(' ').map(Number);
      return r - l > 2 * c.width;
    });
    await shot(page, '2-zoomed');
    await page.click('#reset-view');
    await page.waitForFunction(() => {
      const c = document.querySelector('#plot') as HTMLCanvasElement;
      const [l, , r] = (c.dataset.bounds ?? '').split(' ').map(Number);
      return r - l <= c.width;
    });
    assertInside(await plotBox(page), 'reset');
    await shot(page, '3-reset');
    await page.setViewportSize({ width: 1400, height: 860 });
    await page.waitForTimeout(300);
    assertInside(await plotBox(page), 'wide again');

    console.log(`# screenshots in ${shots}`);
    assert.deepEqual(problems, [], 'no page errors');
  },
);

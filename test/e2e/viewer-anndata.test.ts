/// <reference lib="dom" />
// The viewer in headless Chromium on files as anndata writes them: a store from `write_zarr`
// (no consolidated metadata: the server builds it in memory) with an equally plain reference,
// and an .h5ad. Also the session: without the printed URL's token the page is refused; with it
// the token leaves the address bar, and the page's workers (zarr chunks, the h5ad bytes, wasm)
// all get through with the cookie. Screenshots go to $SCNYM_E2E_SCREENSHOTS (default: a temp
// folder, printed).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, e2eLog, launchChromium, startView } from '../helpers/browser.js';
import { REPO } from '../helpers/paths.js';
import { anndataRewrite } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const { shots, step, shot } = e2eLog(tempDir, 'anndata-');

const servers: ChildProcess[] = [];
let context: BrowserContext | undefined;
after(async () => {
  for (const s of servers) s.kill('SIGTERM');
  const closing = context?.close().catch(() => undefined);
  await Promise.race([closing, new Promise((done) => setTimeout(done, 15_000).unref())]);
});

test(
  'opens what anndata writes (an unconsolidated .zarr, an .h5ad) behind the session cookie',
  { timeout: 5 * 60_000, skip: chromiumSkip },
  async () => {
    const dir = tempDir();
    const query = join(dir, 'query.zarr');
    const reference = join(dir, 'reference.zarr');
    const h5ad = join(dir, 'query.h5ad');
    anndataRewrite(join(DEMO, 'target.zarr'), query);
    anndataRewrite(join(DEMO, 'reference.zarr'), reference);
    anndataRewrite(join(DEMO, 'target.zarr'), h5ad);
    assert.equal(existsSync(join(query, '.zmetadata')), false, 'anndata does not consolidate');

    const launched = await launchChromium(join(dir, 'profile'), { width: 1400, height: 860 });
    context = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(60_000);
    const problems: string[] = [];
    const failed: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });

    step('zarr: no token, refused');
    const zarrView = await startView([query, '--reference', reference]);
    servers.push(zarrView.server);
    const refused = await page.goto(`${zarrView.origin}/`);
    assert.equal(refused?.status(), 403);
    assert.match(await page.locator('body').innerText(), /open the URL printed by scnym view/);
    const wrong = await page.goto(`${zarrView.origin}/?token=${'0'.repeat(48)}`);
    assert.equal(wrong?.status(), 403);

    // From here on no request, the workers' included, may be refused or fail (404s are the
    // readers' probes for keys a store does not have).
    context.on('response', (r) => {
      if (r.status() === 403 || r.status() >= 500) failed.push(`${r.status()} ${r.url()}`);
    });

    step('zarr: open');
    await page.goto(zarrView.url);
    assert.equal(page.url(), `${zarrView.origin}/`, 'the token leaves the address bar');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is HttpOnly');
    await openedWithLegend(page);
    // The reference (unconsolidated too) is listed by the panel's data worker.
    await page.waitForFunction(
      () =>
        (document.querySelector('#tl-label-key') as HTMLSelectElement | null)?.value ===
        'cell_type',
    );
    await shot(page, '1-unconsolidated-zarr');
    assert.equal(existsSync(join(query, '.zmetadata')), false, 'nothing written into the store');
    zarrView.server.kill('SIGTERM');

    step('h5ad: open');
    const h5View = await startView([h5ad]);
    servers.push(h5View.server);
    await page.goto(h5View.url);
    assert.equal(page.url(), `${h5View.origin}/`);
    await openedWithLegend(page);
    await shot(page, '2-h5ad');
    // Closed as soon as it is done with (the after hook only covers a failure).
    await context.close();
    context = undefined;

    console.log(`# screenshots in ${shots}`);
    assert.deepEqual(failed, [], 'no refused or failed request');
    assert.deepEqual(
      problems.filter((p) => !/favicon|GPU stall|403 \(Forbidden\)/.test(p)),
      [],
      'no page errors',
    );
  },
);

/** The demo's embedding coloured by its cell_type: the plot and a legend with the counts. */
async function openedWithLegend(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"], body[data-error]', { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
  await page.waitForSelector('canvas#plot');
  const rows = await page.locator('#legend .legend-row').evaluateAll((els) =>
    els.map((r) => ({
      name: r.getAttribute('data-category') ?? '',
      count: Number(r.getAttribute('data-count')),
    })),
  );
  assert.equal(rows.length, 7, JSON.stringify(rows));
  assert.equal(rows.find((r) => r.name === 'CD4T')?.count, 356);
  assert.equal(
    rows.reduce((s, r) => s + r.count, 0),
    1039,
  );
}

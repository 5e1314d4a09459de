/// <reference lib="dom" />
// The viewer's "Gene names" choice in headless Chromium: a CELLxGENE-like reference (Ensembl IDs
// as var_names, symbols in var['feature_name'], written by real anndata) against the demo's
// symbol-indexed query. The select lists the reference's feature_name; var_names is refused with
// the reason (Ensembl IDs against symbols); feature_name annotates every cell.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { chromiumSkip, launchChromium, startView } from '../helpers/browser.js';
import { makeGeneFixtures } from '../helpers/gene-fixtures.js';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

let server: ChildProcess | undefined;
let context: BrowserContext | undefined;
after(async () => {
  server?.kill('SIGTERM');
  const closing = context?.close().catch(() => undefined);
  await Promise.race([closing, new Promise((done) => setTimeout(done, 15_000).unref())]);
});

test(
  'Gene names: var_names refused with the reason, feature_name annotates',
  { timeout: 5 * 60_000, skip: chromiumSkip },
  async () => {
    const dir = tempDir();
    const genes = makeGeneFixtures(dir);
    const query = tempCopy(join(REPO, 'core', 'demo', 'target.zarr'));
    const view = await startView([
      query,
      '--reference',
      genes.cellxgeneReference,
      '--label-key',
      'cell_type',
      '--epochs',
      '1',
    ]);
    server = view.server;
    const launched = await launchChromium(join(dir, 'profile'), { width: 1200, height: 800 });
    context = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(60_000);
    await page.goto(view.url);
    await page.waitForSelector('body[data-ready="true"], body[data-error]');
    assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);

    // The reference's feature_name is offered (the query's var has no columns).
    await page.waitForSelector('#tl-gene-key option[value="feature_name"]', { state: 'attached' });
    const options = await page.$$eval('#tl-gene-key option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    );
    assert.deepEqual(options, ['auto', 'var_names', 'feature_name']);

    await page.waitForFunction(
      () =>
        (document.querySelector('#tl-label-key') as HTMLSelectElement | null)?.value ===
        'cell_type',
    );
    await page.selectOption('#tl-gene-key', 'var_names');
    await page.click('#tl-annotate');
    await page.waitForSelector('#tl-message.error');
    const refused = await page.locator('#tl-message').innerText();
    assert.match(refused, /share 0 genes/);
    assert.match(refused, /Ensembl IDs/);
    assert.match(refused, /cxg_reference\.h5ad/);

    await page.selectOption('#tl-gene-key', 'feature_name');
    await page.click('#tl-annotate');
    await page.waitForSelector('body[data-annotated="true"]', { timeout: 4 * 60_000 });
    const text = await page.locator('#tl-progress-text').innerText();
    assert.match(text, /done in/);
  },
);

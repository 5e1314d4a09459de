/// <reference lib="dom" />
// The viewer in headless Chromium on an .h5ad written by anndata with lzf, its embedding
// blosc-compressed: the data worker fetches both filter plugins from the app's h5plugins/ (under
// the page's CSP) and shows the cells with their labels. Fixture: test/fixtures/filtered_h5ad.py.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromiumSkip, launchChromium, startView } from '../helpers/browser.js';
import { makeFilteredH5ads } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';

test(
  'viewer: an lzf .h5ad with a blosc embedding opens with its labels',
  { timeout: 120_000, skip: chromiumSkip },
  async () => {
    const dir = tempDir();
    makeFilteredH5ads(dir);
    const view = await startView([join(dir, 'lzf_blosc.h5ad')]);
    // closed in the test's finally, so nothing outlives it
    const { context, page } = await launchChromium(join(dir, 'profile'), {
      width: 1000,
      height: 700,
    });
    try {
      const plugins: string[] = [];
      context.on('response', (r) => {
        const m = /\/h5plugins\/([^/?]+)$/.exec(r.url());
        if (m) plugins.push(`${m[1]} ${r.status()}`);
      });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));

      await page.goto(view.url);
      await page.waitForSelector('body[data-ready="true"], body[data-error]', { timeout: 60_000 });
      assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
      const rows = await page
        .locator('#legend .legend-row')
        .evaluateAll((els) =>
          els.map((r) => `${r.getAttribute('data-category')} ${r.getAttribute('data-count')}`),
        );
      assert.deepEqual(rows.sort(), [
        'B cells 41',
        'CD14+ Monocytes 48',
        'CD4 T cells 46',
        'CD8 T cells 32',
        'FCGR3A+ Monocytes 33',
      ]);
      // Each worker that opens the file fetches what it needs (the data worker may start twice),
      // and a worker's response can be reported after the legend is drawn.
      const wanted = ['libH5Zblosc.so 200', 'libH5Zlzf.so 200'];
      const fetched = () => [...new Set(plugins)].sort();
      for (let i = 0; i < 50 && fetched().length < wanted.length; i++) {
        await new Promise((done) => setTimeout(done, 200));
      }
      assert.deepEqual(fetched(), wanted);
      assert.deepEqual(problems, []);
    } finally {
      await context.close().catch(() => undefined);
      view.server.kill('SIGTERM');
    }
  },
);

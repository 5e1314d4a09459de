/// <reference lib="dom" />
// Colour by gene in headless Chromium: `scnym view` on a copy of the demo query with its gene-major
// cache in a temporary folder. The gene box suggests names as they are typed; CD14 colours the
// plot (its pixels change, the highest values in viridis yellow) with a legend whose range is
// CD14's largest log1p(CPM) computed here from X, then its raw counts; after Annotate, clicking a
// marker gene's bar colours by that gene. Nothing is written inside the dataset.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { openAnnDataFile } from '@scnym/core/node';
import { chromiumSkip, closeAfterFile, e2eLog, openViewer } from '../helpers/browser.js';
import { comparePlots } from '../helpers/pixels.js';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const { shots, step, shot } = e2eLog(tempDir, 'genes-');

const started = closeAfterFile();

/** The largest stored value and log1p(CPM) of a gene over all cells, from X read by core. */
async function geneMax(path: string, gene: string): Promise<{ raw: number; log1p: number }> {
  const ad = await openAnnDataFile(path);
  try {
    const g = (await ad.varNames()).indexOf(gene);
    const x = await ad.matrix('X');
    const m = await x.rows(0, x.shape[0]);
    let raw = 0;
    let log1p = 0;
    for (let r = 0; r < m.nRows; r++) {
      let total = 0;
      let v = 0;
      for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
        total += m.data[k];
        if (m.indices[k] === g) v = m.data[k];
      }
      raw = Math.max(raw, v);
      if (total > 0) log1p = Math.max(log1p, Math.log1p((v / total) * 1e6));
    }
    return { raw, log1p };
  } finally {
    await ad.close();
  }
}

async function legendTitle(page: Page, title: string): Promise<void> {
  await page
    .waitForFunction((t) => document.querySelector('#legend h2')?.textContent === t, title)
    .catch(async (err: Error) => {
      const now = await page.locator('#legend h2').innerText();
      const status = await page.locator('#gene-status').innerText();
      throw new Error(`legend '${now}', not '${title}' (gene box: ${status}): ${err.message}`);
    });
}

async function rampLabels(page: Page): Promise<string[]> {
  return page.locator('#legend .ramp-labels span').allInnerTexts();
}

test(
  'colour by gene: search with suggestions, log1p(CPM) and raw, marker gene click',
  { timeout: 10 * 60_000, skip: chromiumSkip },
  async () => {
    const dir = tempDir();
    const query = tempCopy(join(DEMO, 'target.zarr'), 'target.zarr');
    const before = treeDigest(query);
    // The server's gene-major cache goes here (inherited by `scnym view`).
    const cacheDir = join(dir, 'cache');
    process.env.SCNYM_CACHE_DIR = cacheDir;
    const { page, problems } = await openViewer(started, [
      query,
      '--reference',
      join(DEMO, 'reference.zarr'),
      '--epochs',
      '1',
    ]);

    step('gene search');
    await page.waitForSelector('#gene-status:has-text("genes of X")');
    const plot = page.locator('#plot');
    const byLabel = await plot.screenshot();
    await page.fill('#gene-search', 'cd1');
    await page.waitForSelector('#gene-suggestions option[value="CD14"]', { state: 'attached' });
    const suggested = await page.$$eval('#gene-suggestions option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    );
    assert.ok(
      suggested.every((n) => n.toLowerCase().includes('cd1')),
      suggested.join(', '),
    );
    await page.fill('#gene-search', 'CD14');
    await page.press('#gene-search', 'Enter');
    await legendTitle(page, 'CD14 · log1p(CPM)');
    const max = await geneMax(query, 'CD14');
    assert.deepEqual(await rampLabels(page), ['0', max.log1p.toPrecision(3)]);
    await page.waitForTimeout(300); // the frame after the colours (the CPU raster draws async)
    const byCd14 = await plot.screenshot();
    await shot(page, '1-cd14');
    const cd14 = await comparePlots(page, byLabel, byCd14);
    console.log(`# CD14 vs labels: ${JSON.stringify(cd14)}`);
    assert.ok(cd14.differing > 1000, 'the plot is recoloured');
    assert.ok(cd14.yellow > 20, 'the cells with the most CD14 are drawn in the ramp’s top colour');

    // Raw values: the legend's range is CD14's largest count.
    await page.selectOption('#gene-values', 'raw');
    await legendTitle(page, 'CD14 · raw');
    assert.deepEqual(await rampLabels(page), ['0', String(max.raw)]);
    // Another gene: a different picture (monocytes vs B cells).
    await page.fill('#gene-search', 'ms4a1');
    await page.press('#gene-search', 'Enter');
    await legendTitle(page, 'MS4A1 · raw');
    await page.waitForTimeout(300);
    const byMs4a1 = await plot.screenshot();
    await shot(page, '2-ms4a1-raw');
    assert.ok((await comparePlots(page, byCd14, byMs4a1)).differing > 500);
    const ms = Number(await page.locator('#gene-status').getAttribute('data-ms'));
    console.log(`# MS4A1 coloured in ${ms} ms`);
    // One gene column at a time in Colour by.
    const colourBy = await page.$$eval('#color-by option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    );
    assert.deepEqual(
      colourBy.filter((c) => c.includes(' · ')),
      ['MS4A1 · raw'],
    );

    step('marker click');
    await page.selectOption('#gene-values', 'log1p');
    await page.click('#tl-annotate');
    await page.waitForSelector('body[data-annotated="true"], #tl-message.error', {
      timeout: 8 * 60_000,
    });
    assert.equal(await page.evaluate(() => document.body.dataset.annotated ?? null), 'true');
    await page.selectOption('#tl-saliency-class', { index: 0 });
    await page.click('#tl-saliency-run');
    await page.waitForSelector('#tl-saliency-svg', { timeout: 5 * 60_000 });
    const beforeClick = await plot.screenshot();
    const bar = page.locator('#tl-saliency-svg .saliency-bar').first();
    const gene = String(await bar.getAttribute('data-gene'));
    await bar.click();
    await legendTitle(page, `${gene} · log1p(CPM)`);
    await page.waitForTimeout(300);
    assert.equal(await page.inputValue('#gene-search'), gene);
    const afterClick = await plot.screenshot();
    await shot(page, '3-marker-click');
    assert.ok((await comparePlots(page, beforeClick, afterClick)).differing > 500);

    assert.deepEqual(treeDigest(query), before, 'nothing written inside the dataset');
    assert.ok(readdirSync(join(cacheDir, 'gene-major')).length === 1, 'one cache entry');
    assert.deepEqual(
      problems.filter((p) => !/favicon|GPU stall/.test(p)),
      [],
      'no page errors',
    );
    console.log(`# screenshots in ${shots}`);
  },
);

/// <reference lib="dom" />
// Vitessce's own colour by gene on the page `scnym view --host vitessce` serves: its gene list
// view lists the query's genes (X, through Vitessce's AnnData loader); clicking CD14 there
// recolours Vitessce's scatterplot (its pixels change). Screenshots as in vitessce.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromiumSkip, closeAfterFile, e2eLog, openViewer } from '../helpers/browser.js';
import { REPO } from '../helpers/paths.js';
import { comparePlots } from '../helpers/pixels.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const { shots, step, shot } = e2eLog(tempDir, 'vitessce-genes-');

const started = closeAfterFile();

test(
  'Vitessce host: the gene list colours the scatterplot by a gene',
  { timeout: 5 * 60_000, skip: chromiumSkip },
  async () => {
    const query = tempCopy(join(DEMO, 'target.zarr'), 'target.zarr');
    const { page, problems } = await openViewer(started, [query, '--host', 'vitessce'], {
      consoleErrors: false,
      readyTimeout: 90_000,
    });

    step('gene list');
    await page.waitForSelector('text=1,039 cells');
    const search = page.locator('input[placeholder*="Search" i]').first();
    await search.fill('CD14');
    const gene = page.getByText('CD14', { exact: true }).first();
    await gene.waitFor();
    const canvas = page.locator('canvas').first();
    await page.waitForTimeout(1000);
    const before = await canvas.screenshot();
    await shot(page, '1-opened');
    await gene.click();
    // Vitessce loads X's column and redraws; wait until the picture changes.
    let differing = 0;
    for (let i = 0; i < 60 && differing <= 500; i++) {
      await page.waitForTimeout(500);
      differing = (await comparePlots(page, before, await canvas.screenshot())).differing;
    }
    await shot(page, '2-cd14');
    assert.ok(differing > 500, `the scatterplot is recoloured (${differing} pixels changed)`);
    assert.deepEqual(problems, [], 'no page errors');
    console.log(`# screenshots in ${shots}`);
  },
);

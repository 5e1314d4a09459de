/// <reference lib="dom" />
// The viewer at scale in headless Chromium: `scnym view` on a 200,000-cell query resampled from
// the demo's real cells (test/fixtures/viewer_scale.py: 50 marker genes, X_umap, obs with 7 and
// 28 categories and a number) opens and draws; the legend's counts equal the file's for each
// column it is recoloured by; hiding a category takes its points off the plot; a lasso selects
// part of the cells; the tooltip names a cell; Annotate (two epochs, a 5,000-cell reference)
// labels every cell, and the saved labels read back with core match the truth. Correctness only:
// how fast is measured by `npm run bench -- --sections viewer` (1M cells), not asserted here;
// the main thread's longest tasks are printed for the log.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { openAnnDataFile } from '@scnym/core/node';
import {
  chromiumSkip,
  closeAfterFile,
  e2eLog,
  legendRows,
  openViewer,
  viewerReady,
} from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';
import { makeScaleData } from '../helpers/viewer-scale.js';

const CELLS = 200_000;
const { shots, step, shot } = e2eLog(tempDir, 'scale-');

const started = closeAfterFile();

test(
  `${CELLS.toLocaleString('en-US')} cells: open, recolour (legend counts), hide, lasso, tooltip, Annotate and Save`,
  { timeout: 15 * 60_000, skip: chromiumSkip },
  async () => {
    const dir = tempDir();
    const { query, reference } = makeScaleData(dir, CELLS, 5_000);
    const expected = await fileCounts(query, ['cell_type', 'subcluster']);

    const { view, page, problems } = await openViewer(
      started,
      [query, '--reference', reference, '--epochs', '2'],
      { timeout: 120_000, goto: false },
    );
    await page.addInitScript(() => {
      const long: number[][] = [];
      (window as unknown as { __long: number[][] }).__long = long;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) long.push([e.startTime, e.duration]);
      }).observe({ type: 'longtask', buffered: true });
    });

    step('open');
    await page.goto(view.url);
    await viewerReady(page);
    assert.equal(await legendTitle(page), 'cell_type');
    assert.deepEqual(await legendRows(page), expected.cell_type);
    const drawn = await inkedPixels(page);
    assert.ok(drawn > 0.05, `the points cover ${(drawn * 100).toFixed(1)} % of the plot`);
    await shot(page, '1-opened');

    step('recolour');
    const recolourFrom = await page.evaluate(() => performance.now());
    await recolour(page, 'subcluster');
    assert.deepEqual(await legendRows(page), expected.subcluster);
    assert.equal(expected.subcluster.length, 28);
    await recolour(page, 'n_counts');
    assert.equal(await page.locator('#legend .ramp').count(), 1);
    await recolour(page, 'cell_type');
    assert.deepEqual(await legendRows(page), expected.cell_type);
    console.log(
      `# longest main-thread task while recolouring: ${await longest(page, recolourFrom)}`,
    );

    step('hide a category');
    const bSwatch = '#legend .legend-row[data-category="B"] .swatch';
    await page.click(bSwatch);
    await page.waitForSelector('#legend .legend-row.hidden-category[data-category="B"]');
    const hidden = await inkedPixels(page);
    assert.ok(hidden < drawn - 0.005, `B hidden: ${hidden} of the plot inked, was ${drawn}`);
    await page.click(bSwatch);
    await page.waitForSelector('#legend .legend-row[data-category="B"]:not(.hidden-category)');
    assert.ok(Math.abs((await inkedPixels(page)) - drawn) < 1e-9, 'B shown again');

    step('lasso');
    const lassoFrom = await page.evaluate(() => performance.now());
    await page.click('#mode-lasso');
    const box = (await page.locator('#plot').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.01, box.y + box.height * 0.01);
    await page.mouse.down();
    for (const [fx, fy] of [
      [0.5, 0.01],
      [0.5, 0.99],
      [0.01, 0.99],
      [0.01, 0.02],
    ]) {
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 8 });
    }
    await page.mouse.up();
    await page.waitForFunction(() =>
      /selected/.test(document.querySelector('#selection-info')?.textContent ?? ''),
    );
    const lassoed = Number((await page.locator('#selection-info').innerText()).replace(/\D/g, ''));
    assert.ok(lassoed > CELLS * 0.1 && lassoed < CELLS * 0.9, `lasso selected ${lassoed}`);
    console.log(`# lasso: ${lassoed} cells; longest task ${await longest(page, lassoFrom)}`);
    await shot(page, '2-lasso');
    await page.click('#mode-pan');
    await page.click('#clear-selection');

    step('tooltip');
    let tooltip = '';
    sweep: for (const fy of [0.4, 0.5, 0.6]) {
      for (let fx = 0.1; fx < 0.9; fx += 0.01) {
        await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
        if (await page.locator('#tooltip').isVisible()) {
          tooltip = await page.locator('#tooltip').innerText();
          break sweep;
        }
      }
    }
    assert.match(tooltip, /^q\d+/, 'the cell name');
    assert.match(tooltip, /cell_type: /);

    step('annotate');
    await page.waitForFunction(
      () =>
        (document.querySelector('#tl-label-key') as HTMLSelectElement | null)?.value ===
        'cell_type',
    );
    const annotateFrom = await page.evaluate(() => performance.now());
    await page.click('#tl-annotate');
    await page.waitForSelector('body[data-annotated="true"], #tl-message.error', {
      timeout: 10 * 60_000,
    });
    assert.equal(
      await page.evaluate(() => document.body.dataset.annotated ?? null),
      'true',
      await page.locator('#tl-message').innerText(),
    );
    assert.equal(await legendTitle(page), 'scNym');
    const predicted = await legendRows(page);
    assert.equal(
      predicted.reduce((s, r) => s + r.count, 0),
      CELLS,
    );
    console.log(`# Annotate: longest main-thread task ${await longest(page, annotateFrom)}`);
    await shot(page, '3-annotated');

    step('save');
    await page.click('#tl-save');
    await page.waitForFunction(
      () => /saved|failed/.test(document.querySelector('#tl-save-info')?.textContent ?? ''),
      null,
      { timeout: 120_000 },
    );
    assert.match(await page.locator('#tl-save-info').innerText(), /^saved obs\/scNym/);
    console.log(`# screenshots in ${shots}`);
    assert.deepEqual(
      problems.filter((p) => !/favicon/.test(p)),
      [],
      'no page errors',
    );

    const ad = await openAnnDataFile(query);
    try {
      const saved = await ad.obsColumn('scNym');
      const truth = await ad.obsColumn('cell_type');
      assert.ok(saved.kind === 'categorical' && truth.kind === 'categorical');
      let right = 0;
      for (let i = 0; i < ad.nObs; i++) {
        if (saved.categories[saved.codes[i]] === truth.categories[truth.codes[i]]) right++;
      }
      console.log(`# accuracy against cell_type: ${(right / ad.nObs).toFixed(3)}`);
      assert.ok(right / ad.nObs >= 0.7, `accuracy ${right / ad.nObs}`);
      // 200,000 × 256 floats is over what a save carries: the worker did not compute it.
      assert.ok(!(await ad.obsmKeys()).includes('X_scnym'));
      assert.ok((await ad.obsmKeys()).includes('scNym_probabilities'));
    } finally {
      await ad.close();
    }
  },
);

/** Category counts of obs columns as core reads them, in category order, empty ones left out. */
async function fileCounts(
  file: string,
  columns: string[],
): Promise<Record<string, { name: string; count: number }[]>> {
  const ad = await openAnnDataFile(file);
  try {
    const out: Record<string, { name: string; count: number }[]> = {};
    for (const name of columns) {
      const col = await ad.obsColumn(name);
      assert.equal(col.kind, 'categorical');
      if (col.kind !== 'categorical') continue;
      const counts = new Array<number>(col.categories.length).fill(0);
      for (const c of col.codes) counts[c]++;
      out[name] = col.categories
        .map((n, i) => ({ name: n, count: counts[i] }))
        .filter((r) => r.count > 0);
    }
    return out;
  } finally {
    await ad.close();
  }
}

async function recolour(page: Page, column: string): Promise<void> {
  await page.selectOption('#color-by', column);
  await page.waitForFunction(
    (c) => document.querySelector('#legend h2')?.textContent === c,
    column,
  );
}

function legendTitle(page: Page): Promise<string> {
  return page.locator('#legend h2').innerText();
}

/** The share of the plot's pixels that are not the background, after the next frame. */
function inkedPixels(page: Page): Promise<number> {
  return page.evaluate(async () => {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const canvas = document.querySelector('#plot') as HTMLCanvasElement;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    for (let p = 0; p < data.length; p += 4) {
      if (data[p] !== 255 || data[p + 1] !== 255 || data[p + 2] !== 255) inked++;
    }
    return inked / (data.length / 4);
  });
}

/** The longest main-thread task since `from` (page time), for the log. */
function longest(page: Page, from: number): Promise<string> {
  return page.evaluate((t) => {
    const long = (window as unknown as { __long: number[][] }).__long;
    const d = long.filter(([s]) => s >= t).map(([, ms]) => ms);
    const max = d.reduce((a, b) => Math.max(a, b), 0);
    return d.length ? `${max.toFixed(0)} ms (${d.length} over 50 ms)` : 'none over 50 ms';
  }, from);
}

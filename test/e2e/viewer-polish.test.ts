/// <reference lib="dom" />
// The viewer's polish in headless Chromium, on a copy of the demo query that also holds a 256-d
// obsm X_scnym (as a saved annotation does): the plot fits a narrow window and a zoomed view
// comes back with Reset view; X_scnym is not offered as an embedding; a short Annotate shows
// its progress in one format with the time left; the confidence threshold is core's and the
// histogram has the plot's ramp; status lines do not outlive their selection or result; the
// marker-gene chart has values and an axis and says how many cells it explained.
// Screenshots go to $SCNYM_E2E_SCREENSHOTS (default: a temp folder, printed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { chromiumSkip, closeAfterFile, e2eLog, openViewer } from '../helpers/browser.js';
import { LOW_CONFIDENCE_THRESHOLD, rampColor } from '@scnym/core/vocabulary';
import { PYTHON, REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const { shots, step, shot } = e2eLog(tempDir, 'polish-');

const started = closeAfterFile();

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
  'viewer polish: fit a narrow window, Reset view, no X_scnym embedding, threshold, status, markers',
  { timeout: 10 * 60_000, skip: chromiumSkip },
  async () => {
    const query = queryWithLatent();
    const { page, problems } = await openViewer(
      started,
      [query, '--reference', join(DEMO, 'reference.zarr'), '--epochs', '8'],
      { consoleErrors: false },
    );

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

    step('png');
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
    assert.equal(png.suggestedFilename(), 'query.zarr.cell_type.png');
    const bytes = readFileSync((await png.path())!);
    const box = await plotBox(page);
    assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [box.width, box.height]);
    // The image holds the points: many pixels that are not the white background.
    const coloured = await page.evaluate(async (b64) => {
      const blob = new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))]);
      const image = await createImageBitmap(blob);
      const c = new OffscreenCanvas(image.width, image.height).getContext('2d')!;
      c.drawImage(image, 0, 0);
      const px = c.getImageData(0, 0, image.width, image.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] + px[i + 1] + px[i + 2] < 700) n++;
      return n;
    }, bytes.toString('base64'));
    assert.ok(coloured > 5000, `${coloured} coloured pixels`);

    step('annotate');
    await page.waitForFunction(
      () => (document.querySelector('#tl-label-key') as HTMLSelectElement).value === 'cell_type',
    );
    await page.click('#tl-annotate');
    // Every training line has one format; the time left shows once steps are done.
    const lines = new Set<string>();
    while (!(await page.evaluate(() => document.body.dataset.annotated === 'true'))) {
      const text = await page.locator('#tl-progress-text').innerText();
      if (text.startsWith('training')) lines.add(text);
      await page.waitForTimeout(100);
    }
    const format = /^training: epoch \d+\/8( loss \d\.\d{3})?( val acc \d\.\d{3})?( · .+ left)?$/;
    for (const line of lines) assert.match(line, format);
    assert.ok(
      [...lines].some((l) => / · (\d+ min )?\d+ s left$/.test(l)),
      [...lines].join('\n'),
    );
    assert.match(await page.locator('#tl-progress-text').innerText(), /^done in /);

    step('confidence');
    assert.equal(await page.inputValue('#tl-threshold'), String(LOW_CONFIDENCE_THRESHOLD));
    const bars = await page.locator('#tl-histogram rect').evaluateAll((r) =>
      r.map((b) => ({
        fill: b.getAttribute('fill'),
        below: b.classList.contains('below'),
        stroke: b.getAttribute('stroke'),
      })),
    );
    assert.equal(bars.length, 20);
    bars.forEach((b, i) => {
      assert.equal(b.fill, rampColor((i + 0.5) / 20), `bin ${i} in the plot's colour`);
      assert.equal(b.below, (i + 1) / 20 <= LOW_CONFIDENCE_THRESHOLD);
      assert.equal(b.stroke !== null, b.below);
    });
    await page.click('#tl-colour-confidence');
    await page.click('#tl-select-low');
    await page.waitForSelector('#status:has-text("below confidence")');
    const low = await page.locator('#selection-info').innerText(); // "1,038 selected"
    assert.equal(
      await page.locator('#status').innerText(),
      `${low.replace(' selected', '')} cells below confidence ${LOW_CONFIDENCE_THRESHOLD}`,
    );
    await shot(page, '4-low-confidence');
    await page.click('#clear-selection');
    await page.waitForFunction(
      () => !/below confidence/.test(document.querySelector('#status')?.textContent ?? ''),
    );

    step('markers');
    await page.click('#tl-colour-label');
    await page.selectOption('#tl-saliency-class', 'B');
    await page.selectOption('#tl-saliency-method', 'gradient');
    const done = await page.locator('#tl-progress-text').innerText();
    await page.click('#tl-saliency-run');
    await page.waitForSelector('#tl-saliency-svg', { timeout: 5 * 60_000 });
    assert.equal(await page.locator('#tl-progress-text').innerText(), done, 'the result stays');
    const caption = await page.locator('#tl-saliency-caption').innerText();
    assert.match(caption, /^B · gradient · \d+ cells \(predicted B\)$/);
    const chart = await page.locator('#tl-saliency-svg').evaluate((svg) => ({
      rows: svg.querySelectorAll('g[data-gene]').length,
      values: [...svg.querySelectorAll('text.value')].map((t) => Number(t.textContent)),
      axis: svg.querySelectorAll('line.axis').length,
      title: svg.querySelector('.axis-title')?.textContent,
      // every gene name inside the chart (not cut at its left edge)
      namesInside: [...svg.querySelectorAll<SVGTextElement>('text.gene-label')].every(
        (t) => t.getBBox().x >= 0,
      ),
      width: svg.getBoundingClientRect().width,
    }));
    assert.equal(chart.rows, 15);
    assert.equal(chart.values.length, 15);
    assert.ok(chart.values.every(Number.isFinite), JSON.stringify(chart.values));
    assert.equal(chart.axis, 2);
    assert.equal(chart.title, 'mean attribution');
    assert.ok(chart.namesInside);
    await page.locator('#tl-saliency-chart').scrollIntoViewIfNeeded();
    await shot(page, '5-markers');

    // A selection larger than the viewer explains (200 cells) is sampled, and says so.
    const rows = await page
      .locator('#legend .legend-row')
      .evaluateAll((r) =>
        r.map((x) => ({ name: x.getAttribute('data-category')!, count: Number(x.dataset.count) })),
      );
    const big = rows.reduce((a, b) => (b.count > a.count ? b : a));
    assert.ok(big.count > 200, JSON.stringify(rows));
    await page.click(`#legend .legend-row[data-category="${big.name}"] .name`);
    await page.waitForSelector(`#tl-saliency-selected:text-is("(${big.count} selected)")`);
    await page.check('#tl-saliency-selection');
    await page.click('#tl-saliency-run');
    await page.waitForSelector(
      `#tl-saliency-caption:text-is("B · gradient · 200 of ${big.count} cells (selected, a random sample)")`,
      { timeout: 5 * 60_000 },
    );
    await page.locator('#tl-saliency-chart').scrollIntoViewIfNeeded();
    await shot(page, '6-markers-sample');

    step('csv and help');
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#tl-download-csv'),
    ]);
    const rowsCsv = readFileSync((await csv.path())!, 'utf8')
      .trimEnd()
      .split('\n');
    assert.equal(rowsCsv[0], 'obs_names,scNym,scNym_confidence');
    assert.equal(rowsCsv.length, 1 + 1039);
    assert.match(
      (await page.locator('label.row:has-text("Domain column")').getAttribute('title')) ?? '',
      /batch/,
    );

    step('dark mode');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    assert.equal(
      await page.evaluate(() => getComputedStyle(document.body).backgroundColor),
      'rgb(27, 27, 27)',
    );
    // The plot's background too (the CPU painter draws it on the plot's canvas).
    const corner = await page.evaluate(() => {
      const c = document.querySelector('#plot') as HTMLCanvasElement;
      if (c.dataset.renderer !== 'cpu') return null;
      return [...c.getContext('2d')!.getImageData(1, 1, 1, 1).data];
    });
    if (corner) assert.deepEqual(corner, [27, 27, 27, 255]);
    await shot(page, '7-dark');

    console.log(`# screenshots in ${shots}`);
    assert.deepEqual(problems, [], 'no page errors');
  },
);

/// <reference lib="dom" />
// The scatterplot's two painters in headless Chromium on the demo (WebGL runs on SwiftShader
// here, which is enough for correctness): forced with ?renderer=, the WebGL painter draws the
// categories in the same colours and about as many pixels of each as the CPU raster, hiding a
// category takes its colour off the plot, the same lasso selects the same number of cells and
// fades the same points, and a lost WebGL context falls back to the CPU. 'auto' picks the CPU
// under SwiftShader, and an unknown renderer is refused with the names that exist.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  chromiumSkip,
  closeAfterFile,
  e2eLog,
  openViewer,
  viewerReady,
} from '../helpers/browser.js';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const { shots, step, shot } = e2eLog(tempDir, 'webgl-');

const started = closeAfterFile();

/** Pixels of each category's colour (as one point leaves it on the background), by name. */
type Inks = Record<string, number>;

test(
  'WebGL and CPU painters: same colours, hidden categories, same lasso; auto is CPU under SwiftShader',
  { timeout: 3 * 60_000, skip: chromiumSkip },
  async () => {
    const { view, page, problems } = await openViewer(
      started,
      [tempCopy(join(DEMO, 'target.zarr'), 'target.zarr')],
      { viewport: { width: 1200, height: 800 }, goto: false },
    );

    step('cpu');
    await open(page, `${view.url}&renderer=cpu`);
    assert.equal(await renderer(page), 'cpu');
    assert.equal(await page.locator('canvas.plot-points').count(), 0);
    const cpu = await inks(page);
    await shot(page, '1-cpu');
    const cpuLasso = await lasso(page);
    // Selected points are drawn opaque, the others at 0.4 of the opacity.
    const cpuSelected = await inks(page, 1);
    const cpuFaded = await inks(page, 0.36);
    await shot(page, '2-cpu-lasso');

    step('webgl');
    // The session cookie is set; the page keeps its own query string.
    await open(page, `${view.origin}/?renderer=webgl`);
    assert.equal(await renderer(page), 'webgl');
    assert.equal(await page.locator('canvas.plot-points').count(), 1);
    const gl = await inks(page);
    await shot(page, '3-webgl');
    assert.equal(Object.keys(gl).length, 7);
    for (const [name, n] of Object.entries(cpu)) {
      assert.ok(n > 200, `${name}: ${n} pixels on the CPU`);
      assert.ok(Math.abs(gl[name] - n) <= 0.1 * n, `${name}: ${gl[name]} pixels, CPU ${n}`);
    }

    step('webgl: hide B');
    const bSwatch = '#legend .legend-row[data-category="B"] .swatch';
    await page.click(bSwatch);
    await page.waitForSelector('#legend .legend-row.hidden-category[data-category="B"]');
    const hidden = await inks(page);
    assert.equal(hidden.B, 0, `B hidden: ${hidden.B} pixels of its colour`);
    assert.ok(hidden.CD4T >= gl.CD4T, 'the others still drawn');
    await shot(page, '4-webgl-hidden');
    await page.click(bSwatch);
    await page.waitForSelector('#legend .legend-row[data-category="B"]:not(.hidden-category)');
    assert.deepEqual(await inks(page), gl, 'B shown again');

    step('webgl: lasso');
    assert.equal(await lasso(page), cpuLasso, 'the same cells as the CPU painter');
    assert.ok(cpuLasso > 50 && cpuLasso < 1000, `lasso selected ${cpuLasso}`);
    const glSelected = await inks(page, 1);
    const glFaded = await inks(page, 0.36);
    await shot(page, '5-webgl-lasso');
    assert.ok(sum(cpuSelected) > 1000 && sum(cpuFaded) > 1000, 'selected and faded points');
    for (const [cpuInks, glInks] of [
      [cpuSelected, glSelected],
      [cpuFaded, glFaded],
    ]) {
      for (const [name, n] of Object.entries(cpuInks))
        assert.ok(Math.abs(glInks[name] - n) <= 0.1 * n + 20, `${name}: ${glInks[name]}, CPU ${n}`);
    }

    step('webgl: context lost');
    await page.click('#clear-selection');
    await page.evaluate(() =>
      document
        .querySelector<HTMLCanvasElement>('canvas.plot-points')!
        .getContext('webgl')!
        .getExtension('WEBGL_lose_context')!
        .loseContext(),
    );
    await page.waitForSelector('#plot[data-renderer="cpu"]');
    assert.equal(await page.locator('canvas.plot-points').count(), 0);
    assert.deepEqual(await inks(page), cpu, 'the CPU draws the same as before');

    step('auto');
    await open(page, `${view.origin}/`);
    assert.equal(await renderer(page), 'cpu', 'SwiftShader is not a GPU');

    step('unknown');
    await page.goto(`${view.origin}/?renderer=gpu`);
    await page.waitForSelector('body[data-error]');
    assert.match(
      (await page.evaluate(() => document.body.dataset.error)) ?? '',
      /renderer=gpu.*auto, webgl, cpu/,
    );

    await started.context!.close();
    started.context = undefined;
    console.log(`# screenshots in ${shots}`);
    assert.deepEqual(
      problems.filter((p) => !/favicon|GPU stall|renderer=gpu/.test(p)),
      [],
      'no page errors',
    );
  },
);

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await viewerReady(page);
  await page.mouse.move(0, 0);
}

function renderer(page: Page): Promise<string | null> {
  return page.locator('#plot').getAttribute('data-renderer');
}

/**
 * What the plot shows (a screenshot: the points' canvas and the overlay together): for each
 * legend category, the pixels within a few levels of its colour blended once over the white
 * background at `alpha` (the points' opacity: 0.9), i.e. where one of its points covers a pixel
 * fully.
 */
async function inks(page: Page, alpha = 0.9): Promise<Inks> {
  await page.evaluate(
    () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))),
  );
  const swatches = await page.locator('#legend .legend-row').evaluateAll((rows) =>
    rows.map((r) => ({
      name: r.getAttribute('data-category') ?? '',
      colour: getComputedStyle(r.querySelector('.swatch')!).backgroundColor,
    })),
  );
  const png = (await page.locator('#plot').screenshot()).toString('base64');
  const out: Inks = {};
  for (const { name, colour } of swatches) {
    const rgb = colour.match(/\d+/g)!.slice(0, 3).map(Number);
    out[name] = await page.evaluate(
      async ({ png, want }) => {
        const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const c = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d')!;
        c.drawImage(bitmap, 0, 0);
        const { data } = c.getImageData(0, 0, bitmap.width, bitmap.height);
        let n = 0;
        for (let p = 0; p < data.length; p += 4) {
          if (
            Math.abs(data[p] - want[0]) <= 4 &&
            Math.abs(data[p + 1] - want[1]) <= 4 &&
            Math.abs(data[p + 2] - want[2]) <= 4
          )
            n++;
        }
        return n;
      },
      { png, want: rgb.map((v) => v * alpha + 255 * (1 - alpha)) },
    );
  }
  return out;
}

function sum(inks: Inks): number {
  return Object.values(inks).reduce((a, b) => a + b, 0);
}

/** A lasso over the plot's left half; the number of cells the toolbar says are selected. */
async function lasso(page: Page): Promise<number> {
  await page.click('#mode-lasso');
  const box = (await page.locator('#plot').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.05);
  await page.mouse.down();
  for (const [fx, fy] of [
    [0.5, 0.05],
    [0.5, 0.95],
    [0.05, 0.95],
    [0.05, 0.06],
  ]) {
    await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 6 });
  }
  await page.mouse.up();
  await page.waitForFunction(() =>
    /selected/.test(document.querySelector('#selection-info')?.textContent ?? ''),
  );
  await page.click('#mode-pan');
  await page.mouse.move(0, 0);
  return Number((await page.locator('#selection-info').innerText()).replace(/\D/g, ''));
}

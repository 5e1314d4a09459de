/// <reference lib="dom" />
// Saved work comes back, end to end in headless Chromium: `scnym view` on a copy of the demo,
// Annotate (a short run), marker genes for a class, Save (the model goes beside the dataset),
// reload the page: the predictions are the panel's result again without Annotate (the same
// legend, confidence histogram and plot pixels), the markers chart is the saved one, and the
// model is loaded (markers of another class are computed). Then a copy of the saved query with a
// folder of someone else's at `<dataset>.scnym-model`: restored without its model, and a Save
// after Annotate leaves that folder untouched and says why.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { openAnnDataFile } from '@scnym/core/node';
import { MODEL_BESIDE_SUFFIX } from '@scnym/core/vocabulary';
import {
  chromiumSkip,
  closeAfterFile,
  e2eLog,
  legendRows,
  openViewer,
  startView,
  viewerReady,
} from '../helpers/browser.js';
import { REPO } from '../helpers/paths.js';
import { comparePlots } from '../helpers/pixels.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const PORT = 52321;

const { shots, step, shot } = e2eLog(tempDir, 'restore-');

const started = closeAfterFile();

test(
  'demo: Annotate, markers, Save, reload: predictions, confidence, markers and the model come back',
  { timeout: 15 * 60_000, skip: chromiumSkip },
  async () => {
    const query = tempCopy(join(DEMO, 'target.zarr'), 'target.zarr');
    const epochs = process.env.SCNYM_E2E_EPOCHS ?? '4';
    const reference = join(DEMO, 'reference.zarr');
    const { page, problems } = await openViewer(
      started,
      [query, '--reference', reference, '--epochs', epochs, '--port', String(PORT)],
      { viewport: { width: 1400, height: 900 } },
    );
    const plot = page.locator('#plot');
    const blank = await plot.screenshot();
    // A dataset without predictions starts blank.
    assert.equal(await page.evaluate(() => document.body.dataset.restored ?? null), null);

    step('annotate');
    await annotate(page);
    const annotated = await plot.screenshot();
    assert.ok((await comparePlots(page, blank, annotated)).differing > 1000, 'coloured by label');
    const legendBefore = await legend(page);
    const binsBefore = await bins(page);
    assert.equal(binsBefore.length, 20);

    step('markers');
    await page.selectOption('#tl-saliency-class', 'B');
    await page.click('#tl-saliency-run');
    await page.waitForSelector('#tl-saliency-svg');
    const markersBefore = await markerGenes(page);
    assert.ok(markersBefore.length >= 5, markersBefore.join(', '));

    step('save');
    await page.click('#tl-save');
    await page.waitForFunction(() =>
      /saved|failed/.test(document.querySelector('#tl-save-info')?.textContent ?? ''),
    );
    const info = await page.locator('#tl-save-info').innerText();
    assert.match(info, /^saved obs\/scNym.*uns\/scNym_markers/);
    assert.match(info, /the model in target\.zarr\.scnym-model$/);
    const beside = `${query}${MODEL_BESIDE_SUFFIX}`;
    assert.deepEqual(readdirSync(beside).sort(), ['model.json', 'scnym.json', 'weights.bin']);
    // The colours saved are the ones the legend shows (one colour per label name in the page).
    const shown = await swatches(page);
    const file = await openAnnDataFile(query);
    try {
      const labels = await file.obsColumn('scNym');
      const colors = (await file.uns('scNym_colors')) as unknown as string[];
      assert.ok(labels.kind === 'categorical');
      const saved = labels.categories.map((c, i): [string, string] => [c, colors[i]]).sort();
      assert.deepEqual(saved, shown);
    } finally {
      await file.close();
    }

    step('reload');
    await page.reload();
    await viewerReady(page);
    await page.waitForSelector('body[data-restored="true"]');
    await page.waitForSelector('body[data-model-loaded="true"], #tl-message.error');
    assert.equal(
      await page.locator('#tl-message.error').count(),
      0,
      await page.locator('#tl-message').innerText(),
    );
    assert.match(
      await page.locator('#tl-message').innerText(),
      /^saved predictions \(no_new_identity, scnym-js [^,]+, trained \d{4}-\d\d-\d\d \d\d:\d\d\); its model target\.zarr\.scnym-model is loaded$/,
    );
    assert.equal(await page.locator('#tl-results').isHidden(), false);
    assert.deepEqual(await legend(page), legendBefore);
    assert.deepEqual(await bins(page), binsBefore);
    const restored = await plot.screenshot();
    const same = await comparePlots(page, annotated, restored);
    assert.ok(same.differing < same.pixels / 1000, `${same.differing} pixels differ after reload`);
    assert.ok((await comparePlots(page, blank, restored)).differing > 1000, 'not the blank plot');
    assert.equal(await page.locator('#tl-saliency-class').inputValue(), 'B');
    assert.deepEqual(await markerGenes(page), markersBefore);
    assert.match(await page.locator('#tl-saliency-caption').innerText(), /^B · gradient · .*saved/);
    await shot(page, '1-restored');

    step('the loaded model explains another class');
    await page.selectOption('#tl-saliency-class', 'CD4T');
    await page.click('#tl-saliency-run');
    await page.waitForFunction(() =>
      /^CD4T · gradient · \d/.test(
        document.querySelector('#tl-saliency-caption')?.textContent ?? '',
      ),
    );
    assert.ok((await markerGenes(page)).length >= 5);
    // and the dot plot of every class's markers, once the model is loaded
    await page.waitForSelector('#tl-dotplot[data-group-by="scNym"] circle.dot');
    assert.ok((await page.locator('#tl-dotplot circle.dot').count()) >= legendBefore.length);

    step('a folder not ours at the model path');
    const other = tempDir();
    cpSync(query, join(other, 'target.zarr'), { recursive: true });
    const notOurs = join(other, `target.zarr${MODEL_BESIDE_SUFFIX}`);
    mkdirSync(notOurs);
    writeFileSync(join(notOurs, 'notes.txt'), 'not a model');
    const untouched = treeDigest(notOurs);
    const second = await startView([
      join(other, 'target.zarr'),
      '--reference',
      reference,
      '--epochs',
      '1',
      '--port',
      String(PORT + 1),
    ]);
    started.servers.push(second.server);
    await page.goto(second.url);
    await viewerReady(page);
    await page.waitForSelector('body[data-restored="true"]');
    assert.deepEqual(await legend(page), legendBefore);
    assert.match(
      await page.locator('#tl-message').innerText(),
      /target\.zarr\.scnym-model is not the model that was saved/,
    );
    assert.equal(await page.evaluate(() => document.body.dataset.modelLoaded ?? null), null);
    await annotate(page);
    await page.click('#tl-save');
    await page.waitForFunction(() =>
      /saved|failed/.test(document.querySelector('#tl-save-info')?.textContent ?? ''),
    );
    assert.match(
      await page.locator('#tl-save-info').innerText(),
      /^saved obs\/scNym.*; the model was not saved: target\.zarr\.scnym-model is not the model folder an earlier Save made here .*; scNym leaves it untouched/,
    );
    assert.equal(treeDigest(notOurs), untouched);
    const ad = await openAnnDataFile(join(other, 'target.zarr'));
    try {
      assert.equal(((await ad.uns('scNym_model')) as { where: string }).where, 'none');
    } finally {
      await ad.close();
    }
    await shot(page, '2-refused');
    assert.deepEqual(problems, []);
    console.log(`# screenshots in ${shots}`);
  },
);

async function annotate(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      (document.querySelector('#tl-label-key') as HTMLSelectElement | null)?.value === 'cell_type',
  );
  await page.evaluate(() => delete document.body.dataset.annotated);
  await page.click('#tl-annotate');
  await page.waitForSelector('body[data-annotated="true"], #tl-message.error', {
    timeout: 10 * 60_000,
  });
  assert.equal(
    await page.evaluate(() => document.body.dataset.annotated ?? null),
    'true',
    await page.locator('#tl-message').innerText(),
  );
}

/** The legend's categories with their swatch colours as #rrggbb, sorted by name. */
function swatches(page: Page): Promise<[string, string][]> {
  return page.locator('#legend .legend-row').evaluateAll((rows) =>
    rows
      .map((r): [string, string] => {
        const rgb = getComputedStyle(r.querySelector('.swatch')!).borderTopColor;
        const hex = (rgb.match(/\d+/g) ?? [])
          .slice(0, 3)
          .map((v) => Number(v).toString(16).padStart(2, '0'))
          .join('');
        return [r.getAttribute('data-category') ?? '', `#${hex}`];
      })
      .sort(),
  );
}

async function legend(page: Page): Promise<[string, number][]> {
  return (await legendRows(page)).map((r): [string, number] => [r.name, r.count]).sort();
}

/** The confidence histogram's bins as their titles say ("0.90–0.95: 123 cells"). */
function bins(page: Page): Promise<string[]> {
  return page
    .locator('#tl-histogram title')
    .evaluateAll((ts) => ts.map((t) => t.textContent ?? '').filter((t) => /cells$/.test(t)));
}

function markerGenes(page: Page): Promise<string[]> {
  return page
    .locator('#tl-saliency-svg [data-gene]')
    .evaluateAll((gs) => [...new Set(gs.map((g) => g.getAttribute('data-gene') ?? ''))]);
}

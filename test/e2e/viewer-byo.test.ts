/// <reference lib="dom" />
// Bring your own reference, end to end in headless Chromium: `scnym view` on a query alone, then
// a reference picked in the panel (page.setInputFiles, as a user's file chooser: nothing is
// served for it) — a .zarr folder and an .h5ad written by anndata 0.8 — with the label column
// chosen from the picked file's columns, and a model folder written by `scnym train`; each time
// Annotate predicts every query cell with the reference's classes, and what Save writes
// agrees with the query's own cell types.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { chromiumSkip, closeAfterFile, e2eLog, openViewer } from '../helpers/browser.js';
import { openAnnDataFile } from '@scnym/core/node';
import { runScnym } from '../helpers/cli.js';
import { makeGeneFixtures } from '../helpers/gene-fixtures.js';
import { needsPython } from '../helpers/hierarchy.js';
import { REPO, SHARED_DATA } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const TINY = join(SHARED_DATA, 'tiny');
const DEMO_CLASSES = ['B', 'CD14+Mono', 'CD4T', 'CD8T', 'Dendritic', 'FCGR3A+Mono', 'NK'];
const TINY_CLASSES = [
  'B cells',
  'CD14+ Monocytes',
  'CD4 T cells',
  'CD8 T cells',
  'FCGR3A+ Monocytes',
];

const { step, shot } = e2eLog(tempDir, 'byo-');

const started = closeAfterFile();

/** `scnym view QUERY` with nothing else: the panel offers no source until one is picked. */
async function viewAlone(query: string): Promise<{ page: Page; problems: string[] }> {
  const { page, problems } = await openViewer(started, [query]);
  assert.equal(await page.locator('#tl-annotate').isDisabled(), true);
  assert.match(await page.locator('#tl-message').innerText(), /choose or drop one/);
  return { page, problems };
}

/** Picks a reference, chooses its label column, Annotates; returns the predicted legend. */
async function annotatePicked(
  page: Page,
  input: '#tl-pick-file' | '#tl-pick-folder' | null,
  path: string,
  labelKey: string | null,
): Promise<{ name: string; count: number }[]> {
  await page.evaluate(() => delete document.body.dataset.annotated);
  // null: already picked.
  if (input) await page.setInputFiles(input, path);
  if (labelKey) {
    // The label chooser lists the picked file's categorical columns.
    await page.waitForFunction(
      (key) =>
        [...(document.querySelector('#tl-label-key') as HTMLSelectElement).options].some(
          (o) => o.value === key,
        ),
      labelKey,
    );
    await page.selectOption('#tl-label-key', labelKey);
  }
  assert.equal(await page.locator('#tl-annotate').isEnabled(), true);
  await page.click('#tl-annotate');
  await page.waitForSelector('body[data-annotated="true"], #tl-message.error', {
    timeout: 5 * 60_000,
  });
  const message = await page.locator('#tl-message').innerText();
  assert.equal(await page.evaluate(() => document.body.dataset.annotated ?? null), 'true', message);
  assert.equal(await page.locator('#legend h2').innerText(), 'scNym');
  return page.locator('#legend .legend-row').evaluateAll((rows) =>
    rows.map((r) => ({
      name: r.getAttribute('data-category') ?? '',
      count: Number(r.getAttribute('data-count')),
    })),
  );
}

/** Saves into the query and scores the saved labels against its cell_type. */
async function saveAndScore(page: Page, query: string): Promise<number> {
  await page.evaluate(() => {
    const info = document.querySelector('#tl-save-info');
    if (info) info.textContent = '';
  });
  await page.click('#tl-save');
  await page.waitForFunction(
    () => /saved|failed/.test(document.querySelector('#tl-save-info')?.textContent ?? ''),
    null,
    { timeout: 60_000 },
  );
  assert.match(await page.locator('#tl-save-info').innerText(), /^saved obs\/scNym/);
  const ad = await openAnnDataFile(query);
  try {
    const saved = await ad.obsColumn('scNym');
    const truth = await ad.obsColumn('cell_type');
    assert.ok(saved.kind === 'categorical' && truth.kind === 'categorical');
    let right = 0;
    for (let i = 0; i < ad.nObs; i++)
      if (saved.categories[saved.codes[i]] === truth.categories[truth.codes[i]]) right++;
    return right / ad.nObs;
  } finally {
    await ad.close();
  }
}

function assertPredicted(
  rows: { name: string; count: number }[],
  classes: string[],
  nCells: number,
): void {
  assert.ok(rows.length >= 3, JSON.stringify(rows));
  for (const r of rows) assert.ok(classes.includes(r.name), r.name);
  assert.equal(
    rows.reduce((s, r) => s + r.count, 0),
    nCells,
  );
}

test(
  'demo query alone: pick the reference .zarr folder, then a model folder from scnym train',
  { timeout: 10 * 60_000, skip: chromiumSkip },
  async () => {
    const model = join(tempDir(), 'demo-model');
    const trained = runScnym([
      'train',
      '--reference',
      join(DEMO, 'reference.zarr'),
      '--label-key',
      'cell_type',
      '--model-out',
      model,
      '--quiet',
    ]);
    assert.equal(trained.status, 0, trained.stderr);

    const query = tempCopy(join(DEMO, 'target.zarr'));
    const { page, problems } = await viewAlone(query);
    await shot(page, '1-alone');

    step('pick a .zarr folder');
    const fromZarr = await annotatePicked(
      page,
      '#tl-pick-folder',
      join(DEMO, 'reference.zarr'),
      'cell_type',
    );
    assert.match(await page.locator('#tl-source').innerText(), /reference\.zarr \(picked\)/);
    assertPredicted(fromZarr, DEMO_CLASSES, 1039);
    await shot(page, '2-zarr-annotated');
    const zarrAccuracy = await saveAndScore(page, query);
    console.log(`# picked .zarr: accuracy against the demo's cell_type ${zarrAccuracy.toFixed(3)}`);
    assert.ok(zarrAccuracy >= 0.8, `accuracy ${zarrAccuracy.toFixed(3)} < 0.8`);

    step('pick a model folder');
    const fromModel = await annotatePicked(page, '#tl-pick-folder', model, null);
    assert.equal(await page.locator('#tl-label-key').isDisabled(), true);
    assertPredicted(fromModel, DEMO_CLASSES, 1039);
    await shot(page, '3-model-annotated');
    const modelAccuracy = await saveAndScore(page, query);
    console.log(
      `# picked model: accuracy against the demo's cell_type ${modelAccuracy.toFixed(3)}`,
    );
    assert.ok(modelAccuracy >= 0.7, `accuracy ${modelAccuracy.toFixed(3)} < 0.7`);

    // A folder that is neither: one clear message, nothing offered.
    await page.setInputFiles('#tl-pick-folder', join(DEMO, 'reference.zarr', 'obs'));
    assert.match(
      await page.locator('#tl-message').innerText(),
      /obs: neither an scNym model folder .* nor an AnnData \.zarr/,
    );
    assert.deepEqual(problems, []);
    await page.close();
  },
);

test(
  'tiny query alone: pick a reference .h5ad written by anndata',
  { timeout: 10 * 60_000, skip: chromiumSkip },
  async () => {
    const query = tempCopy(join(TINY, 'target.zarr'));
    const { page, problems } = await viewAlone(query);
    step('pick an .h5ad');
    const rows = await annotatePicked(
      page,
      '#tl-pick-file',
      join(TINY, 'reference.h5ad'),
      'cell_type',
    );
    assertPredicted(rows, TINY_CLASSES, 200);
    await shot(page, '4-h5ad-annotated');
    const accuracy = await saveAndScore(page, query);
    console.log(
      `# picked .h5ad: accuracy against the tiny target's cell_type ${accuracy.toFixed(3)}`,
    );
    assert.ok(accuracy >= 0.7, `accuracy ${accuracy.toFixed(3)} < 0.7`);

    step('drop an .h5ad');
    // Dropped on the panel (a DataTransfer built in the page, as a drag from the desktop).
    const bytes = readFileSync(join(TINY, 'reference.h5ad')).toString('base64');
    const dataTransfer = await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([data], 'dropped.h5ad'));
      return dt;
    }, bytes);
    await page.dispatchEvent('#tl-pick', 'drop', { dataTransfer });
    await page.waitForFunction(
      () =>
        (document.querySelector('#tl-source') as HTMLSelectElement).selectedOptions[0]
          ?.textContent === 'Reference: dropped.h5ad (picked)',
    );
    await page.waitForFunction(
      () => (document.querySelector('#tl-label-key') as HTMLSelectElement).value === 'cell_type',
    );
    assert.deepEqual(problems, []);
    await page.close();
  },
);

test(
  "demo query alone: a picked CELLxGENE-like .h5ad offers its var['feature_name'] to match genes by",
  { timeout: 10 * 60_000, skip: chromiumSkip || needsPython.skip },
  async () => {
    const { cellxgeneReference } = makeGeneFixtures(tempDir());
    const query = tempCopy(join(DEMO, 'target.zarr'));
    const { page, problems } = await viewAlone(query);
    step('pick a CELLxGENE-like .h5ad');
    await page.setInputFiles('#tl-pick-file', cellxgeneReference);
    // Its var_names are Ensembl IDs, its symbols in var['feature_name'] (the query has symbols).
    await page.waitForSelector('#tl-gene-key option[value="feature_name"]', { state: 'attached' });
    await page.selectOption('#tl-gene-key', 'feature_name');
    const rows = await annotatePicked(page, null, cellxgeneReference, 'cell_type');
    assertPredicted(rows, DEMO_CLASSES, 1039);
    await shot(page, '5-feature-name-annotated');
    const accuracy = await saveAndScore(page, query);
    console.log(`# picked CELLxGENE-like .h5ad: accuracy ${accuracy.toFixed(3)}`);
    // Matched by symbol (by var_names, Ensembl IDs against symbols, no gene would be shared).
    assert.ok(accuracy >= 0.75, `accuracy ${accuracy.toFixed(3)} < 0.75`);
    assert.deepEqual(problems, []);
    await page.close();
  },
);

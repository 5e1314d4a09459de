/// <reference lib="dom" />
// The Transfer-labels panel inside Vitessce, end to end in headless Chromium (Debian's chromium
// driven by playwright-core): `scnym view --host vitessce` on a copy of the demo, Vitessce's
// scatterplot and cell-set manager load the .zarr, Annotate in the plugin view trains in the
// panel's worker, the predictions appear as a "scNym predictions" cell-set tree (selected, so
// Vitessce recolours), colouring by confidence selects the "scNym confidence" bins, the
// low-confidence cells become a selection, marker genes of B show in the panel, Save writes into
// the copy. Nothing is fetched from outside the server. Screenshots go to
// $SCNYM_E2E_SCREENSHOTS (default: a temp folder, printed).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, e2eLog, launchChromium, startView } from '../helpers/browser.js';
import { openAnnDataFile } from '@scnym/core/node';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const ANNOTATE_TIMEOUT = 10 * 60_000;
const PREDICTIONS = 'scNym predictions';
const CONFIDENCE = 'scNym confidence';
/** Zarr readers probe for metadata that a v2 store does not have (Vitessce says so itself). */
const ZARR_PROBE = /\/(zarr\.json|\.zarray|\.zattrs|\.zgroup)$/;

const { shots, step, shot } = e2eLog(tempDir, 'vitessce-');

let server: ChildProcess | undefined;
let context: BrowserContext | undefined;
after(async () => {
  server?.kill('SIGTERM');
  const closing = context?.close().catch(() => undefined);
  await Promise.race([closing, new Promise((done) => setTimeout(done, 15_000).unref())]);
});

/** A level-zero node of Vitessce's cell-set manager (an rc-tree) and its sets. */
function treeNode(page: Page, name: string) {
  return page.locator(`li.level-0-treenode:has(> span[title="${name}"])`);
}

/** The names of a tree node's sets, and which are checked (= selected, so coloured). */
async function treeSets(page: Page, name: string): Promise<SetState> {
  const node = treeNode(page, name);
  if (await node.locator(':scope > .rc-tree-switcher_close').count()) {
    await node.locator(':scope > .rc-tree-switcher').click(); // expand
    await node.locator('li.level-1-treenode').first().waitFor();
  }
  return node.locator('li.level-1-treenode').evaluateAll((items) =>
    items.map((li) => ({
      name: li.querySelector('span[title]')?.getAttribute('title') ?? '',
      checked: li.classList.contains('rc-tree-treenode-checkbox-checked'),
    })),
  );
}

type SetState = { name: string; checked: boolean }[];

/** The colour the cell-set manager shows for each set of a tree (its swatch), by set name. */
async function setColours(page: Page, name: string): Promise<Map<string, string>> {
  await treeSets(page, name); // expanded
  const pairs = await treeNode(page, name)
    .locator('li.level-1-treenode')
    .evaluateAll((items) =>
      items.map((li) => [
        li.querySelector('span[title]')?.getAttribute('title') ?? '',
        li.querySelector('.rc-tree-switcher-icon rect')?.getAttribute('fill') ?? '',
      ]),
    );
  return new Map(pairs as [string, string][]);
}

/** Waits until the tree `name` exists and its sets satisfy `ok`; returns them. */
async function waitForSets(
  page: Page,
  name: string,
  ok: (sets: SetState) => boolean,
  timeout = 60_000,
): Promise<SetState> {
  const end = Date.now() + timeout;
  await treeNode(page, name).waitFor({ timeout });
  for (;;) {
    const sets = await treeSets(page, name);
    if (ok(sets)) return sets;
    if (Date.now() > end) throw new Error(`${name}: ${JSON.stringify(sets)}`);
    await page.waitForTimeout(250);
  }
}

test(
  'Vitessce host: open, Annotate in the plugin view, predicted cell sets, confidence, markers, Save',
  {
    timeout: 20 * 60_000,
    // Outside CI a machine without Debian's Chromium skips this; in CI (CI=true) it must run.
    skip: chromiumSkip,
  },
  async () => {
    const dir = tempDir();
    const query = tempCopy(join(DEMO, 'target.zarr'), 'target.zarr');
    const epochs = process.env.SCNYM_E2E_EPOCHS;
    const view = await startView([
      query,
      '--reference',
      join(DEMO, 'reference.zarr'),
      '--host',
      'vitessce',
      ...(epochs ? ['--epochs', epochs] : []),
    ]);
    server = view.server;
    const { url, origin } = view;

    const launched = await launchChromium(join(dir, 'profile'), { width: 1400, height: 860 });
    context = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(60_000);
    const problems: string[] = [];
    const foreign: string[] = [];
    const failed: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    // Every request (workers' too) must go to this server; the CSP would block others, and
    // Chromium reports those as console errors, caught above.
    context.on('request', (r) => {
      if (
        !r.url().startsWith(`${origin}/`) &&
        !r.url().startsWith('blob:') &&
        !r.url().startsWith('data:')
      )
        foreign.push(r.url());
    });
    context.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });

    step('open');
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"], body[data-error]', { timeout: 90_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
    // Vitessce's views: the UMAP scatterplot (deck.gl canvas), the cell-set manager with the
    // file's categorical columns, and the plugin view with the panel.
    await page.waitForSelector('text=Scatterplot (UMAP)');
    await page.waitForSelector('canvas');
    await treeNode(page, 'cell_type').waitFor();
    await page.waitForSelector('text=1,039 cells');
    await page.waitForFunction(
      () =>
        (document.querySelector('#tl-label-key') as HTMLSelectElement | null)?.value ===
        'cell_type',
    );
    await shot(page, '1-opened');

    step('annotate');
    const started = Date.now();
    await page.click('#tl-annotate');
    await page.waitForSelector('#tl-progress-text:has-text("epoch")', { timeout: 5 * 60_000 });
    await page.waitForSelector('body[data-annotated="true"], #tl-message.error', {
      timeout: ANNOTATE_TIMEOUT,
    });
    const message = await page.locator('#tl-message').innerText();
    assert.equal(
      await page.evaluate(() => document.body.dataset.annotated ?? null),
      'true',
      message,
    );
    const info = await page.evaluate(() => ({ ...document.body.dataset }));
    console.log(
      `# annotate: ${((Date.now() - started) / 1000).toFixed(1)} s in the page, ` +
        `${info.annotateSeconds} s in the worker, backend ${info.backend}`,
    );

    step('predicted cell sets');
    // The predictions are a cell-set tree in Vitessce's manager, every set selected (checked),
    // so the scatterplot is coloured by them.
    const predicted = await waitForSets(page, PREDICTIONS, (sets) => sets.length >= 5);
    const node = treeNode(page, PREDICTIONS);
    console.log(`# predicted sets: ${predicted.map((s) => s.name).join(', ')}`);
    assert.ok(predicted.length >= 5, `${predicted.length} predicted sets`);
    assert.ok(predicted.some((s) => s.name === 'B'));
    assert.ok(
      predicted.every((s) => s.checked),
      'every predicted set is selected',
    );
    const sizes = await node
      .locator('li.level-1-treenode')
      .evaluateAll((items) =>
        items.map((li) => Number(li.querySelector('[class*="nodeSizeLabel"]')?.textContent)),
      );
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      1039,
      `set sizes ${sizes.join(', ')}`,
    );
    // A label has one colour: the file's cell_type tree and the predictions tree agree.
    const fileColours = await setColours(page, 'cell_type');
    const predictedColours = await setColours(page, PREDICTIONS);
    const shared = [...predictedColours.keys()].filter((n) => fileColours.has(n));
    console.log(
      `# colours: ${shared.map((n) => `${n} ${fileColours.get(n)} / ${predictedColours.get(n)}`).join(', ')}`,
    );
    assert.ok(shared.length >= 5 && shared.includes('B'), shared.join(', '));
    for (const n of shared) {
      assert.match(fileColours.get(n)!, /^(#[0-9a-f]{6}|rgb\()/i, n);
      assert.equal(predictedColours.get(n), fileColours.get(n), `${n}: one colour in both trees`);
    }
    assert.equal(new Set(predictedColours.values()).size, predictedColours.size);
    await shot(page, '2-annotated');

    step('colour by confidence');
    await page.click('#tl-colour-confidence');
    const bins = await waitForSets(page, CONFIDENCE, (sets) => sets.some((b) => b.checked));
    assert.ok(bins.length >= 2, `${bins.length} confidence bins`);
    assert.ok(bins.every((s) => s.checked));
    assert.ok(
      bins.every((s) => ['< 0.5', '0.5–0.7', '0.7–0.9', '≥ 0.9'].includes(s.name)),
      bins.map((s) => s.name).join(', '),
    );
    assert.ok(
      (await treeSets(page, PREDICTIONS)).every((s) => !s.checked),
      'the predictions are no longer the colouring',
    );
    await shot(page, '3-confidence');
    // … and the low-confidence cells as a selection (a set of their own).
    await page.fill('#tl-threshold', '0.9');
    await page.click('#tl-select-low');
    const selected = await waitForSets(page, 'scNym selection', (sets) => sets.length > 0);
    assert.equal(selected.length, 1);
    assert.ok(selected[0].checked);
    await page.click('#tl-colour-label');
    await waitForSets(page, PREDICTIONS, (sets) => sets.every((p) => p.checked));

    step('saliency');
    await page.selectOption('#tl-saliency-class', 'B');
    await page.selectOption('#tl-saliency-method', 'gradient');
    await page.click('#tl-saliency-run');
    await page.waitForSelector('#tl-saliency-svg', { timeout: 5 * 60_000 });
    const genes = await page
      .locator('#tl-saliency-svg .saliency-bar')
      .evaluateAll((bars) => bars.map((b) => b.getAttribute('data-gene')));
    console.log(`# B markers: ${genes.join(', ')}`);
    assert.equal(genes.length, 15);
    assert.ok(
      genes.some((g) => /^(CD79A|CD79B|MS4A1|CD74|HLA-D)/.test(String(g))),
      `B-cell markers (CD79A/B, MS4A1, CD74, HLA class II) among ${genes.join(', ')}`,
    );
    await page.locator('#tl-saliency-chart').scrollIntoViewIfNeeded();
    await shot(page, '4-saliency');

    step('lasso');
    // Vitessce's own lasso makes a "My Selections" set; the panel sees it as its selection.
    await page.click('button[title="Select lasso"]');
    const canvas = page.locator('canvas').first();
    const box = (await canvas.boundingBox())!;
    const around = (fx: number, fy: number) => [box.x + box.width * fx, box.y + box.height * fy];
    const polygon = [around(0.3, 0.3), around(0.75, 0.3), around(0.75, 0.7), around(0.3, 0.7)];
    await page.mouse.move(polygon[0][0], polygon[0][1]);
    await page.mouse.down();
    for (const [x, y] of [...polygon.slice(1), polygon[0]])
      await page.mouse.move(x, y, { steps: 8 });
    await page.mouse.up();
    const lassoed = await waitForSets(page, 'My Selections', (sets) => sets.length > 0);
    assert.ok(lassoed[0].checked);
    const lassoSize = await treeNode(page, 'My Selections')
      .locator('li.level-1-treenode')
      .first()
      .evaluate((li) => Number(li.querySelector('[class*="nodeSizeLabel"]')?.textContent));
    assert.ok(lassoSize > 0 && lassoSize < 1039, `${lassoSize} cells lassoed`);
    await page.check('#tl-saliency-selection');
    await page.click('#tl-saliency-run');
    await page.waitForSelector(`#tl-saliency-chart:has-text("B · gradient · ${lassoSize} cells")`, {
      timeout: 5 * 60_000,
    });
    await shot(page, '5-lasso');

    step('save');
    await page.locator('#tl-save').scrollIntoViewIfNeeded();
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
      assert.equal(saved.kind, 'categorical');
      if (saved.kind === 'categorical') {
        assert.deepEqual([...saved.categories].sort(), predicted.map((s) => s.name).sort());
      }
    } finally {
      await ad.close();
    }

    console.log(`# screenshots in ${shots}`);
    assert.deepEqual(foreign, [], 'nothing fetched from outside the server');
    // Zarr metadata probes are 404s by design (Vitessce's loader tries v3 and array paths
    // first); nothing else may fail.
    const unexpected = failed.filter((f) => !(f.startsWith('404 ') && ZARR_PROBE.test(f)));
    assert.deepEqual(unexpected, [], 'no failed requests but zarr metadata probes');
    const probes = failed.length;
    assert.deepEqual(
      problems.filter(
        (p) =>
          !/favicon|GPU stall/.test(p) &&
          !(
            probes > 0 &&
            /Failed to load resource: the server responded with a status of 404/.test(p)
          ),
      ),
      [],
      'no page errors',
    );
  },
);

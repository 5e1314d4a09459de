/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The VS Code extension end to end in a real VS Code: the packaged scnym.vsix installed into
// code-server (installed from npm on first use, test/helpers/code-server.ts), driven in headless
// Debian Chromium with playwright-core, on a copy of the demo (reference.zarr + target.zarr).
// The palette lists the six commands; Annotate (three quick picks, a progress notification, the
// results webview); the labels written into target.zarr read back with core (≥ 0.7 accurate);
// Saliency Markers (the class select redraws the chart; B-cell markers for class B); an Annotate
// that replaces the predictions but is cancelled after its first epoch leaves the files exactly
// as they were; in the viewer, a relabelled selection saved into target.zarr (read back with
// core), colour by gene, then a window reload brings the viewer tab back with the saved labels, and a reload
// after the dataset was moved says it is gone. Screenshots go to $SCNYM_E2E_SCREENSHOTS (default: a temp folder, kept and
// printed). While debugging: $SCNYM_E2E_VSIX skips packaging, $SCNYM_E2E_EPOCHS shortens
// training, $SCNYM_CODE_SERVER_DIR says where code-server is (or gets) installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { openAnnDataFile } from '@scnym/core/node';
import {
  chromiumSkip,
  answerDialog,
  clickNotificationButton,
  ensureCodeServer,
  errorNotifications,
  installExtension,
  launchChromium,
  openWorkbench,
  paletteCommands,
  pickQuickItem,
  quickItems,
  runCommand,
  startCodeServer,
  tabTitles,
  waitForNotification,
  webviewFrame,
  type CodeServer,
} from '../helpers/code-server.js';
import { e2eLog } from '../helpers/browser.js';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir, treeDigest } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const COMMANDS = [
  'scNym: Annotate Dataset…',
  'scNym: Train Model…',
  'scNym: Predict with Model…',
  'scNym: Show Saliency Markers…',
  'scNym: Evaluate Against Labels…',
  'scNym: Open in Viewer',
];
const N_CELLS = 1039;
const ANNOTATE_TIMEOUT = 12 * 60_000;

const { shots, step, shot } = e2eLog(() => mkdtempSync(join(tmpdir(), 'scnym-vscode-e2e-')));

let server: CodeServer | undefined;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;
async function closeAll(): Promise<void> {
  const closing = context?.close().catch(() => undefined);
  context = undefined;
  await Promise.race([closing, new Promise((done) => setTimeout(done, 15_000).unref())]);
  await server?.stop();
}
after(closeAll);

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}

/** `npm run package -w extension`, or $SCNYM_E2E_VSIX when given (a vsix built beforehand). */
function packageExtension(): string {
  if (process.env.SCNYM_E2E_VSIX) return process.env.SCNYM_E2E_VSIX;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'package', '-w', 'extension'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 5 * 60_000,
  });
  const vsix = join(REPO, 'extension', 'scnym.vsix');
  assert.equal(r.status, 0, `npm run package -w extension failed:\n${r.stdout}\n${r.stderr}`);
  assert.ok(existsSync(vsix), `no ${vsix}`);
  return vsix;
}

function makeWritable(path: string): void {
  const s = statSync(path);
  chmodSync(path, s.mode | 0o200);
  if (s.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

/** The scNym output channel and the extension host's log, for a failure's diagnosis. */
function extensionLogs(): string {
  if (!userDataDir || !existsSync(join(userDataDir, 'logs'))) return '';
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/scNym\.log$|^exthost\.log$|^remoteexthost\.log$/.test(name)) found.push(path);
    }
  };
  walk(join(userDataDir, 'logs'));
  return found.map((f) => `--- ${f}\n${readFileSync(f, 'utf8').slice(-6000)}`).join('\n');
}

/** The labels in obs['scNym'], read with core. */
async function labelsIn(path: string): Promise<(string | null)[]> {
  const ad = await openAnnDataFile(path);
  try {
    const col = await ad.obsColumn('scNym');
    assert.equal(col.kind, 'categorical');
    if (col.kind !== 'categorical') return [];
    return Array.from(col.codes, (c) => (c < 0 ? null : col.categories[c]));
  } finally {
    await ad.close();
  }
}

/** Waits until the webview page says it is ready (body[data-state="ready"]). */
async function ready(frame: Frame, timeout = 60_000): Promise<void> {
  await frame.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout });
}

/**
 * Picks a value the way a user does: a native <select>, or a @vscode-elements single select
 * (click it, then click the option in its dropdown), and waits for the element to hold it.
 */
async function choose(frame: Frame, selector: string, value: string): Promise<void> {
  const el = frame.locator(selector);
  if ((await el.evaluate((e) => e.tagName)) === 'SELECT') {
    await el.selectOption(value);
    return;
  }
  const option = el.locator(`vscode-option[value="${value}"]`);
  assert.equal(await option.count(), 1, `${selector} offers ${value}`);
  const label = ((await option.textContent()) ?? '').trim();
  await el.click();
  await el.getByRole('option', { name: label, exact: true }).click();
  await frame.waitForFunction(
    ([s, v]) => (document.querySelector(s) as HTMLSelectElement | null)?.value === v,
    [selector, value] as const,
  );
}

/** The custom elements of a webview that were never defined (their script did not run). */
async function undefinedElements(frame: Frame): Promise<string[]> {
  return frame.evaluate(() => [
    ...new Set(
      [...document.querySelectorAll(':not(:defined)')].map((e) => e.tagName.toLowerCase()),
    ),
  ]);
}

async function chartGenes(frame: Frame): Promise<string[]> {
  return frame
    .locator('[data-testid="saliency-chart"] [data-gene]')
    .evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-gene') ?? ''))]);
}

/** Waits until the chart shows other genes than `before`. */
async function chartChanged(frame: Frame, before: string[]): Promise<void> {
  await frame.waitForFunction(
    (was) =>
      [
        ...new Set(
          [...document.querySelectorAll('[data-testid="saliency-chart"] [data-gene]')].map((e) =>
            e.getAttribute('data-gene'),
          ),
        ),
      ].join() !== was,
    before.join(),
  );
}

const B_MARKER = /^(CD79A|CD79B|MS4A1|CD74|HLA-D.*)$/;

/** The three quick picks of Annotate: query, reference, label column. */
async function pickAnnotateInputs(page: Page, shotPrefix?: string): Promise<void> {
  const queries = await quickItems(page, { title: /query/i });
  if (shotPrefix) await shot(page, `${shotPrefix}-pick-query`);
  for (const item of ['target.zarr', 'reference.zarr', 'Browse…']) {
    assert.ok(
      queries.some((q) => q.includes(item)),
      `${item} among ${JSON.stringify(queries)}`,
    );
  }
  await pickQuickItem(page, 'target.zarr', { title: /query/i, exact: true });
  const references = await quickItems(page, { title: /reference/i });
  assert.ok(
    references.some((r) => r.includes('reference.zarr')),
    JSON.stringify(references),
  );
  assert.ok(!references.some((r) => r.includes('target.zarr')), JSON.stringify(references));
  await pickQuickItem(page, 'reference.zarr', { title: /reference/i, exact: true });
  const columns = await quickItems(page, { title: /label column/i });
  if (shotPrefix) await shot(page, `${shotPrefix}-pick-column`);
  assert.ok(
    columns.some((c) => c.includes('cell_type')),
    JSON.stringify(columns),
  );
  await pickQuickItem(page, 'cell_type', { title: /label column/i, exact: true });
}

test(
  'VS Code: Annotate from the palette, results webview, labels written, saliency, Cancel writes nothing, relabel and Save in the viewer, the viewer tab restored after a reload',
  {
    timeout: 40 * 60_000,
    // Outside CI a machine without Debian's Chromium skips this; in CI (CI=true) it must run.
    // code-server is installed by the test itself when missing.
    skip: chromiumSkip,
  },
  async () => {
    step('package and install');
    let started = Date.now();
    const vsix = packageExtension();
    console.log(`# packaged ${vsix} in ${seconds(started)} s`);
    started = Date.now();
    const bin = await ensureCodeServer();
    console.log(`# code-server ready in ${seconds(started)} s: ${bin}`);
    const dir = tempDir();
    const extensionsDir = join(dir, 'extensions');
    userDataDir = join(dir, 'user-data');
    started = Date.now();
    await installExtension(bin, vsix, extensionsDir);
    console.log(`# extension installed in ${seconds(started)} s`);

    const workspace = tempCopy(DEMO, 'demo');
    makeWritable(workspace);
    const query = join(workspace, 'target.zarr');
    const reference = join(workspace, 'reference.zarr');
    const referenceBefore = treeDigest(reference);

    // The preset's epochs (as a user gets them); SCNYM_E2E_EPOCHS shortens runs while debugging.
    const epochs = process.env.SCNYM_E2E_EPOCHS;
    started = Date.now();
    server = await startCodeServer({
      bin,
      folder: workspace,
      extensionsDir,
      userDataDir,
      settings: { 'scnym.seed': 0, ...(epochs ? { 'scnym.epochs': Number(epochs) } : {}) },
    });
    console.log(`# code-server answered in ${seconds(started)} s`);

    const browser = await launchChromium(join(dir, 'profile'), { width: 1600, height: 1000 }).catch(
      async (e) => {
        await closeAll();
        throw e;
      },
    );
    context = browser.context;
    const page = browser.page;
    page.setDefaultTimeout(60_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));

    try {
      started = Date.now();
      await openWorkbench(page, server.url);
      console.log(`# workbench shown in ${seconds(started)} s`);
      await shot(page, '01-workbench');

      step('commands');
      // The palette lists the extension's commands once its contributions have arrived.
      let titles: string[] = [];
      for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        titles = await paletteCommands(page, 'scNym:');
        if (COMMANDS.every((c) => titles.includes(c))) break;
        await page.waitForTimeout(1000);
      }
      assert.deepEqual(
        COMMANDS.filter((c) => !titles.includes(c)),
        [],
        `palette: ${JSON.stringify(titles)}`,
      );

      step('annotate');
      await runCommand(page, 'scNym: Annotate Dataset…');
      await pickAnnotateInputs(page, '02');
      started = Date.now();
      // Training starts at "epoch 0/30"; once an epoch is done the line carries its scores.
      const epoch = await waitForNotification(
        page,
        /annotating target\.zarr.*epoch \d+\/\d+ .*(loss|acc)/,
        5 * 60_000,
      );
      console.log(`# progress: ${epoch}`);
      assert.match(epoch, /epoch \d+\/\d+ .*(loss|acc)/);
      await shot(page, '03-training');
      const done = await waitForNotification(
        page,
        /scNym: annotated [\d,]+ cells of target\.zarr|failed/,
        ANNOTATE_TIMEOUT,
      );
      console.log(`# annotate: ${seconds(started)} s: ${done}`);
      assert.match(done, /^scNym: annotated 1,039 cells of target\.zarr/);

      step('results webview');
      const results = await webviewFrame(page, '[data-testid="summary"]');
      await ready(results);
      assert.ok(
        (await tabTitles(page)).includes('scNym results — target.zarr'),
        JSON.stringify(await tabTitles(page)),
      );
      const counts = await results
        .locator('[data-testid="label-counts"] [data-label][data-count]')
        .evaluateAll((rows) =>
          rows.map((r) => ({
            label: r.getAttribute('data-label') ?? '',
            count: Number(r.getAttribute('data-count')),
          })),
        );
      console.log(`# label counts: ${JSON.stringify(counts)}`);
      assert.ok(counts.length >= 5, JSON.stringify(counts));
      assert.equal(
        counts.reduce((s, r) => s + r.count, 0),
        N_CELLS,
      );
      assert.ok(
        (await results.locator('[data-testid="confidence-histogram"] rect[data-bin]').count()) >= 5,
      );
      for (const id of ['summary', 'low-confidence', 'per-class']) {
        assert.equal(await results.locator(`[data-testid="${id}"]`).count(), 1, id);
      }
      assert.match(await results.locator('[data-testid="summary"]').innerText(), /1,039/);
      assert.deepEqual(await undefinedElements(results), [], 'results: custom elements defined');
      await shot(page, '04-results');

      step('viewer webview');
      // The plugin's scatterplot in a VS Code webview, its reads served by the extension's worker:
      // the file's new scNym column is there to colour by.
      await results.locator('[data-testid="open-viewer"]').click();
      const viewer = await webviewFrame(page, '#legend .legend-row', 2 * 60_000);
      await viewer.waitForSelector('body[data-state="ready"]');
      assert.ok(
        (await tabTitles(page)).includes('scNym viewer — target.zarr'),
        JSON.stringify(await tabTitles(page)),
      );
      assert.equal((await viewer.locator('canvas').count()) >= 1, true, 'the plot has a canvas');
      await viewer.locator('#color-by').selectOption('scNym');
      // The legend shows the predicted labels with the counts the results view gave.
      const expected = Object.fromEntries(counts.map((c) => [c.label, c.count]));
      await viewer.waitForFunction((want: Record<string, number>) => {
        const rows = [...document.querySelectorAll('#legend .legend-row')];
        return (
          rows.length === Object.keys(want).length &&
          rows.every(
            (r) =>
              want[r.getAttribute('data-category') ?? ''] === Number(r.getAttribute('data-count')),
          )
        );
      }, expected);
      await shot(page, '04b-viewer');

      step('labels in the file');
      const ad = await openAnnDataFile(query);
      try {
        const saved = await ad.obsColumn('scNym');
        const truth = await ad.obsColumn('cell_type');
        const confidence = await ad.obsColumn('scNym_confidence');
        assert.equal(saved.kind, 'categorical');
        assert.equal(truth.kind, 'categorical');
        assert.equal(confidence.kind, 'numeric');
        if (saved.kind !== 'categorical' || truth.kind !== 'categorical') return;
        if (confidence.kind !== 'numeric') return;
        assert.equal(saved.codes.length, N_CELLS);
        let right = 0;
        for (let i = 0; i < ad.nObs; i++) {
          if (saved.categories[saved.codes[i]] === truth.categories[truth.codes[i]]) right++;
          const c = confidence.values[i];
          assert.ok(c >= 0 && c <= 1, `confidence ${c} of cell ${i}`);
        }
        const accuracy = right / ad.nObs;
        console.log(`# accuracy against the demo's cell_type: ${accuracy.toFixed(3)}`);
        assert.ok(accuracy >= 0.7, `accuracy ${accuracy.toFixed(3)} < 0.7`);
        // The webview counts what the file holds.
        for (const { label, count } of counts) {
          const code = saved.categories.indexOf(label);
          assert.equal(saved.codes.filter((c) => c === code).length, count, label);
        }
      } finally {
        await ad.close();
      }
      assert.equal(treeDigest(reference), referenceBefore, 'the reference is left as it was');

      step('saliency');
      await runCommand(page, 'scNym: Show Saliency Markers…');
      await pickQuickItem(page, 'target.zarr', { title: /dataset/i, exact: true });
      const models = await quickItems(page, { title: /model/i });
      console.log(`# models: ${JSON.stringify(models)}`);
      assert.ok(/last annotation|target\.zarr/.test(models[0]), JSON.stringify(models));
      await pickQuickItem(page, 'last annotation', { title: /model/i });
      started = Date.now();
      const saliency = await webviewFrame(page, '[data-testid="saliency-chart"]', 5 * 60_000);
      await ready(saliency, 5 * 60_000);
      await saliency.waitForFunction(
        () => document.querySelectorAll('[data-testid="saliency-chart"] [data-gene]').length >= 5,
      );
      console.log(`# saliency: ${seconds(started)} s`);
      assert.ok(
        (await tabTitles(page)).includes('scNym markers — target.zarr'),
        JSON.stringify(await tabTitles(page)),
      );
      assert.equal(await saliency.locator('[data-testid="class-select"]').count(), 1);
      assert.equal(await saliency.locator('[data-testid="method-select"]').count(), 1);
      assert.deepEqual(await undefinedElements(saliency), [], 'saliency: custom elements defined');
      // Another class first, so choosing B really redraws the chart.
      const classSelect = '[data-testid="class-select"]';
      const shown = await saliency
        .locator(classSelect)
        .evaluate((e) => (e as HTMLSelectElement).value);
      const other = shown === 'CD14+Mono' ? 'NK' : 'CD14+Mono';
      let before = await chartGenes(saliency);
      await choose(saliency, classSelect, other);
      await chartChanged(saliency, before);
      before = await chartGenes(saliency);
      console.log(`# class ${other} markers: ${before.join(', ')}`);
      await choose(saliency, classSelect, 'B');
      await chartChanged(saliency, before);
      const genes = await chartGenes(saliency);
      console.log(`# class B markers: ${genes.join(', ')}`);
      assert.ok(genes.length >= 5, genes.join(', '));
      assert.ok(
        genes.some((g) => B_MARKER.test(g)),
        `B-cell markers among ${genes.join(', ')}`,
      );
      await shot(page, '05-saliency');

      step('cancel');
      // Annotate again, agree to replace the predictions, then Cancel after the first epoch:
      // nothing in the workspace's datasets may change.
      const queryBefore = treeDigest(query);
      await runCommand(page, 'scNym: Annotate Dataset…');
      await pickAnnotateInputs(page);
      const question = await answerDialog(page, 'Replace');
      assert.match(question, /already has scNym predictions/);
      await waitForNotification(page, /annotating target\.zarr.*epoch/, 5 * 60_000);
      await shot(page, '06-before-cancel');
      await clickNotificationButton(page, /annotating target\.zarr/, 'Cancel');
      const cancelled = await waitForNotification(page, /cancelled/i, 60_000);
      console.log(`# cancel: ${cancelled}`);
      await page.waitForTimeout(800); // the toast slides in
      await shot(page, '07-cancelled');
      await page
        .locator('.notifications-toasts .notification-list-item-message', {
          hasText: /annotating target\.zarr: (reading|training|predicting|saving)/,
        })
        .waitFor({ state: 'detached', timeout: 30_000 });
      // A late write would show up a moment later.
      await page.waitForTimeout(3000);
      assert.equal(treeDigest(query), queryBefore, 'Cancel left target.zarr unchanged');
      assert.equal(treeDigest(reference), referenceBefore, 'Cancel left reference.zarr unchanged');

      step('relabel in the viewer, save');
      await page.locator('.tabs-container .tab', { hasText: 'scNym viewer — target.zarr' }).click();
      const editor = await webviewFrame(page, '#vs-relabel', 60_000);
      await editor.waitForSelector('body[data-state="ready"]');
      const predicted = await labelsIn(query);
      await editor.locator('#color-by').selectOption('scNym');
      const nkRow = editor.locator('#legend .legend-row[data-category="NK"]');
      await nkRow.waitFor();
      const nk = Number(await nkRow.getAttribute('data-count'));
      assert.equal(nk, predicted.filter((l) => l === 'NK').length);
      await nkRow.locator('.name').click();
      await editor.waitForFunction(
        (n) => document.querySelector('#selection-info')?.textContent === `${n} selected`,
        nk,
      );
      await editor.locator('#tl-relabel-name').fill('NK cell');
      await editor.locator('#tl-relabel-apply').click();
      await editor.waitForSelector('#legend .legend-row[data-category="NK cell"]');
      await shot(page, '08-viewer-relabelled');
      await editor.locator('#vs-save').click();
      await editor.waitForFunction(() => document.body.dataset.saved === '1', null, {
        timeout: 60_000,
      });
      assert.match(await editor.locator('#vs-save-info').innerText(), /^saved obs\/scNym/);
      const relabelled = await labelsIn(query);
      assert.deepEqual(
        relabelled,
        predicted.map((l) => (l === 'NK' ? 'NK cell' : l)),
        'the file holds the relabel',
      );
      await shot(page, '09-viewer-saved');

      step('colour by gene in the viewer');
      await editor.locator('#gene-search').fill('CD79A');
      await editor.locator('#gene-search').press('Enter');
      await editor.waitForFunction(
        () => document.querySelector('#legend h2')?.textContent === 'CD79A · log1p(CPM)',
      );
      console.log(`# CD79A coloured in ${await editor.locator('#gene-status').innerText()}`);
      await shot(page, '09b-viewer-gene');
      // Back to the labels: the restored tab comes back coloured by them.
      await editor.locator('#color-by').selectOption('scNym');
      await editor.waitForSelector('#legend .legend-row[data-category="NK cell"]');

      step('reload: the viewer tab comes back');
      const reload = async () => {
        const navigated = page.waitForEvent('framenavigated', {
          predicate: (f) => f === page.mainFrame(),
          timeout: 60_000,
        });
        await runCommand(page, 'Developer: Reload Window');
        await navigated;
        await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
      };
      await reload();
      // Coloured by scNym again (the page's state), read from the file: the saved labels.
      const restored = await webviewFrame(
        page,
        '#legend .legend-row[data-category="NK cell"]',
        2 * 60_000,
      );
      await restored.waitForSelector('body[data-state="ready"]');
      assert.equal(
        Number(
          await restored
            .locator('#legend .legend-row[data-category="NK cell"]')
            .getAttribute('data-count'),
        ),
        nk,
      );
      assert.ok(
        (await tabTitles(page)).includes('scNym viewer — target.zarr'),
        JSON.stringify(await tabTitles(page)),
      );
      await shot(page, '10-viewer-restored');

      step('reload with the dataset moved: the tab says it is gone');
      renameSync(query, `${query}.moved`);
      await reload();
      const gone = await webviewFrame(page, '#app.fatal', 2 * 60_000);
      assert.match(await gone.locator('#app').innerText(), /target\.zarr is no longer there/);
      await shot(page, '11-viewer-dataset-gone');
      renameSync(`${query}.moved`, query);

      assert.deepEqual(await errorNotifications(page), [], 'no error notifications');
      if (problems.length) console.log(`# page errors (not failures): ${problems.join(' | ')}`);
    } catch (err) {
      await shot(page, '99-failure').catch(() => undefined);
      console.log(`# failure screenshot in ${shots}; code-server said:\n${server.output()}`);
      console.log(extensionLogs());
      throw err;
    } finally {
      console.log(`# screenshots in ${shots}`);
      // Before tmp.ts removes the folders they write into.
      await closeAll();
    }
  },
);

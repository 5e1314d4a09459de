/// <reference lib="dom" />
// Compare and correct in the viewer, end to end in headless Chromium: `scnym view` on a copy of
// the demo, Annotate (a short run), then the predictions against the demo's cell_type: the
// confusion matrix (its counts are core's; a click selects exactly that many cells), per-class
// precision / recall / mean confidence; undo and redo of a relabel (buttons and Ctrl+Z /
// Ctrl+Shift+Z); a category renamed from the legend; Annotate again asks first while edits are
// unsaved; Save drops the categories no cell holds (read back with core).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  chromiumSkip,
  closeAfterFile,
  e2eLog,
  legendRows,
  openViewer,
} from '../helpers/browser.js';
import { openAnnDataFile } from '@scnym/core/node';
import { REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const N_CELLS = 1039;
const MANUAL = 'NK (checked by hand)';
const RENAMED = 'B cell';

const { shots, step, shot } = e2eLog(tempDir, 'compare-');

const started = closeAfterFile();

test(
  'demo: confusion matrix against cell_type selects its cells; undo/redo, rename, Save drops empty categories',
  { timeout: 15 * 60_000, skip: chromiumSkip },
  async () => {
    const query = tempCopy(join(DEMO, 'target.zarr'), 'target.zarr');
    // A short run: the checks are about the comparison and the edits, not the accuracy.
    const epochs = process.env.SCNYM_E2E_EPOCHS ?? '4';
    const { page, problems } = await openViewer(
      started,
      [query, '--reference', join(DEMO, 'reference.zarr'), '--epochs', epochs],
      { viewport: { width: 1400, height: 900 } },
    );

    step('annotate');
    await page.waitForFunction(
      () =>
        (document.querySelector('#tl-label-key') as HTMLSelectElement | null)?.value ===
        'cell_type',
    );
    await page.click('#tl-annotate');
    await page.waitForSelector('body[data-annotated="true"], #tl-message.error', {
      timeout: 10 * 60_000,
    });
    assert.equal(
      await page.evaluate(() => document.body.dataset.annotated ?? null),
      'true',
      await page.locator('#tl-message').innerText(),
    );

    step('compare');
    // The query's own categorical columns are offered, not the panel's.
    const offered = await page
      .locator('#tl-compare-truth option')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    assert.ok(offered.includes('cell_type'), offered.join(', '));
    assert.ok(!offered.includes('scNym'));
    await page.selectOption('#tl-compare-truth', 'cell_type');
    await page.waitForSelector('#tl-confusion button.cm-cell');
    const matrix = await confusion(page);
    assert.equal(
      matrix.reduce((s, c) => s + c.count, 0),
      N_CELLS,
      'every demo cell has a cell_type',
    );
    // The scores against the labels as shown: the diagonal over all cells is the accuracy.
    const diagonal = matrix.filter((c) => c.row === c.column).reduce((s, c) => s + c.count, 0);
    const summary = await page.locator('#tl-compare-summary').innerText();
    assert.match(summary, new RegExp(`accuracy ${((100 * diagonal) / N_CELLS).toFixed(1)}%`));
    const classRows = await page.locator('#tl-class-scores tbody tr').count();
    assert.ok(classRows >= 5, `${classRows} classes scored`);
    const cd4 = await page
      .locator('#tl-class-scores tr[data-class="CD4T"] td')
      .evaluateAll((tds) => tds.map((t) => t.textContent ?? ''));
    assert.match(cd4[0], /^\d+\.\d%$/, 'precision');
    assert.match(cd4[1], /^\d+\.\d%$/, 'recall');
    assert.ok(Number(cd4[2]) > 0 && Number(cd4[2]) <= 1, `mean confidence ${cd4[2]}`);
    assert.equal(cd4[3], '356');

    // A click on an entry selects exactly its cells: the largest off-diagonal one (a mistake to
    // look at) and a diagonal one.
    const off = matrix
      .filter((c) => c.row !== c.column && c.count > 0)
      .sort((a, b) => b.count - a.count)[0];
    const on = matrix.find((c) => c.row === 'B' && c.column === 'B')!;
    for (const entry of [off, on].filter(Boolean)) {
      await page.click(cellSelector(entry));
      await page.waitForFunction(
        (n) => document.querySelector('#selection-info')?.textContent === `${n} selected`,
        entry.count.toLocaleString('en-US'),
      );
      assert.equal(await selectionSize(page), entry.count, `${entry.row} → ${entry.column}`);
    }
    await shot(page, '1-confusion');

    step('relabel, undo, redo');
    const before = await legendRows(page);
    const nk = before.find((r) => r.name === 'NK');
    assert.ok(nk, 'NK is predicted');
    const withManual: Record<string, number> = { ...count(before), [MANUAL]: nk.count };
    delete withManual.NK;
    await page.click('#legend .legend-row[data-category="NK"] .name');
    await page.fill('#tl-relabel-name', MANUAL);
    await page.click('#tl-relabel-apply');
    await legendIs(page, withManual);
    // The comparison follows the edits: the new label is a column of the matrix.
    await page.waitForSelector(`#tl-confusion button.cm-cell[data-column="${MANUAL}"]`);
    const manualColumn = (await confusion(page)).filter((c) => c.column === MANUAL);
    assert.equal(
      manualColumn.reduce((s, c) => s + c.count, 0),
      nk.count,
    );
    await page.click('#tl-undo');
    await legendIs(page, count(before));
    await page.waitForSelector(`#tl-confusion button.cm-cell[data-column="${MANUAL}"]`, {
      state: 'detached',
    });
    assert.equal(await page.locator('#tl-undo').isDisabled(), true);
    await page.keyboard.press('Control+Shift+Z');
    await legendIs(page, withManual);
    await page.keyboard.press('Control+Z');
    await legendIs(page, count(before));
    await page.click('#tl-redo');
    await legendIs(page, withManual);
    assert.equal(await page.locator('#tl-redo').isDisabled(), true);

    step('rename from the legend');
    const b = withManual.B;
    assert.ok(b > 0, 'B is predicted');
    await page.click('#legend .legend-row[data-category="B"] .rename');
    await page.fill('#legend input.rename-input', RENAMED);
    await page.keyboard.press('Enter');
    const renamed: Record<string, number> = { ...withManual, [RENAMED]: b };
    delete renamed.B;
    await legendIs(page, renamed);
    await shot(page, '2-edited');
    // Undo takes the rename back too, redo makes it again.
    await page.click('#tl-undo');
    await legendIs(page, withManual);
    await page.click('#tl-redo');
    await legendIs(page, renamed);

    step('annotate again asks first');
    const dialogs: string[] = [];
    page.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.click('#tl-annotate');
    await page.waitForFunction(() => document.body.dataset.annotating !== 'true');
    assert.equal(dialogs.length, 1);
    assert.match(dialogs[0], /not saved/);
    await legendIs(page, renamed); // dismissed: nothing ran, the edits stand

    step('save');
    await page.click('#tl-save');
    await page.waitForFunction(() =>
      /saved|failed/.test(document.querySelector('#tl-save-info')?.textContent ?? ''),
    );
    assert.match(await page.locator('#tl-save-info').innerText(), /^saved obs\/scNym/);
    const ad = await openAnnDataFile(query);
    try {
      const saved = await ad.obsColumn('scNym');
      assert.equal(saved.kind, 'categorical');
      if (saved.kind !== 'categorical') return;
      const counts = new Array<number>(saved.categories.length).fill(0);
      for (const c of saved.codes) counts[c]++;
      // NK lost its cells to the hand label, B was renamed: neither is left as an empty category.
      assert.deepEqual(Object.fromEntries(saved.categories.map((c, i) => [c, counts[i]])), renamed);
      assert.ok(!saved.categories.includes('NK') && !saved.categories.includes('B'));
    } finally {
      await ad.close();
    }

    step('correct and retrain');
    // The NK cells go back to their predicted label: no longer a correction (and no new class).
    await page.click(`#legend .legend-row[data-category="${MANUAL}"] .name`);
    await page.fill('#tl-relabel-name', 'NK');
    await page.click('#tl-relabel-apply');
    const restored: Record<string, number> = { ...renamed, NK: nk.count };
    delete restored[MANUAL];
    await legendIs(page, restored);
    // A real correction: the largest mistake the matrix shows, relabelled as its known type.
    const mistake = (await confusion(page))
      .filter((c) => c.row !== c.column && c.count > 0 && !['B', 'NK'].includes(c.row))
      .sort((x, y) => y.count - x.count)[0];
    assert.ok(mistake, 'a mistake to correct');
    const accuracyBefore = accuracyShown(await page.locator('#tl-compare-summary').innerText());
    await page.click(cellSelector(mistake));
    const corrected = await page.evaluate(() =>
      (window as unknown as { scnymViewer: { selection(): number[] } }).scnymViewer.selection(),
    );
    assert.equal(corrected.length, mistake.count);
    await page.fill('#tl-relabel-name', mistake.row);
    await page.click('#tl-relabel-apply');
    await page.waitForSelector('#tl-relabel-info:has-text("relabelled")');
    const shown = await labelsShown(page);
    await page.click('#tl-retrain');
    await page.waitForSelector('#tl-retrain-info[data-moved], #tl-message.error', {
      timeout: 10 * 60_000,
    });
    assert.equal(await page.locator('#tl-message.error').count(), 0);
    const after = await labelsShown(page);
    // The corrected cells keep their label.
    for (const i of corrected) assert.equal(after[i], mistake.row, `corrected cell ${i}`);
    // The rename is kept too; the rest of the query is predicted again, and the moves are shown.
    assert.ok(after.includes(RENAMED) && !after.includes('B'));
    const moved = after.flatMap((l, i) => (l !== shown[i] ? [i] : []));
    assert.ok(moved.length > 0, 'the retrained model changed some labels');
    assert.equal(
      Number(await page.locator('#tl-retrain-info').getAttribute('data-moved')),
      moved.length,
    );
    assert.match(
      await page.locator('#tl-retrain-info').innerText(),
      new RegExp(`${mistake.count} hand-labelled cells: ${moved.length} other cells`),
    );
    await page.click('#tl-retrain-select');
    await page.waitForFunction(
      (n) => document.querySelector('#selection-info')?.textContent === `${n} selected`,
      moved.length.toLocaleString('en-US'),
    );
    assert.deepEqual(
      await page.evaluate(() =>
        (window as unknown as { scnymViewer: { selection(): number[] } }).scnymViewer.selection(),
      ),
      moved,
    );
    const accuracyAfter = accuracyShown(await page.locator('#tl-compare-summary').innerText());
    // Reported, not asserted (a short run): accuracy over the cells not corrected by hand.
    const truth = await labelsShown(page, 'cell_type');
    const fixed = new Set(corrected);
    const others = (labels: string[]) => {
      let right = 0;
      let n = 0;
      labels.forEach((l, i) => {
        if (fixed.has(i)) return;
        n++;
        if ((l === RENAMED ? 'B' : l) === truth[i]) right++;
      });
      return ((100 * right) / n).toFixed(1);
    };
    console.log(
      `# retrain with ${mistake.count} cells ${mistake.row} (were ${mistake.column}): ` +
        `${moved.length} other cells moved; accuracy against ` +
        `cell_type ${accuracyBefore}% → ${accuracyAfter}% (all cells), ${others(shown)}% → ` +
        `${others(after)}% (the ${N_CELLS - fixed.size} cells not corrected)`,
    );
    await page.locator('#tl-retrain-info').scrollIntoViewIfNeeded();
    await shot(page, '3-retrained');

    console.log(`# screenshots in ${shots}`);
    assert.deepEqual(
      problems.filter((p) => !/favicon|GPU stall/.test(p)),
      [],
      'no page errors',
    );
  },
);

interface Entry {
  row: string;
  column: string;
  count: number;
}

async function confusion(page: Page): Promise<Entry[]> {
  return page.locator('#tl-confusion button.cm-cell').evaluateAll((cells) =>
    cells.map((c) => ({
      row: c.getAttribute('data-row') ?? '',
      column: c.getAttribute('data-column') ?? '',
      count: Number(c.getAttribute('data-count')),
    })),
  );
}

function cellSelector(e: Entry): string {
  return `#tl-confusion button.cm-cell[data-row="${e.row}"][data-column="${e.column}"]`;
}

/** The viewer's selection as the plugin interface gives it. */
function selectionSize(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { scnymViewer: { selection(): number[] } }).scnymViewer.selection()
        .length,
  );
}

function count(rows: { name: string; count: number }[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.name, r.count]));
}

/** Waits until the legend shows these categories with these counts (in any order). */
async function legendIs(page: Page, expected: Record<string, number>): Promise<void> {
  const want = JSON.stringify(Object.entries(expected).sort());
  await page
    .waitForFunction(
      (w) => {
        const rows = [...document.querySelectorAll('#legend .legend-row')].map((r) => [
          r.getAttribute('data-category') ?? '',
          Number(r.getAttribute('data-count')),
        ]);
        return JSON.stringify(rows.sort()) === w;
      },
      want,
      { timeout: 10_000 },
    )
    .catch(async () => {
      assert.deepEqual(count(await legendRows(page)), expected);
    });
}

/** The label of each cell as the viewer holds it (default: the panel's column). */
function labelsShown(page: Page, column = 'scNym'): Promise<string[]> {
  return page.evaluate(async (name) => {
    const viewer = (
      window as unknown as {
        scnymViewer: {
          data(): {
            obsColumn(n: string): Promise<{ codes: Int32Array; categories: string[] }>;
          };
        };
      }
    ).scnymViewer;
    const c = await viewer.data().obsColumn(name);
    return Array.from(c.codes, (k) => c.categories[k]);
  }, column);
}

function accuracyShown(summary: string): number {
  const m = /accuracy (\d+\.\d)%/.exec(summary);
  assert.ok(m, summary);
  return Number(m[1]);
}

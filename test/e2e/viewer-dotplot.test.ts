/// <reference lib="dom" />
// The dot plot and the SVG exports in headless Chromium, on a copy of the demo query: after
// Annotate the dot plot has a row per predicted class with cells and a column per marker; every
// dot's fraction and mean equal those computed here from X (log1p(CPM) by hand) grouped by the
// labels the page downloads as CSV, its area follows the fraction and its colour the ramp; grouped
// by the file's cell_type its rows are that column's categories. The plot, the marker chart and the
// dot plot download as SVG files that parse as XML (the plot's points an embedded PNG of the
// canvas's size, its legend the categories), the charts also as PNG. Annotate pressed as the dot
// plot's markers are found stops them and runs. Screenshots in light and dark.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { openAnnDataFile } from '@scnym/core/node';
import { rampColor } from '@scnym/core/vocabulary';
import { chromiumSkip, closeAfterFile, e2eLog, openViewer } from '../helpers/browser.js';
import { PYTHON, REPO } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const DEMO = join(REPO, 'core', 'demo');
const { shots, step, shot } = e2eLog(tempDir, 'dotplot-');

const started = closeAfterFile();

interface Dot {
  gene: string;
  group: string;
  fraction: number;
  mean: number;
  r: number;
  fill: string;
}

function dots(page: Page): Promise<Dot[]> {
  return page.locator('#tl-dotplot-svg circle.dot').evaluateAll((cs) =>
    cs.map((c) => ({
      gene: c.getAttribute('data-gene')!,
      group: c.getAttribute('data-group')!,
      fraction: Number(c.getAttribute('data-fraction')),
      mean: Number(c.getAttribute('data-mean')),
      r: Number(c.getAttribute('r')),
      fill: c.getAttribute('fill')!,
    })),
  );
}

/** Per group and gene: the fraction of cells with X > 0 and the mean log1p(CPM), from X here. */
async function expected(path: string, groupOf: (string | null)[], genes: string[]) {
  const ad = await openAnnDataFile(path);
  try {
    const names = await ad.varNames();
    const x = await ad.matrix('X');
    const m = await x.rows(0, x.shape[0]);
    const want = new Map<string, { n: number; expressing: number; sum: number }>();
    const columns = new Map(genes.map((g) => [names.indexOf(g), g]));
    assert.ok(!columns.has(-1), 'every gene shown is in the query');
    for (let r = 0; r < m.nRows; r++) {
      const group = groupOf[r];
      if (group === null) continue;
      let total = 0;
      for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) total += m.data[k];
      for (const g of genes) {
        const key = `${group}\t${g}`;
        if (!want.has(key)) want.set(key, { n: 0, expressing: 0, sum: 0 });
        want.get(key)!.n++;
      }
      for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
        const g = columns.get(m.indices[k]);
        if (g === undefined || !(m.data[k] > 0)) continue;
        const e = want.get(`${group}\t${g}`)!;
        e.expressing++;
        e.sum += Math.log1p((m.data[k] / total) * 1e6);
      }
    }
    return want;
  } finally {
    await ad.close();
  }
}

async function checkDots(page: Page, want: Awaited<ReturnType<typeof expected>>, what: string) {
  const shown = await dots(page);
  const maxMean = shown.reduce((a, d) => Math.max(a, d.mean), 0);
  // The size legend's 100 % dot.
  const maxR = Number(
    await page.locator('#tl-dotplot-svg .size-legend circle[data-fraction="1"]').getAttribute('r'),
  );
  for (const d of shown) {
    const e = want.get(`${d.group}\t${d.gene}`);
    assert.ok(e, `${what}: ${d.gene} in ${d.group} is expected`);
    const at = `${what}: ${d.gene} in ${d.group}`;
    assert.ok(Math.abs(d.fraction - e.expressing / e.n) < 1e-12, `${at}: fraction ${d.fraction}`);
    const mean = e.sum / e.n;
    assert.ok(Math.abs(d.mean - mean) <= 1e-5 * Math.max(1, mean), `${at}: mean ${d.mean} ${mean}`);
    assert.equal(d.fill, rampColor(d.mean / maxMean), `${at}: colour`);
    if (d.fraction > 0.05) {
      // Area ∝ fraction: r / maxR = √fraction (the largest dot is 100 %'s or less).
      assert.ok(Math.abs(d.r / maxR - Math.sqrt(d.fraction)) < 0.01, `${at}: size ${d.r}`);
    } else if (d.fraction === 0) assert.equal(d.r, 0, `${at}: no dot`);
  }
}

/** An XML file parsed by Python (ElementTree): its root tag and some counts. */
function parseSvg(path: string) {
  const script = [
    'import sys, json, base64, struct, xml.etree.ElementTree as ET',
    'ns = "{http://www.w3.org/2000/svg}"',
    'root = ET.parse(sys.argv[1]).getroot()',
    'img = root.find(f".//{ns}image")',
    'size = None',
    'if img is not None:',
    '    href = img.get("{http://www.w3.org/1999/xlink}href")',
    '    png = base64.b64decode(href.split(",", 1)[1])',
    '    assert png[1:4] == b"PNG"',
    '    size = list(struct.unpack(">II", png[16:24]))',
    'print(json.dumps({"tag": root.tag, "width": root.get("width"), "height": root.get("height"),',
    '  "circles": len(root.findall(f".//{ns}circle")),',
    '  "texts": ["".join(t.itertext()) for t in root.iter(f"{ns}text")],',
    '  "textFills": sorted({t.get("fill") or "" for t in root.iter(f"{ns}text")}),',
    '  "image": size, "background": root[0].get("fill")}))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    tag: string;
    width: string;
    height: string;
    circles: number;
    texts: string[];
    textFills: string[];
    image: [number, number] | null;
    background: string;
  };
}

/** Clicks a download button; the file is kept beside the screenshots (prefixed). */
async function downloaded(page: Page, button: string): Promise<{ name: string; path: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  const path = join(shots, `dotplot-${button.slice(1)}-${file.suggestedFilename()}`);
  await file.saveAs(path);
  return { name: file.suggestedFilename(), path };
}

test(
  'dot plot after Annotate: rows, columns, sizes and colours from the data; SVG exports',
  { timeout: 10 * 60_000, skip: chromiumSkip },
  async () => {
    const query = tempCopy(join(DEMO, 'target.zarr'), 'query.zarr');
    const { page, problems } = await openViewer(
      started,
      [query, '--reference', join(DEMO, 'reference.zarr'), '--epochs', '4'],
      { viewport: { width: 1400, height: 900 } },
    );

    step('annotate');
    await page.waitForFunction(
      () => (document.querySelector('#tl-label-key') as HTMLSelectElement).value === 'cell_type',
    );
    await page.click('#tl-annotate');
    await page.waitForSelector('body[data-annotated="true"], #tl-message.error', {
      timeout: 8 * 60_000,
    });
    assert.equal(await page.evaluate(() => document.body.dataset.annotated ?? null), 'true');

    step('dot plot by the predicted label');
    const csv = await downloaded(page, '#tl-download-csv');
    const lines = readFileSync(csv.path, 'utf8').trim().split('\n').slice(1);
    const predicted = lines.map((l) => l.split(',')[1]);
    const classes = [...new Set(predicted)];
    // A class's markers asked for while the dot plot's are being found: both come.
    await page.selectOption(
      '#tl-saliency-class',
      classes.find((c) => c !== 'Unknown')!,
    );
    await page.click('#tl-saliency-run');
    await page.waitForSelector('#tl-dotplot[data-group-by="scNym"] circle.dot', {
      timeout: 5 * 60_000,
    });
    await page.waitForSelector('#tl-saliency-svg');
    const byLabel = await dots(page);
    const rows = [...new Set(byLabel.map((d) => d.group))];
    const genes = [...new Set(byLabel.map((d) => d.gene))];
    assert.deepEqual(new Set(rows), new Set(classes), 'a row per predicted class with cells');
    assert.equal(byLabel.length, rows.length * genes.length, 'a dot per row and column');
    // 2 markers per class by default, each gene once.
    assert.ok(genes.length >= classes.length && genes.length <= 2 * classes.length, `${genes}`);
    const labels = await page.locator('#tl-dotplot-svg .gene-label').allTextContents();
    assert.deepEqual(labels, genes, 'the columns are named');
    await checkDots(page, await expected(query, predicted, genes), 'predicted');
    const legend = await page.locator('#tl-dotplot-svg .size-legend text').allTextContents();
    assert.deepEqual(legend, ['fraction of cells', '20%', '40%', '60%', '80%', '100%']);
    const maxMean = Number(await page.locator('#tl-dotplot-svg').getAttribute('data-max-mean'));
    const ramp = await page.locator('#tl-dotplot-svg .colour-legend text').allTextContents();
    assert.deepEqual(ramp, ['mean log1p(CPM)', '0', maxMean.toFixed(2)]);
    const timing = await page.locator('#tl-dotplot').evaluate((e) => ({ ...e.dataset }));
    console.log(`# dot plot on 1,039 cells: ${JSON.stringify(timing)} ms`);
    await page.locator('#tl-dotplot-section').scrollIntoViewIfNeeded();
    await shot(page, '1-light');

    step('dot plot by cell_type');
    await page.selectOption('#tl-dotplot-group', 'cell_type');
    await page.waitForSelector('#tl-dotplot[data-group-by="cell_type"] circle.dot');
    const byType = await dots(page);
    const truth = await (async () => {
      const ad = await openAnnDataFile(query);
      const c = await ad.obsColumn('cell_type');
      await ad.close();
      assert.equal(c.kind, 'categorical');
      return c.kind === 'categorical' ? c : null;
    })();
    const typeRows = [...new Set(byType.map((d) => d.group))];
    assert.deepEqual(typeRows, truth!.categories);
    const groupOf = Array.from(truth!.codes, (k) => truth!.categories[k] ?? null);
    await checkDots(page, await expected(query, groupOf, genes), 'cell_type');
    await page.evaluate(() => document.querySelector('#tl-dotplot-section')?.scrollIntoView());
    await shot(page, '2-by-cell-type');

    step('svg exports');
    const dotSvg = await downloaded(page, '#tl-dotplot-export-svg');
    assert.equal(dotSvg.name, 'query.zarr.dotplot.cell_type.svg');
    const parsed = parseSvg(dotSvg.path);
    assert.equal(parsed.tag, '{http://www.w3.org/2000/svg}svg');
    assert.equal(parsed.circles, byType.length + 5, 'every dot and the size legend');
    assert.ok(parsed.texts.includes('CD14+Mono') && genes.every((g) => parsed.texts.includes(g)));
    assert.ok(!parsed.textFills.includes(''), 'text colours written into the file');
    const dotPng = await downloaded(page, '#tl-dotplot-export-png');
    assert.equal(readFileSync(dotPng.path).subarray(1, 4).toString(), 'PNG');

    const markerSvg = parseSvg((await downloaded(page, '#tl-saliency-export-svg')).path);
    assert.ok(markerSvg.texts.includes('mean attribution'));

    const plotSvg = await downloaded(page, '#export-svg');
    assert.match(plotSvg.name, /^query\.zarr\..+\.svg$/);
    const plot = parseSvg(plotSvg.path);
    const canvas = await page
      .locator('#plot')
      .evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    assert.deepEqual(plot.image, canvas, 'the points: the plot as its PNG');
    assert.ok(
      rows.every((c) => plot.texts.some((t) => t.startsWith(`${c} (`))),
      `legend ${plot.texts.join(' | ')}`,
    );
    assert.equal(plot.background, '#ffffff');

    step('annotate again while the dot plot is being made');
    const annotateOnce = async () => {
      await page.click('#tl-annotate');
      await page.waitForSelector('body[data-annotating="false"]', { timeout: 8 * 60_000 });
    };
    await annotateOnce();
    // The result has come and the dot plot is being made (its markers found, most likely):
    // Annotate again stops it and runs.
    const during = await page.waitForFunction(() => {
      const plot = document.querySelector('#tl-dotplot');
      const text = plot?.textContent ?? '';
      return (/^(finding|saliency|reading)/.test(text) || !!plot?.querySelector('circle')) && text;
    });
    console.log(`# Annotate pressed as the dot plot showed: ${String(await during.jsonValue())}`);
    await annotateOnce();
    assert.doesNotMatch(await page.locator('#tl-message').innerText(), /busy|error|failed/);
    assert.match(await page.locator('#tl-progress-text').innerText(), /^done in /);
    await page.waitForSelector('#tl-dotplot[data-group-by] circle.dot', { timeout: 5 * 60_000 });

    step('dark');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => document.querySelector('#tl-dotplot-section')?.scrollIntoView());
    await shot(page, '3-dark');
    const dark = parseSvg((await downloaded(page, '#tl-dotplot-export-svg')).path);
    assert.notEqual(dark.background, parsed.background, 'the export is on the dark background');

    assert.deepEqual(
      problems.filter((p) => !/favicon|GPU stall/.test(p)),
      [],
      'no page errors',
    );
    console.log(`# screenshots in ${shots}`);
  },
);

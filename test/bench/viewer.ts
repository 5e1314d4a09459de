/// <reference lib="dom" />
/**
 * `npm run bench -- --sections viewer`: `scnym view` on a 1M-cell query in headless Chromium.
 * No GPU here: WebGL is Chromium's software rasteriser (SwiftShader), so these are SwiftShader
 * figures. The query and a 100k-cell reference are resampled from the demo's real cells
 * (test/fixtures/viewer_scale.py: 50 marker genes, X_umap, obs with 7 and 28 categories and a
 * number), cached under os.tmpdir().
 *
 * For each step (open, recolour by each column, hide a category, lasso half the points,
 * Annotate with the reference, recolour by the result): its wall time, the page's long tasks
 * (PerformanceObserver 'longtask': main-thread tasks over 50 ms) and the longest, the main
 * thread's JS heap (CDP Performance.getMetrics) and the peak PSS of Chromium's renderer and GPU
 * processes (/proc, sampled every 250 ms), with the load average (the machine is shared).
 * During Annotate a button is clicked every 1.5 s: the delay of each click (input to handler)
 * and the time to the next frame say whether the page stays responsive while the worker trains.
 *
 *   SCNYM_BENCH_VIEWER_CELLS=1000000      query cells
 *   SCNYM_BENCH_VIEWER_REFERENCE=100000   reference cells
 *   SCNYM_BENCH_VIEWER_EPOCHS=N           epochs for Annotate (default: the preset's)
 *   SCNYM_BENCH_VIEWER_ANNOTATE=0         skip Annotate
 *   SCNYM_BENCH_VIEWER_ANNOTATE_MINUTES=30  cancel Annotate after this long (reported as such)
 *   SCNYM_BENCH_VIEWER_COMPOSITING=software,swiftshader  the browser configurations, in turn
 *     (helpers/browser.ts: Compositing); Annotate runs in the first
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { launchChromium, startView, type Compositing } from '../helpers/browser.js';
import { cachedScaleData } from '../helpers/viewer-scale.js';

const CELLS = Number(process.env.SCNYM_BENCH_VIEWER_CELLS ?? 1_000_000);
const REFERENCE = Number(process.env.SCNYM_BENCH_VIEWER_REFERENCE ?? 100_000);
const EPOCHS = process.env.SCNYM_BENCH_VIEWER_EPOCHS;
const ANNOTATE = process.env.SCNYM_BENCH_VIEWER_ANNOTATE !== '0';
const ANNOTATE_LIMIT_MS = Number(process.env.SCNYM_BENCH_VIEWER_ANNOTATE_MINUTES ?? 30) * 60_000;
const COMPOSITING = (process.env.SCNYM_BENCH_VIEWER_COMPOSITING ?? 'software,swiftshader')
  .split(',')
  .filter((c): c is Compositing => c === 'software' || c === 'swiftshader');
const COMPOSITING_TITLE: Record<Compositing, string> = {
  software:
    'Software compositing (--disable-gpu: as on a machine without a usable GPU; each WebGL frame is read back on the main thread)',
  swiftshader:
    "SwiftShader as the compositor's GPU too (frames composited without the main thread waiting: the long tasks are the page's own work)",
};
/** A step is over when no long task came for this long. */
const QUIET_MS = 1500;
const MB = 1024 * 1024;

interface Row {
  step: string;
  wallMs: number;
  long: number;
  over200: number;
  longestMs: number;
  heapMb: number;
  pssMb: { renderer: number; gpu: number };
  load: number;
  note?: string;
}

/** What the page records from its start (an init script, so the first tasks are seen). */
function instrument(): void {
  const perf = {
    long: [] as [number, number][],
    clicks: [] as { at: number; delay: number; toFrame: number }[],
    marks: {} as Record<string, number>,
  };
  (window as unknown as { __perf: typeof perf }).__perf = perf;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) perf.long.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  new MutationObserver(() => {
    const d = document.body?.dataset ?? {};
    for (const key of ['ready', 'annotated', 'error'])
      if (d[key] && perf.marks[key] === undefined) perf.marks[key] = performance.now();
  }).observe(document, { attributes: true, subtree: true });
  addEventListener(
    'click',
    (e) => {
      const handled = performance.now();
      requestAnimationFrame(() =>
        perf.clicks.push({
          at: e.timeStamp,
          delay: handled - e.timeStamp,
          toFrame: performance.now() - e.timeStamp,
        }),
      );
    },
    true,
  );
}

type Perf = {
  long: [number, number][];
  clicks: { at: number; delay: number; toFrame: number }[];
  marks: Record<string, number>;
};
const perfOf = (page: Page) => page.evaluate(() => (window as unknown as { __perf: Perf }).__perf);
const pageNow = (page: Page) => page.evaluate(() => performance.now());

/** Waits until no long task has come for QUIET_MS (the step's tail: GC, uploads, legend). */
function quiet(page: Page): Promise<void> {
  return page.evaluate(async (ms) => {
    const perf = (window as unknown as { __perf: Perf }).__perf;
    let seen = perf.long.length;
    let since = performance.now();
    while (performance.now() - since < ms) {
      await new Promise((r) => setTimeout(r, 100));
      if (perf.long.length !== seen) {
        seen = perf.long.length;
        since = performance.now();
      }
    }
  }, QUIET_MS);
}

/** PSS of Chromium's processes under the browser started with `profile`, by process type. */
class MemorySampler {
  private timer: NodeJS.Timeout | null = null;
  peak = { renderer: 0, gpu: 0 };

  constructor(private readonly profile: string) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 250);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  reset(): void {
    this.peak = { renderer: 0, gpu: 0 };
    this.sample();
  }

  sample(): { renderer: number; gpu: number } {
    const now = { renderer: 0, gpu: 0 };
    const parent = new Map<number, number>();
    const cmd = new Map<number, string>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
        cmd.set(Number(name), readFileSync(`/proc/${name}/cmdline`, 'utf8'));
      } catch {
        // gone meanwhile
      }
    }
    const browser = [...cmd].find(
      ([, c]) => c.includes(`--user-data-dir=${this.profile}`) && !c.includes('--type='),
    )?.[0];
    if (browser === undefined) return now;
    const inTree = (pid: number): boolean => {
      for (let p = pid, hops = 0; p > 1 && hops < 8; p = parent.get(p) ?? 0, hops++)
        if (p === browser) return true;
      return false;
    };
    for (const [pid, c] of cmd) {
      if (!inTree(pid)) continue;
      const type = /--type=([\w-]+)/.exec(c)?.[1];
      const kind = type === 'renderer' ? 'renderer' : type === 'gpu-process' ? 'gpu' : null;
      if (!kind) continue;
      try {
        const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
        now[kind] += Number(pss?.[1] ?? 0) / 1024;
      } catch {
        // gone meanwhile
      }
    }
    this.peak.renderer = Math.max(this.peak.renderer, now.renderer);
    this.peak.gpu = Math.max(this.peak.gpu, now.gpu);
    return now;
  }
}

class Bench {
  readonly rows: Row[] = [];

  constructor(
    private readonly page: Page,
    private readonly cdp: CDPSession,
    private readonly memory: MemorySampler,
  ) {}

  async heapMb(): Promise<number> {
    const { metrics } = await this.cdp.send('Performance.getMetrics');
    return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / MB;
  }

  /** Runs `action` (which resolves when its effect shows), waits for quiet, records a row. */
  async step(name: string, action: () => Promise<string | void>): Promise<Row> {
    this.memory.reset();
    const t0 = await pageNow(this.page);
    const w0 = Date.now();
    const note = (await action()) ?? undefined;
    const wallMs = Date.now() - w0;
    await quiet(this.page);
    return this.record(name, t0, wallMs, note);
  }

  async record(name: string, from: number, wallMs: number, note?: string, to = Infinity) {
    const perf = await perfOf(this.page);
    const tasks = perf.long.filter(([s, d]) => s + d > from && s < to).map(([, d]) => d);
    const row: Row = {
      step: name,
      wallMs,
      long: tasks.length,
      over200: tasks.filter((d) => d > 200).length,
      longestMs: tasks.reduce((a, b) => Math.max(a, b), 0),
      heapMb: await this.heapMb(),
      pssMb: { ...this.memory.peak },
      load: loadavg()[0],
      note,
    };
    this.rows.push(row);
    console.log(
      `#   ${name}: ${row.wallMs} ms, ${row.long} long tasks, longest ${row.longestMs.toFixed(0)} ms`,
    );
    return row;
  }
}

export async function benchViewer(): Promise<void> {
  console.log(
    `## Viewer: ${CELLS.toLocaleString('en-US')}-cell query, headless Chromium, WebGL on SwiftShader (no GPU)\n`,
  );
  const started = Date.now();
  const data = cachedScaleData(CELLS, REFERENCE);
  console.log(`# data ready in ${((Date.now() - started) / 1000).toFixed(0)} s: ${data.query}`);
  for (const [i, compositing] of COMPOSITING.entries()) {
    console.log(`\n### ${COMPOSITING_TITLE[compositing]}\n`);
    await session(data, compositing, ANNOTATE && i === 0);
  }
}

/** One browser on `scnym view`: open, recolour, hide, lasso (and Annotate); prints the table. */
async function session(
  data: { query: string; reference: string },
  compositing: Compositing,
  withAnnotate: boolean,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scnym-bench-viewer-'));
  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  const profile = join(dir, 'profile');
  const memory = new MemorySampler(profile);
  try {
    const view = await startView([
      data.query,
      '--reference',
      data.reference,
      '--read-only',
      ...(EPOCHS ? ['--epochs', EPOCHS] : []),
    ]);
    server = view.server;
    const launched = await launchChromium(profile, { width: 1400, height: 860 }, compositing);
    context = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(10 * 60_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.addInitScript(instrument);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    memory.start();
    const bench = new Bench(page, cdp, memory);

    // Open: navigation to the plot drawn (body[data-ready]) and the tail after it.
    memory.reset();
    const w0 = Date.now();
    await page.goto(view.url);
    await page.waitForSelector('body[data-ready="true"], body[data-error]');
    const wallMs = Date.now() - w0;
    await quiet(page);
    const marks = (await perfOf(page)).marks;
    if (marks.error !== undefined) {
      throw new Error(await page.evaluate(() => document.body.dataset.error ?? ''));
    }
    await bench.record(
      'open',
      0,
      wallMs,
      `plot drawn (body[data-ready]) ${(marks.ready / 1000).toFixed(2)} s after navigation`,
    );

    // One frame with nothing changed: what SwiftShader's drawing of the points costs.
    await bench.step('one frame (a redraw, nothing changed)', async () => {
      await page.evaluate(() =>
        (
          window as unknown as { scnymViewer: { scatter: { redraw(): void } } }
        ).scnymViewer.scatter.redraw(),
      );
    });

    const columns = await page
      .locator('#color-by option')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    const first = await page.locator('#color-by').inputValue();
    for (const column of [...columns.filter((c) => c !== first), first]) {
      await bench.step(`recolour by ${column}`, async () => {
        await page.selectOption('#color-by', column);
        await page.waitForFunction(
          (c) => document.querySelector('#legend h2')?.textContent === c,
          column,
        );
      });
    }

    await bench.step('first hover (the tooltip: the cell names are read)', async () => {
      const box = (await page.locator('#plot').boundingBox())!;
      // Sweeps until the mouse is over a cell once its name is there (the names are read on the
      // first hover, so the first sweeps may end before they arrive).
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        for (const fy of [0.4, 0.5, 0.6]) {
          for (let fx = 0.1; fx < 0.9; fx += 0.01) {
            await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
            if (await page.locator('#tooltip').isVisible()) return;
          }
        }
      }
      return 'no tooltip';
    });

    const swatch = '#legend .legend-row:first-child .swatch';
    await bench.step('hide a category (legend)', async () => {
      await page.click(swatch);
      await page.waitForSelector('#legend .legend-row.hidden-category');
    });
    await bench.step('show it again', async () => {
      await page.click(swatch);
      await page.waitForSelector('#legend .legend-row.hidden-category', { state: 'detached' });
    });

    await page.click('#mode-lasso');
    await bench.step('lasso about half the points', async () => {
      const box = (await page.locator('#plot').boundingBox())!;
      const at = (fx: number, fy: number) => [box.x + box.width * fx, box.y + box.height * fy];
      const [x0, y0] = at(0.01, 0.01);
      await page.mouse.move(x0, y0);
      await page.mouse.down();
      for (const [fx, fy] of [
        [0.5, 0.01],
        [0.5, 0.99],
        [0.01, 0.99],
        [0.01, 0.02],
      ]) {
        const [x, y] = at(fx, fy);
        await page.mouse.move(x, y, { steps: 10 });
      }
      await page.mouse.up();
      await page.waitForFunction(() =>
        /selected/.test(document.querySelector('#selection-info')?.textContent ?? ''),
      );
      return (await page.locator('#selection-info').innerText()).trim();
    });
    await page.click('#mode-pan');
    await bench.step('clear the selection', async () => {
      await page.click('#clear-selection');
      await page.waitForFunction(
        () => (document.querySelector('#selection-info')?.textContent ?? '') === '',
      );
    });

    if (withAnnotate) await annotate(page, bench, memory);

    memory.stop();
    printRows(bench.rows);
    const errors = problems.filter((p) => !/favicon|GPU stall/.test(p));
    if (errors.length) console.log(`page errors: ${errors.join(' | ')}\n`);
  } finally {
    memory.stop();
    server?.kill('SIGTERM');
    await Promise.race([
      context?.close().catch(() => undefined),
      new Promise((done) => setTimeout(done, 15_000).unref()),
    ]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Annotate with the reference: the training and the streamed prediction run in the panel's
 * worker; the main thread's long tasks and click responsiveness are measured meanwhile, then the
 * result's arrival (labels, confidences, the legend) separately.
 */
async function annotate(page: Page, bench: Bench, memory: MemorySampler): Promise<void> {
  await page.waitForFunction(
    () =>
      (document.querySelector('#tl-label-key') as HTMLSelectElement | null)?.value === 'cell_type',
  );
  const buttons = await Promise.all(
    ['#mode-pan', '#mode-lasso'].map(async (s) => (await page.locator(s).boundingBox())!),
  );
  memory.reset();
  const t0 = await pageNow(page);
  const w0 = Date.now();
  await page.click('#tl-annotate');
  let clicks = 0;
  let outcome = 'timeout';
  let lastText = '';
  let shown = '';
  for (;;) {
    const state = await page.evaluate(() => ({
      annotated: document.body.dataset.annotated === 'true',
      failed: document.querySelector('#tl-message.error')?.textContent ?? null,
      text: document.querySelector('#tl-progress-text')?.textContent ?? '',
    }));
    shown = state.text;
    // Logged when the stage or the epoch changes (not every step's loss).
    const where = state.text.replace(/\s*(val acc|loss) .*$/, '');
    if (where !== lastText) {
      lastText = where;
      console.log(`#   ${((Date.now() - w0) / 1000).toFixed(0)} s: ${state.text}`);
    }
    if (state.annotated) {
      outcome = 'done';
      break;
    }
    if (state.failed) {
      outcome = `failed: ${state.failed}`;
      break;
    }
    if (Date.now() - w0 > ANNOTATE_LIMIT_MS) {
      await page.click('#tl-cancel');
      await page.waitForSelector('#tl-progress-text:text-is("cancelled")');
      outcome = `cancelled after ${ANNOTATE_LIMIT_MS / 60_000} min`;
      break;
    }
    // A click on a toolbar button (the mode toggles: harmless), as a user's would come.
    const b = buttons[clicks++ % 2];
    await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
    await new Promise((r) => setTimeout(r, 1500));
  }
  const wallMs = Date.now() - w0;
  const perf = await perfOf(page);
  const arrived = perf.marks.annotated ?? Infinity;
  // The task that delivered the result holds the `annotated` mark; training is what came before.
  const resultTask = perf.long.find(([s, d]) => s <= arrived && arrived <= s + d);
  const trainingEnd = resultTask ? resultTask[0] : arrived;
  const clicked = perf.clicks.filter((c) => c.at > t0 && c.at < trainingEnd);
  const worst = (k: 'delay' | 'toFrame') => clicked.reduce((a, c) => Math.max(a, c[k]), 0);
  const median = (k: 'delay' | 'toFrame') =>
    clicked.map((c) => c[k]).sort((a, b) => a - b)[Math.floor(clicked.length / 2)] ?? 0;
  await bench.record(
    'Annotate: training + prediction (worker)',
    t0,
    Number.isFinite(arrived) ? Math.round(arrived - t0) : wallMs,
    `${outcome}; ${clicked.length} clicks: input delay median ${median('delay').toFixed(0)} / max ${worst('delay').toFixed(0)} ms, to next frame median ${median('toFrame').toFixed(0)} / max ${worst('toFrame').toFixed(0)} ms; last: ${shown}`,
    trainingEnd,
  );
  if (outcome !== 'done') return;
  memory.reset();
  await quiet(page);
  await bench.record(
    'Annotate: result shown (labels, colours, legend)',
    trainingEnd,
    Math.round((await pageNow(page)) - trainingEnd - QUIET_MS),
    (await page.locator('#status').innerText()).trim(),
  );
  await bench.step('recolour by confidence', async () => {
    await page.click('#tl-colour-confidence');
    await page.waitForFunction(
      () => document.querySelector('#legend h2')?.textContent === 'scNym_confidence',
    );
  });
  await bench.step('recolour by prediction', async () => {
    await page.click('#tl-colour-label');
    await page.waitForFunction(() => document.querySelector('#legend h2')?.textContent === 'scNym');
  });
}

function printRows(rows: Row[]): void {
  console.log(
    '\n| step | wall (ms) | long tasks > 50 ms | > 200 ms | longest (ms) | JS heap (MB) | peak PSS renderer + GPU (MB) | load (1 min) | notes |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.step} | ${r.wallMs} | ${r.long} | ${r.over200} | ${r.longestMs.toFixed(0)} | ${r.heapMb.toFixed(0)} | ${r.pssMb.renderer.toFixed(0)} + ${r.pssMb.gpu.toFixed(0)} | ${r.load.toFixed(1)} | ${r.note ?? ''} |`,
    );
  }
  console.log();
}

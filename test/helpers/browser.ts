/// <reference lib="dom" />
/**
 * What the browser tests share: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), the flags that keep it off this machine's closed network, the skip rule, and
 * `scnym view` started on a free port.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CLI, REPO } from './paths.js';
import { tempDir } from './tmp.js';

export const CHROMIUM = process.env.SCNYM_CHROMIUM ?? '/usr/bin/chromium';

/** Skipped only outside CI when Chromium is missing; in CI (CI=true) the test always runs. */
export const chromiumSkip: string | false =
  existsSync(CHROMIUM) || process.env.CI
    ? false
    : `no Chromium at ${CHROMIUM} (npm test installs it)`;

/**
 * How Chromium draws without a GPU. WebGL runs on SwiftShader (a CPU rasteriser) either way;
 * 'software' (--disable-gpu) composites the page on the CPU as Chromium does on a machine without
 * a usable GPU, which reads every WebGL frame back on the page's main thread; 'swiftshader' makes
 * SwiftShader the compositor's GPU too, so frames are composited without that wait (a benchmark
 * uses it to tell the page's own work from the frames').
 */
export type Compositing = 'software' | 'swiftshader';

/** A headless Chromium with a fresh profile; without the network flags it dials out at start. */
export async function launchChromium(
  profileDir: string,
  viewport: { width: number; height: number },
  compositing: Compositing = 'software',
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      ...(compositing === 'software'
        ? ['--disable-gpu']
        : ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist']),
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

/**
 * Starts `scnym view ARGS --no-open`; resolves with the process, the URL it prints (with its
 * `?token=`, which gives the browser the session cookie) and the server's origin.
 */
export function startView(
  args: string[],
): Promise<{ server: ChildProcess; url: string; origin: string }> {
  return new Promise((ok, fail) => {
    const server = spawn(process.execPath, [CLI, 'view', ...args, '--no-open'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      // The viewer's gene cache in a folder of the test's, not the user's cache folder.
      env: { ...process.env, SCNYM_CACHE_DIR: process.env.SCNYM_CACHE_DIR ?? tempDir() },
    });
    let out = '';
    let err = '';
    server.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /scNym viewer: ((http:\/\/127\.0\.0\.1:\d+)\/\?token=[0-9a-f]+)/.exec(out);
      if (m) ok({ server, url: m[1], origin: m[2] });
    });
    server.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    server.on('exit', (code) => fail(new Error(`scnym view exited (${code}): ${err}`)));
    setTimeout(() => fail(new Error(`scnym view printed no URL: ${out}${err}`)), 30_000).unref();
  });
}

/**
 * An end-to-end test's step log and screenshots: in $SCNYM_E2E_SCREENSHOTS when set, else in the
 * folder `fallback()` makes; each file named `${prefix}${name}.png`.
 */
export function e2eLog(fallback: () => string, prefix = '') {
  const shots = process.env.SCNYM_E2E_SCREENSHOTS ?? fallback();
  mkdirSync(shots, { recursive: true });
  return {
    shots,
    step(name: string): void {
      console.log(`# step: ${name}`);
    },
    async shot(page: Page, name: string): Promise<void> {
      await page.screenshot({ path: join(shots, `${prefix}${name}.png`) });
    },
  };
}

/**
 * What a browser test file starts, stopped after the file: the `servers` killed and the
 * `context` closed (within 15 s). Push and set them as they are made.
 */
export function closeAfterFile(): { servers: ChildProcess[]; context?: BrowserContext } {
  const started: { servers: ChildProcess[]; context?: BrowserContext } = { servers: [] };
  after(async () => {
    for (const server of started.servers) server.kill('SIGTERM');
    const closing = started.context?.close().catch(() => undefined);
    await Promise.race([closing, new Promise((done) => setTimeout(done, 15_000).unref())]);
  });
  return started;
}

/**
 * `scnym view ARGS` in Chromium, both stopped after the file (`started`, from closeAfterFile): a
 * page in the file's browser (launched with a fresh profile the first time) with `timeout` as its
 * default and its problems collected as they come (pageProblems); unless `goto` is false, the
 * viewer's URL loaded and ready (viewerReady).
 */
export async function openViewer(
  started: ReturnType<typeof closeAfterFile>,
  args: string[],
  {
    viewport = { width: 1400, height: 860 },
    timeout = 60_000,
    consoleErrors = true,
    readyTimeout,
    goto = true,
  }: {
    viewport?: { width: number; height: number };
    timeout?: number;
    consoleErrors?: boolean;
    readyTimeout?: number;
    goto?: boolean;
  } = {},
): Promise<{ view: Awaited<ReturnType<typeof startView>>; page: Page; problems: string[] }> {
  const view = await startView(args);
  started.servers.push(view.server);
  let page: Page;
  if (started.context) {
    page = await started.context.newPage();
  } else {
    const launched = await launchChromium(join(tempDir(), 'profile'), viewport);
    started.context = launched.context;
    page = launched.page;
  }
  page.setDefaultTimeout(timeout);
  const problems = pageProblems(page, consoleErrors);
  if (goto) {
    await page.goto(view.url);
    await viewerReady(page, readyTimeout);
  }
  return { view, page, problems };
}

/** Waits for the viewer to draw its plot (body[data-ready]) or fail; it must not have failed. */
export async function viewerReady(page: Page, timeout?: number): Promise<void> {
  await page.waitForSelector(
    'body[data-ready="true"], body[data-error]',
    timeout === undefined ? undefined : { timeout },
  );
  assert.equal(await page.evaluate(() => document.body.dataset.error ?? null), null);
}

/** The page's uncaught errors and, with `consoleErrors`, its console errors, as they come. */
export function pageProblems(page: Page, consoleErrors = true): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  if (consoleErrors) {
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
  }
  return problems;
}

/** The viewer legend's rows: each category's name and cell count, in the legend's order. */
export function legendRows(page: Page): Promise<{ name: string; count: number }[]> {
  return page.locator('#legend .legend-row').evaluateAll((rows) =>
    rows.map((r) => ({
      name: r.getAttribute('data-category') ?? '',
      count: Number(r.getAttribute('data-count')),
    })),
  );
}

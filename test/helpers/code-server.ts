/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * A real VS Code for the extension's end-to-end test: code-server (VS Code's workbench served
 * over HTTP, installed from npm into a cache folder outside the repository) driven in Debian's
 * Chromium with playwright-core, plus helpers for the command palette, quick picks,
 * notifications and webviews.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Frame, Page } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';
export { chromiumSkip, launchChromium } from './browser.js';

/** code-server 4.100.3 bundles @vscode/ripgrep 1.15.11, whose postinstall wants this asset. */
const RIPGREP_PACKAGE = '1.15.11';
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
/** The stamp written last into a complete install. */
const STAMP = '.scnym-installed';

/** Where code-server is (or gets) installed: $SCNYM_CODE_SERVER_DIR or a per-user cache. */
export function codeServerDir(): string {
  return (
    process.env.SCNYM_CODE_SERVER_DIR ??
    join(homedir(), '.cache', 'scnym-test', `code-server-${CODE_SERVER_VERSION}`)
  );
}

function binIn(dir: string): string {
  return join(dir, 'node_modules', '.bin', 'code-server');
}

/** The environment for code-server and npm: no VS Code of an enclosing terminal to talk to. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE') env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * @vscode/ripgrep's postinstall downloads rg from GitHub; this machine (and CI) reach only the
 * npm registry, so put Debian's rg (apt `ripgrep`) where the postinstall looks for its download.
 */
function seedRipgrepCache(): void {
  const cache = join(tmpdir(), `vscode-ripgrep-cache-${RIPGREP_PACKAGE}`);
  const asset = join(cache, RIPGREP_ASSET);
  if (existsSync(asset)) return;
  const rg = ['/usr/bin/rg', '/bin/rg'].find((p) => existsSync(p));
  if (!rg) throw new Error('no /usr/bin/rg: install the Debian package ripgrep (npm test does)');
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'scnym-rg-'));
  try {
    copyFileSync(rg, join(work, 'rg'));
    const partial = join(work, RIPGREP_ASSET);
    const r = spawnSync('tar', ['-czf', partial, '-C', work, 'rg'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    // Same file system as the cache only if tmpdir is; copy, then rename within the cache.
    const staged = `${asset}.${process.pid}.partial`;
    copyFileSync(partial, staged);
    renameSync(staged, asset);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The code-server binary, installed from npm on first use (about 75 s; needs the Debian packages
 * libkrb5-dev, pkg-config and ripgrep). Idempotent and safe to call concurrently: each caller
 * installs into its own temporary sibling folder, and the first to rename it into place wins.
 */
export async function ensureCodeServer(): Promise<string> {
  const dir = codeServerDir();
  if (existsSync(join(dir, STAMP)) && existsSync(binIn(dir))) return binIn(dir);
  seedRipgrepCache();
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}.installing-`);
  chmodSync(staging, 0o755);
  try {
    const started = Date.now();
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const args = ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', staging];
    const result = await run(npm, [...args, `code-server@${CODE_SERVER_VERSION}`], {
      cwd: staging,
      env: cleanEnv({ npm_config_unsafe_perm: 'true', npm_config_yes: 'true' }),
    });
    if (result.code !== 0 || !existsSync(binIn(staging))) {
      throw new Error(
        `npm install code-server@${CODE_SERVER_VERSION} failed (${result.code}):\n` +
          result.output.slice(-4000),
      );
    }
    writeFileSync(join(staging, STAMP), `${new Date().toISOString()}\n`);
    console.log(
      `# code-server ${CODE_SERVER_VERSION} installed in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    if (existsSync(dir) && !existsSync(join(dir, STAMP))) {
      // An interrupted install left an incomplete folder behind (no stamp): replace it.
      rmSync(dir, { recursive: true, force: true });
    }
    try {
      renameSync(staging, dir);
    } catch (e) {
      // Another process installed it meanwhile: use theirs.
      if (!existsSync(join(dir, STAMP))) throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return binIn(dir);
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => ok({ code, output }));
  });
}

/** Installs a .vsix into an extensions folder with `code-server --install-extension`. */
export async function installExtension(
  bin: string,
  vsix: string,
  extensionsDir: string,
): Promise<void> {
  mkdirSync(extensionsDir, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'scnym-cs-install-'));
  try {
    const result = await run(
      process.execPath,
      [
        bin,
        '--extensions-dir',
        extensionsDir,
        '--user-data-dir',
        join(scratch, 'user-data'),
        '--config',
        join(scratch, 'config.yaml'),
        '--force',
        '--install-extension',
        vsix,
      ],
      { cwd: scratch, env: cleanEnv() },
    );
    if (result.code !== 0 || !/successfully installed/i.test(result.output)) {
      throw new Error(`code-server --install-extension ${vsix} failed:\n${result.output}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface CodeServerOptions {
  /** The folder to open. */
  folder: string;
  extensionsDir: string;
  userDataDir: string;
  /** Added to the user settings (e.g. `{ 'scnym.seed': 0 }`). */
  settings?: Record<string, unknown>;
  /** The binary; default: `ensureCodeServer()`. */
  bin?: string;
  /** How long to wait for the server to answer HTTP (ms). */
  timeout?: number;
}

export interface CodeServer {
  /** The workbench with the folder open. */
  url: string;
  /** Everything code-server printed so far. */
  output(): string;
  /** Stops code-server and everything it started (extension host, pty host, watchers). */
  stop(): Promise<void>;
}

/** User settings that keep a fresh VS Code quiet: no telemetry, welcome page, trust prompt, tips. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Starts code-server on a free port with the folder open and waits until it answers HTTP. */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const bin = options.bin ?? (await ensureCodeServer());
  const settingsFile = join(options.userDataDir, 'User', 'settings.json');
  mkdirSync(dirname(settingsFile), { recursive: true });
  mkdirSync(options.extensionsDir, { recursive: true });
  writeFileSync(
    settingsFile,
    JSON.stringify({ ...QUIET_SETTINGS, ...(options.settings ?? {}) }, null, 2),
  );
  // Our own (empty) config file, so code-server leaves ~/.config/code-server alone.
  const config = join(options.userDataDir, 'code-server.yaml');
  writeFileSync(config, '');
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      '--config',
      config,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      '--user-data-dir',
      options.userDataDir,
      '--extensions-dir',
      options.extensionsDir,
      options.folder,
    ],
    {
      cwd: options.folder,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stop() reaches the extension host and friends too.
      detached: true,
    },
  );
  let output = '';
  let exited: number | null | undefined;
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<void>((done) =>
    child.on('exit', (code) => {
      exited = code;
      done();
    }),
  );
  const stop = async () => {
    if (exited !== undefined || child.pid === undefined) return;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    await Promise.race([exit, sleep(5000)]);
    signal('SIGKILL');
    await Promise.race([exit, sleep(2000)]);
  };

  const base = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + (options.timeout ?? 120_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`code-server exited (${exited}):\n${output}`);
    try {
      const response = await fetch(`${base}healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${base}:\n${output}`);
    }
    await sleep(250);
  }
  return {
    url: `${base}?folder=${encodeURIComponent(options.folder)}`,
    output: () => output,
    stop,
  };
}

/** Opens the workbench and waits until the explorer shows the folder's files. */
export async function openWorkbench(page: Page, url: string, timeout = 120_000): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout });
  await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout });
  // The workbench restores focus and layout for a moment after the explorer shows up.
  await page.waitForTimeout(1000);
}

const QUICK_INPUT = '.quick-input-widget';
const QUICK_ROWS = '.quick-input-widget .quick-input-list .monaco-list-row';

/** Escapes text for a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Opens the command palette (F1, or Ctrl+Shift+P when F1 went elsewhere, e.g. a terminal). */
async function openPalette(page: Page): Promise<void> {
  const widget = page.locator(QUICK_INPUT);
  if (await widget.isVisible()) return;
  await page.keyboard.press('F1');
  try {
    await widget.waitFor({ state: 'visible', timeout: 5000 });
  } catch {
    await page.keyboard.press('Control+Shift+P');
    await widget.waitFor({ state: 'visible', timeout: 10_000 });
  }
}

/**
 * Runs a command by its palette title (e.g. "scNym: Annotate Dataset…"): F1, the title, then a
 * click on the row whose label is exactly that title. The palette lists the commands known when
 * it opened, so while an extension's contributions are still arriving it is closed and opened
 * again until the command shows up.
 */
export async function runCommand(page: Page, title: string, timeout = 60_000): Promise<void> {
  // The palette's filter matches nothing once the typed text has a trailing "…": leave it out.
  const stem = title.replace(/(…|\.\.\.)$/, '');
  const label = new RegExp(`^${literal(stem)}${stem === title ? '' : '(…|\\.\\.\\.)'}$`);
  const row = page
    .locator(QUICK_ROWS)
    .filter({ has: page.locator('.label-name', { hasText: label }) })
    .first();
  const deadline = Date.now() + timeout;
  for (;;) {
    await openPalette(page);
    await page.locator(`${QUICK_INPUT} .quick-input-box input`).fill(`>${stem}`);
    try {
      await row.waitFor({ state: 'visible', timeout: 5000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await page.keyboard.press('Escape');
      await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 5000 });
    }
  }
  await row.click();
}

/** The palette's commands whose titles match `filter` (the palette is closed again after). */
export async function paletteCommands(page: Page, filter: string): Promise<string[]> {
  await openPalette(page);
  await page.locator(`${QUICK_INPUT} .quick-input-box input`).fill(`>${filter}`);
  await page.waitForTimeout(500);
  const titles = await page
    .locator(`${QUICK_ROWS} .label-name`)
    .evaluateAll((labels) => labels.map((l) => (l.textContent ?? '').trim()));
  await page.keyboard.press('Escape');
  await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 5000 });
  return titles;
}

export interface PickOptions {
  /** The quick pick's title (or placeholder) must match this first. */
  title?: RegExp;
  /** Accept only a row whose label is exactly the text (default: a row containing it). */
  exact?: boolean;
  timeout?: number;
}

/** The quick pick's title, or its placeholder when it has none. */
async function quickTitle(page: Page): Promise<string> {
  return page.evaluate(() => {
    const w = document.querySelector('.quick-input-widget') as HTMLElement | null;
    if (!w || w.style.display === 'none') return '';
    const title = w.querySelector('.quick-input-title')?.textContent ?? '';
    const input = w.querySelector('.quick-input-box input') as HTMLInputElement | null;
    return `${title}\n${input?.placeholder ?? ''}\n${input?.getAttribute('aria-label') ?? ''}`;
  });
}

/**
 * Waits for a quick pick (whose title matches `options.title`, if given), types `text` into its
 * filter, waits for a row containing it and accepts that row. Returns the row's text.
 */
export async function pickQuickItem(
  page: Page,
  text: string,
  options: PickOptions = {},
): Promise<string> {
  const timeout = options.timeout ?? 60_000;
  const widget = page.locator(QUICK_INPUT);
  await widget.waitFor({ state: 'visible', timeout });
  if (options.title) {
    const deadline = Date.now() + timeout;
    let seen = '';
    while (!options.title.test((seen = await quickTitle(page)))) {
      if (Date.now() > deadline) {
        throw new Error(`no quick pick titled ${options.title} (saw ${JSON.stringify(seen)})`);
      }
      await sleep(100);
    }
  }
  await page.locator(`${QUICK_INPUT} .quick-input-box input`).fill(text);
  const row = page
    .locator(QUICK_ROWS)
    .filter(
      options.exact
        ? { has: page.locator('.label-name', { hasText: new RegExp(`^${literal(text)}$`) }) }
        : { hasText: text },
    )
    .first();
  await row.waitFor({ state: 'visible', timeout });
  const label = (await row.innerText()).replace(/\s+/g, ' ').trim();
  await row.click();
  return label;
}

/** The rows of the visible quick pick (after it shows up), as text. */
export async function quickItems(page: Page, options: PickOptions = {}): Promise<string[]> {
  const timeout = options.timeout ?? 60_000;
  await page.locator(QUICK_ROWS).first().waitFor({ state: 'visible', timeout });
  if (options.title) {
    const deadline = Date.now() + timeout;
    while (!options.title.test(await quickTitle(page))) {
      if (Date.now() > deadline) throw new Error(`no quick pick titled ${options.title}`);
      await sleep(100);
    }
  }
  return page
    .locator(QUICK_ROWS)
    .evaluateAll((rows) => rows.map((r) => (r.textContent ?? '').replace(/\s+/g, ' ').trim()));
}

/** The text of every notification toast on screen. */
export async function notifications(page: Page): Promise<string[]> {
  return page
    .locator('.notifications-toasts .notification-toast .notification-list-item')
    .evaluateAll((items) =>
      items.map((i) =>
        [
          i.querySelector('.notification-list-item-message')?.textContent ?? '',
          i.querySelector('.notification-list-item-source')?.textContent ?? '',
        ]
          .join(' ')
          .trim(),
      ),
    );
}

/** Waits for a notification toast whose message matches; returns its text. */
export async function waitForNotification(
  page: Page,
  pattern: RegExp,
  timeout = 60_000,
): Promise<string> {
  const handle = await page.waitForFunction(
    ([source, flags]) => {
      const re = new RegExp(source, flags);
      for (const m of document.querySelectorAll(
        '.notifications-toasts .notification-list-item-message',
      )) {
        const text = m.textContent ?? '';
        if (re.test(text)) return text;
      }
      return false;
    },
    [pattern.source, pattern.flags] as const,
    { timeout, polling: 100 },
  );
  return (await handle.jsonValue()) as string;
}

/** The messages of the error notifications on screen. */
export async function errorNotifications(page: Page): Promise<string[]> {
  return page
    .locator('.notifications-toasts .notification-list-item')
    .filter({ has: page.locator('.codicon-error') })
    .locator('.notification-list-item-message')
    .allTextContents();
}

/** Clicks a button of the modal dialog (e.g. "Replace") once it shows; returns its message. */
export async function answerDialog(page: Page, button: string, timeout = 30_000): Promise<string> {
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout });
  const message = (await dialog.locator('.dialog-message-text').textContent()) ?? '';
  await dialog.locator('.dialog-buttons .monaco-button', { hasText: button }).first().click();
  await dialog.waitFor({ state: 'hidden', timeout });
  return message;
}

/** Clicks a button (e.g. "Cancel") of the notification toast whose message matches. */
export async function clickNotificationButton(
  page: Page,
  pattern: RegExp,
  button: string,
  timeout = 10_000,
): Promise<void> {
  const toast = page
    .locator('.notifications-toasts .notification-list-item')
    .filter({ has: page.locator('.notification-list-item-message', { hasText: pattern }) })
    .first();
  await toast.hover({ timeout });
  await toast
    .locator('.notification-list-item-buttons-container .monaco-button', { hasText: button })
    .first()
    .click({ timeout });
}

/**
 * The frame of a webview whose document has `selector`. VS Code puts each webview in an
 * `iframe.webview` whose document holds the content in another iframe (`#active-frame`); this
 * searches every frame of the page until one has it.
 */
export async function webviewFrame(page: Page, selector: string, timeout = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeout;
  for (;;) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame() || frame.isDetached()) continue;
      try {
        if (await frame.$(selector)) return frame;
      } catch {
        // navigating or detached meanwhile
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`no webview frame has ${selector} (frames: ${page.frames().length})`);
    }
    await sleep(250);
  }
}

/** The titles of the editor tabs. */
export async function tabTitles(page: Page): Promise<string[]> {
  return page
    .locator('.tabs-container .tab .label-name, .title-label .label-name')
    .evaluateAll((labels) => labels.map((l) => (l.textContent ?? '').trim()));
}

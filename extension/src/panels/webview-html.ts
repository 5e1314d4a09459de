/**
 * The HTML page of every webview: a strict Content-Security-Policy (nothing but our own files,
 * scripts only with a per-page nonce), @vscode-elements/elements first, then the page's script.
 *
 * Styles need no 'unsafe-inline': @vscode-elements (Lit) styles its shadow roots with
 * constructable stylesheets and sets its inline styles through the CSSOM, and our pages do the
 * same (element.style), which CSP does not restrict. Only `vscode` *types* are imported, so the
 * pure parts (contentSecurityPolicy, webviewDocument) load in plain Node tests.
 */
import { randomInt } from 'node:crypto';
import type * as vscode from 'vscode';

export interface CspOptions {
  /** `webview.cspSource`: where the webview may load our files from. */
  cspSource: string;
  nonce: string;
  /** Allow compiling WebAssembly ('wasm-unsafe-eval'). */
  wasm?: boolean;
  /** Allow eval / new Function ('unsafe-eval'). */
  unsafeEval?: boolean;
  /** More sources per directive, e.g. `{ 'worker-src': ['blob:'] }` (appended, never replacing). */
  extra?: Readonly<Record<string, readonly string[]>>;
}

export function contentSecurityPolicy(opts: CspOptions): string {
  const directives = new Map<string, string[]>([
    ['default-src', ["'none'"]],
    ['img-src', [opts.cspSource, 'data:']],
    ['font-src', [opts.cspSource]],
    ['style-src', [opts.cspSource]],
    [
      'script-src',
      [
        `'nonce-${opts.nonce}'`,
        ...(opts.wasm ? ["'wasm-unsafe-eval'"] : []),
        ...(opts.unsafeEval ? ["'unsafe-eval'"] : []),
      ],
    ],
  ]);
  for (const [name, sources] of Object.entries(opts.extra ?? {})) {
    if (!/^[a-z-]+$/.test(name) || sources.some((s) => /[;,\s]/.test(s))) {
      throw new Error(`invalid CSP directive ${name}: ${sources.join(' ')}`);
    }
    const current = directives.get(name) ?? [];
    // 'none' must stand alone in a directive that gains sources.
    directives.set(name, [...current.filter((s) => s !== "'none'"), ...sources]);
  }
  return [...directives].map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 random alphanumeric characters (≈190 bits) from the OS's CSPRNG. */
export function nonce(): string {
  let out = '';
  for (let i = 0; i < 32; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** For text and double-quoted attributes (so CSP quotes stay readable in the page). */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}

export interface PageScript {
  src: string;
  /** An ES module (elements.js is one); others are classic scripts (the IIFE bundles). */
  module?: boolean;
}

export interface DocumentOptions extends CspOptions {
  title: string;
  /** Scripts, run in this order after the page is parsed (each gets the nonce). */
  scripts: readonly PageScript[];
  /** Stylesheet URLs. */
  styles: readonly string[];
  /** Trusted markup for <body> (the page scripts build the rest). */
  body?: string;
}

/** The page itself, from URLs: pure, so tests can serve it to a browser without VS Code. */
export function webviewDocument(opts: DocumentOptions): string {
  const links = opts.styles.map(
    (href) => `    <link rel="stylesheet" href="${escapeHtml(href)}" />`,
  );
  // Module scripts are deferred; `defer` on the classic ones keeps the document order, so
  // the custom elements are defined before a page script runs.
  const scripts = opts.scripts.map(
    (s) =>
      `    <script ${s.module ? 'type="module"' : 'defer'} nonce="${escapeHtml(opts.nonce)}" ` +
      `src="${escapeHtml(s.src)}"></script>`,
  );
  return [
    '<!doctype html>',
    '<html lang="en">',
    '  <head>',
    '    <meta charset="UTF-8" />',
    `    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(opts))}" />`,
    '    <meta name="viewport" content="width=device-width, initial-scale=1.0" />',
    `    <title>${escapeHtml(opts.title)}</title>`,
    ...links,
    '  </head>',
    '  <body>',
    opts.body ?? '',
    ...scripts,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

/** Where build.mjs puts the webviews' files, relative to the extension. */
export const WEBVIEW_DIST = 'dist/webview';

/** dist/webview/<file> under the extension (Uri.with, so no runtime `vscode` import here). */
export function distUri(extensionUri: vscode.Uri, file?: string): vscode.Uri {
  const base = extensionUri.path.replace(/\/+$/, '');
  return extensionUri.with({ path: `${base}/${WEBVIEW_DIST}${file ? `/${file}` : ''}` });
}

export interface WebviewHtmlOptions {
  webview: vscode.Webview;
  extensionUri: vscode.Uri;
  title: string;
  /** The page's (classic, IIFE) script in dist/webview, e.g. 'results.js'; elements.js runs first. */
  script: string;
  /** Stylesheets in dist/webview (default: webview.css). */
  styles?: readonly string[];
  wasm?: boolean;
  unsafeEval?: boolean;
  extra?: CspOptions['extra'];
  body?: string;
}

export function webviewHtml(opts: WebviewHtmlOptions): string {
  const url = (file: string) =>
    opts.webview.asWebviewUri(distUri(opts.extensionUri, file)).toString();
  return webviewDocument({
    cspSource: opts.webview.cspSource,
    nonce: nonce(),
    wasm: opts.wasm,
    unsafeEval: opts.unsafeEval,
    extra: opts.extra,
    title: opts.title,
    // @vscode-elements' bundle is an ES module (it ends in `export {…}`).
    scripts: [{ src: url('elements.js'), module: true }, { src: url(opts.script) }],
    styles: (opts.styles ?? ['webview.css']).map(url),
    body: opts.body,
  });
}

/** Webview options every panel uses: scripts on, and nothing readable beyond dist/webview. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [distUri(extensionUri)] };
}

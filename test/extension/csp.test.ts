// The webviews' Content-Security-Policy and page: nothing by default, scripts only with the
// page's nonce, eval and WebAssembly compilation only when asked for, no inline styles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contentSecurityPolicy,
  distUri,
  escapeHtml,
  nonce,
  webviewDocument,
  webviewHtml,
} from '../../extension/src/panels/webview-html.js';

const SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';

/** directive → sources. */
function parse(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    assert.ok(!out.has(name), `${name} twice`);
    out.set(name, sources);
  }
  return out;
}

test('default: nothing but our files, scripts by nonce, no eval, no inline styles', () => {
  const csp = parse(contentSecurityPolicy({ cspSource: SOURCE, nonce: 'abc123' }));
  assert.deepEqual(csp.get('default-src'), ["'none'"]);
  assert.deepEqual(csp.get('script-src'), ["'nonce-abc123'"]);
  assert.deepEqual(csp.get('style-src'), [SOURCE]);
  assert.deepEqual(csp.get('img-src'), [SOURCE, 'data:']);
  assert.deepEqual(csp.get('font-src'), [SOURCE]);
  const all = [...csp.values()].flat();
  for (const unsafe of ["'unsafe-eval'", "'wasm-unsafe-eval'", "'unsafe-inline'", '*'])
    assert.ok(!all.includes(unsafe), unsafe);
  assert.ok(!csp.has('connect-src') && !csp.has('worker-src'));
});

test("'wasm-unsafe-eval' and 'unsafe-eval' only when asked, in script-src only", () => {
  const wasm = parse(contentSecurityPolicy({ cspSource: SOURCE, nonce: 'n', wasm: true }));
  assert.deepEqual(wasm.get('script-src'), ["'nonce-n'", "'wasm-unsafe-eval'"]);
  const evil = parse(contentSecurityPolicy({ cspSource: SOURCE, nonce: 'n', unsafeEval: true }));
  assert.deepEqual(evil.get('script-src'), ["'nonce-n'", "'unsafe-eval'"]);
  const both = parse(
    contentSecurityPolicy({ cspSource: SOURCE, nonce: 'n', wasm: true, unsafeEval: true }),
  );
  assert.deepEqual(both.get('script-src'), ["'nonce-n'", "'wasm-unsafe-eval'", "'unsafe-eval'"]);
  assert.deepEqual(both.get('default-src'), ["'none'"]);
});

test('extra sources are appended; malformed ones are refused', () => {
  const csp = parse(
    contentSecurityPolicy({
      cspSource: SOURCE,
      nonce: 'n',
      extra: { 'worker-src': ['blob:'], 'img-src': ['blob:'] },
    }),
  );
  assert.deepEqual(csp.get('worker-src'), ['blob:']);
  assert.deepEqual(csp.get('img-src'), [SOURCE, 'data:', 'blob:']);
  assert.deepEqual(csp.get('default-src'), ["'none'"]);
  assert.throws(() =>
    contentSecurityPolicy({
      cspSource: SOURCE,
      nonce: 'n',
      extra: { 'script-src': ["'self'; x"] },
    }),
  );
  assert.throws(() =>
    contentSecurityPolicy({ cspSource: SOURCE, nonce: 'n', extra: { 'a b': ['x'] } }),
  );
});

test('nonces: 32 alphanumeric characters, fresh each time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const n = nonce();
    assert.match(n, /^[A-Za-z0-9]{32}$/);
    seen.add(n);
  }
  assert.equal(seen.size, 200);
});

test('the page: CSP meta first, elements.js before the page script, every script has the nonce', () => {
  const html = webviewDocument({
    cspSource: SOURCE,
    nonce: 'N0nce',
    title: 'scNym results — <a & b>.h5ad',
    scripts: [
      { src: `${SOURCE}/ext/dist/webview/elements.js`, module: true },
      { src: `${SOURCE}/ext/dist/webview/results.js` },
    ],
    styles: [`${SOURCE}/ext/dist/webview/webview.css`],
  });
  const meta = html.indexOf('http-equiv="Content-Security-Policy"');
  assert.ok(meta > 0 && meta < html.indexOf('<link'), 'CSP before any resource');
  const csp = /content="([^"]*)"/.exec(html.slice(meta))![1];
  assert.equal(csp, contentSecurityPolicy({ cspSource: SOURCE, nonce: 'N0nce' }));
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 2);
  for (const s of scripts) assert.match(s, /nonce="N0nce"/);
  assert.ok(scripts[0].includes('elements.js') && scripts[1].includes('results.js'));
  // elements.js is an ES module; `defer` makes the page script run after it.
  assert.match(scripts[0], /type="module"/);
  assert.match(scripts[1], /\bdefer\b/);
  assert.ok(html.includes('<title>scNym results — &lt;a &amp; b&gt;.h5ad</title>'));
  assert.ok(!/<style|style="/.test(html), 'no inline styles');
  assert.equal(escapeHtml(`"'<>&`), `&quot;'&lt;&gt;&amp;`);
});

test('webviewHtml: files from dist/webview through asWebviewUri, with the webview cspSource', () => {
  // A stand-in for vscode.Uri / Webview: only what webviewHtml uses.
  interface FakeUri {
    scheme: string;
    path: string;
    with(change: { path: string }): FakeUri;
    toString(): string;
  }
  const uri = (path: string): FakeUri => ({
    scheme: 'file',
    path,
    with: (change) => uri(change.path),
    toString: () => `file://${path}`,
  });
  const webview = {
    cspSource: SOURCE,
    asWebviewUri: (u: FakeUri) => ({ toString: () => `${SOURCE}${u.path}` }),
  };
  type Opts = Parameters<typeof webviewHtml>[0];
  const html = webviewHtml({
    webview: webview as unknown as Opts['webview'],
    extensionUri: uri('/ext/') as unknown as Opts['extensionUri'],
    title: 'Viewer',
    script: 'viewer.js',
    styles: ['viewer.css'],
    unsafeEval: true,
  });
  assert.ok(html.includes(`src="${SOURCE}/ext/dist/webview/elements.js"`));
  assert.ok(html.includes(`src="${SOURCE}/ext/dist/webview/viewer.js"`));
  assert.ok(html.includes(`href="${SOURCE}/ext/dist/webview/viewer.css"`));
  assert.ok(!html.includes('webview.css'));
  assert.match(html, /script-src 'nonce-[A-Za-z0-9]{32}' 'unsafe-eval'"/);
  assert.equal(distUri(uri('/ext') as unknown as Opts['extensionUri']).path, '/ext/dist/webview');
});

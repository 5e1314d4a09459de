// Bundles the extension with esbuild into dist/ so the .vsix carries no node_modules:
//  - dist/extension.cjs: the extension host side (CommonJS, `vscode` external), small, no core;
//  - dist/worker.mjs: the worker_thread that runs core (TensorFlow.js WASM, AnnData I/O);
//  - dist/webview/*.js: the webviews' scripts (browser), with @vscode-elements/elements and the
//    plugin's scatterplot viewer; dist/wasm/: tfjs-backend-wasm's .wasm files; dist/h5plugins/:
//    the HDF5 filter plugins (lzf, blosc…), which the worker puts on HDF5's plugin path.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyH5Plugins } from '../core/scripts/h5plugins.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const require = createRequire(import.meta.url);
const minify = !process.env.SCNYM_DEV;
await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'wasm'), { recursive: true });
await mkdir(join(out, 'webview'), { recursive: true });

// `source`: workspace packages (@scnym/plugin/ui, …) are bundled from their TypeScript sources.
const common = {
  bundle: true,
  // Workspace packages (@scnym/core, @scnym/plugin) from their sources: the `source` condition.
  conditions: ['source'],
  sourcemap: true,
  minify,
  legalComments: 'linked',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { extension: join(here, 'src/extension.ts') },
  outExtension: { '.js': '.cjs' },
  outdir: out,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['vscode'],
});

await build({
  ...common,
  entryPoints: { worker: join(here, 'src/worker/worker.ts') },
  outExtension: { '.js': '.mjs' },
  outdir: out,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Some dependencies (emscripten's loaders) still use require() and __dirname; give the ESM
  // bundle both.
  banner: {
    js: [
      "import { createRequire as __scnymRequire } from 'node:module';",
      "import { dirname as __scnymDirname } from 'node:path';",
      "import { fileURLToPath as __scnymPath } from 'node:url';",
      'const require = __scnymRequire(import.meta.url);',
      'const __filename = __scnymPath(import.meta.url);',
      'const __dirname = __scnymDirname(__filename);',
    ].join(' '),
  },
});

await build({
  ...common,
  entryPoints: {
    results: join(here, 'src/webview/results.ts'),
    saliency: join(here, 'src/webview/saliency.ts'),
    viewer: join(here, 'src/webview/viewer.ts'),
  },
  outdir: join(out, 'webview'),
  format: 'iife',
  platform: 'browser',
  target: ['chrome120'],
  external: ['node:*', 'fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks', 'util'],
  define: { 'process.env.NODE_ENV': '"production"' },
});

const elements = require.resolve('@vscode-elements/elements/dist/bundled.js');
await copyFile(elements, join(out, 'webview', 'elements.js'));
await copyFile(require.resolve('@scnym/plugin/styles.css'), join(out, 'webview', 'viewer.css'));
await copyFile(join(here, 'src/webview/webview.css'), join(out, 'webview', 'webview.css'));
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
for (const f of await readdir(wasmDir)) {
  if (f.endsWith('.wasm')) await copyFile(join(wasmDir, f), join(out, 'wasm', f));
}
await copyH5Plugins(join(out, 'h5plugins'));
// vsce packs the licence from the extension's folder: the repository's, copied at build time.
await copyFile(join(here, '..', 'LICENSE'), join(here, 'LICENSE'));
console.log(`extension: built ${out}`);

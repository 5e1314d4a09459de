// Bundles the browser app (main + the two workers) with esbuild into dist/app/, copies the
// page, the stylesheet, tfjs-backend-wasm's .wasm files and the HDF5 filter plugins
// (h5plugins/, fetched by the workers when an .h5ad needs one) next to them, and bundles the UI
// kit (the `./ui` entry point) into dist/ui/. The server itself is compiled by tsc
// (tsconfig.json) into dist/server/. Workspace packages are read from their sources (the
// `source` condition of their exports).
import { build } from 'esbuild';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyH5Plugins } from '../core/scripts/h5plugins.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist', 'app');
await mkdir(join(out, 'wasm'), { recursive: true });

await build({
  entryPoints: {
    main: join(here, 'src/app/main.ts'),
    'data-worker': join(here, 'src/host/data-worker.ts'),
    'transfer-labels-worker': join(here, 'src/panels/transfer-labels/worker.ts'),
  },
  outdir: out,
  bundle: true,
  // Workspace packages from their sources (their package.json `source` condition).
  conditions: ['source'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  sourcemap: true,
  minify: process.env.SCNYM_DEV ? false : true,
  legalComments: 'linked',
  logLevel: 'warning',
  // Node built-ins some dependencies mention behind runtime checks; never loaded in a browser.
  external: ['node:*', 'fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks', 'util'],
  define: { 'process.env.NODE_ENV': '"production"' },
});

// The UI kit for bundlers that do not read sources (the workspace's read src/ui/index.ts).
await build({
  entryPoints: { index: join(here, 'src/ui/index.ts') },
  outdir: join(here, 'dist', 'ui'),
  bundle: true,
  conditions: ['source'],
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  logLevel: 'warning',
});

for (const f of ['index.html', 'styles.css'])
  await copyFile(join(here, 'src/app', f), join(out, f));
const require = createRequire(import.meta.url);
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
for (const f of await readdir(wasmDir)) {
  if (f.endsWith('.wasm')) await copyFile(join(wasmDir, f), join(out, 'wasm', f));
}
await copyH5Plugins(join(out, 'h5plugins'));
console.log(`plugin: built ${out}`);

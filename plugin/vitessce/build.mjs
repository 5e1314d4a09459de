// Bundles the Vitessce example page (React, Vitessce, the adapter and scNym's Transfer-labels
// panel) with esbuild into dist/, next to its page and stylesheet. The panel's workers and the
// TF.js .wasm files are not rebuilt: the page loads plugin/dist/app's (served at /app/).
//
// Vitessce's optional 3-D peers (three, @react-three/*) are only imported by its lazily loaded
// 3-D views, which this page never shows: they are replaced by an empty module instead of being
// installed.
import { build } from 'esbuild';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

/** three and @react-three/* → one CommonJS module with no exports (named imports are undefined). */
const noThreeD = {
  name: 'no-3d',
  setup(b) {
    b.onResolve({ filter: /^(three|@react-three\/[^/]+)(\/.*)?$/ }, (args) => ({
      path: args.path,
      namespace: 'no-3d',
    }));
    b.onLoad({ filter: /.*/, namespace: 'no-3d' }, () => ({
      contents: 'module.exports = {};',
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: { main: join(here, 'src/main.tsx') },
  outdir: out,
  bundle: true,
  conditions: ['source'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  sourcemap: true,
  minify: process.env.SCNYM_DEV ? false : true,
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
  plugins: [noThreeD],
  external: ['node:*', 'fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks', 'util'],
  define: { 'process.env.NODE_ENV': '"production"' },
});

for (const f of ['index.html', 'panel.css']) await copyFile(join(here, 'src', f), join(out, f));
// The page links main.css; esbuild writes one only when a dependency imports CSS.
if (!(await stat(join(out, 'main.css')).catch(() => null))) {
  await writeFile(join(out, 'main.css'), '/* no CSS imported by the bundle */\n');
}
let bytes = 0;
for (const o of Object.values(result.metafile.outputs)) bytes += o.bytes;
console.log(`vitessce-host: built ${out} (${(bytes / 1e6).toFixed(1)} MB with source maps)`);

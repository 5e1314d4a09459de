// The HDF5 filter plugins a bundle carries (plugin/build.mjs, extension/build.mjs): core's own
// (core/h5plugins: lzf, see src/anndata/h5ad/lzf-plugin.wat) and h5wasm-plugins' others, with
// h5wasm-plugins' licence texts (its own, Apache-2.0; the HDF Group's, for the filters).
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ours = join(dirname(fileURLToPath(import.meta.url)), '..', 'h5plugins');

/** Copies the plugins into `dest` (created); core's replace h5wasm-plugins' of the same name. */
export async function copyH5Plugins(dest) {
  await mkdir(dest, { recursive: true });
  const pkg = dirname(createRequire(import.meta.url).resolve('h5wasm-plugins/package.json'));
  const own = (await readdir(ours)).filter((f) => f.endsWith('.so'));
  for (const f of await readdir(join(pkg, 'plugins'))) {
    if (f.endsWith('.so') && !own.includes(f))
      await copyFile(join(pkg, 'plugins', f), join(dest, f));
  }
  for (const f of own) await copyFile(join(ours, f), join(dest, f));
  for (const f of ['LICENSE', 'COPYING']) await copyFile(join(pkg, f), join(dest, f));
}

/**
 * Opens an AnnData over HTTP in a browser worker with core's reader: a zarr store through
 * fetch (only the chunks asked for are requested; consolidated metadata lists the tree), or an
 * .h5ad through h5wasm (the file is fetched into h5wasm's in-memory file system). Files picked
 * in the page are read from their Blobs, only the parts asked for: a Zarr folder's chunks, an
 * .h5ad through h5wasm's WORKERFS (random access to the File, never a copy in memory).
 */
import {
  blobZarrStore,
  fetchZarrStore,
  openAnnData,
  openH5ad,
  openZarr,
  prepareH5wasm,
  useFilterPlugins,
  type AnnData,
} from '@scnym/core/anndata';
import type { DatasetLocation } from './worker-messages.js';

let h5counter = 0;

export async function openDatasetOverHttp(where: DatasetLocation): Promise<AnnData> {
  if (where.format === 'zarr') {
    const store = where.files
      ? blobZarrStore(where.files.map((f) => [f.path, f.file] as const))
      : fetchZarrStore(where.url);
    return openAnnData(await openZarr(store, where.name));
  }
  // Loaded only for .h5ad (it is most of the bundle's size).
  const h5wasm = (await import('h5wasm')).default;
  const module = await h5wasm.ready;
  prepareH5wasm(module);
  useFilterPlugins(module, { fetch: fetchFilterPlugin });
  const picked = where.files?.[0]?.file;
  if (picked) {
    const dir = `/picked-${++h5counter}`;
    module.FS.mkdir(dir);
    module.FS.mount(module.FS.filesystems.WORKERFS, { files: [picked] }, dir);
    const unmount = () => {
      module.FS.unmount(dir);
      module.FS.rmdir(dir);
    };
    try {
      const file = new h5wasm.File(`${dir}/${picked.name}`, 'r');
      const ad = await openAnnData(openH5ad(file, where.name, module));
      const close = ad.close.bind(ad);
      return Object.assign(ad, {
        close: () => close().finally(unmount),
      });
    } catch (err) {
      unmount();
      throw err;
    }
  }
  const response = await fetch(where.url);
  if (!response.ok) throw new Error(`${where.name}: HTTP ${response.status}`);
  const path = `/scnym-${++h5counter}.h5ad`;
  module.FS.writeFile(path, new Uint8Array(await response.arrayBuffer()));
  const file = new h5wasm.File(path, 'r');
  return openAnnData(openH5ad(file, where.name, module));
}

/**
 * An HDF5 filter plugin (lzf, blosc…), fetched from the app's h5plugins/ folder (plugin/build.mjs
 * copies h5wasm-plugins' files there) the first time a dataset needs it. The workers run from
 * the app folder, so their own URL locates it.
 */
async function fetchFilterPlugin(file: string): Promise<Uint8Array> {
  const url = new URL(`h5plugins/${file}`, self.location.href);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Opens an AnnData over HTTP in a browser worker with core's reader: a zarr store through
 * fetch (only the chunks asked for are requested; consolidated metadata lists the tree), or an
 * .h5ad through h5wasm (the file is fetched into h5wasm's in-memory file system).
 */
import { openAnnData } from '../../../core/src/anndata/read.js';
import { fetchZarrStore, openZarr } from '../../../core/src/anndata/zarr.js';
import { openH5ad, prepareH5wasm } from '../../../core/src/anndata/h5ad.js';
import type { AnnData } from '../../../core/src/anndata/types.js';
import type { DatasetLocation } from './worker-messages.js';

let h5counter = 0;

export async function openDatasetOverHttp(where: DatasetLocation): Promise<AnnData> {
  if (where.format === 'zarr') {
    return openAnnData(await openZarr(fetchZarrStore(where.url), where.name));
  }
  const response = await fetch(where.url);
  if (!response.ok) throw new Error(`${where.name}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  // Loaded only for .h5ad (it is most of the bundle's size).
  const h5wasm = (await import('h5wasm')).default;
  const module = await h5wasm.ready;
  prepareH5wasm(module);
  const path = `/scnym-${++h5counter}.h5ad`;
  module.FS.writeFile(path, bytes);
  const file = new h5wasm.File(path, 'r');
  return openAnnData(openH5ad(file, where.name, module));
}

/**
 * Consolidated metadata built in memory for a listable store that has none (anndata's
 * `write_zarr` does not consolidate), so a reader that cannot list — a browser over HTTP — can
 * still open it. Nothing is written to the store.
 */
import { consolidatedV2 } from './new-metadata.js';
import { decodeJson, encodeJson } from './json.js';
import { MetaIndex } from './meta-index.js';
import { consolidatedRootV3, walkNodes } from './publish.js';
import { readKey, type ZarrStore } from './store.js';

export interface ConsolidatedDocument {
  /** The store key the document stands for: `.zmetadata` (v2) or the root `zarr.json` (v3). */
  key: '.zmetadata' | 'zarr.json';
  /** Its bytes, as zarr-python writes them. */
  bytes: Uint8Array;
}

/**
 * The consolidated metadata of `store`, or undefined when the store already has it (or is not
 * a Zarr group). The store must list its keys. For v2 the `.zmetadata` document; for v3 the root
 * `zarr.json` with `consolidated_metadata` inline.
 */
export async function consolidatedDocument(
  store: ZarrStore,
  source: string,
): Promise<ConsolidatedDocument | undefined> {
  const v3Root = await readKey(store, source, 'zarr.json');
  if (v3Root) {
    const index = new MetaIndex(store, source, 3);
    const root = index.parseV3(decodeJson(v3Root, source, 'zarr.json'), '');
    const present = root.doc.consolidated_metadata;
    if (root.kind !== 'group' || (present !== undefined && present !== null)) return undefined;
    index.put('', root);
    const nodes = await walkNodes(store, index, source, '');
    return { key: 'zarr.json', bytes: encodeJson(consolidatedRootV3(nodes), 3) };
  }
  if (!(await readKey(store, source, '.zgroup'))) return undefined;
  if (await readKey(store, source, '.zmetadata')) return undefined;
  const nodes = await walkNodes(store, new MetaIndex(store, source, 2), source, '');
  if (!nodes.has('')) return undefined;
  return { key: '.zmetadata', bytes: encodeJson(consolidatedV2(nodes), 2) };
}

/**
 * Consolidated metadata built in memory for a listable store that has none (anndata's
 * `write_zarr` does not consolidate), so a reader that cannot list — a browser over HTTP — can
 * still open it. Nothing is written to the store.
 */
import { consolidatedV2, EMPTY_CONSOLIDATED } from './new-metadata.js';
import { decodeJson, encodeJson, type JsonObject } from './json.js';
import { listChildren, MetaIndex, type NodeMeta } from './meta-index.js';
import { join } from './paths.js';
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
    const metadata: JsonObject = {};
    for (const [path, node] of await collectNodes(store, index, source)) {
      // Nested groups carry an empty block, as zarr-python's consolidate_metadata writes them.
      metadata[path] =
        node.kind === 'group'
          ? { ...node.doc, consolidated_metadata: EMPTY_CONSOLIDATED }
          : node.doc;
    }
    const consolidated = { kind: 'inline', must_understand: false, metadata };
    return {
      key: 'zarr.json',
      bytes: encodeJson({ ...root.doc, consolidated_metadata: consolidated }, 3),
    };
  }
  if (!(await readKey(store, source, '.zgroup'))) return undefined;
  if (await readKey(store, source, '.zmetadata')) return undefined;
  const index = new MetaIndex(store, source, 2);
  const root = await index.get('');
  if (!root) return undefined;
  const nodes = new Map<string, NodeMeta>([
    ['', root],
    ...(await collectNodes(store, index, source)),
  ]);
  return { key: '.zmetadata', bytes: encodeJson(consolidatedV2(nodes), 2) };
}

/**
 * Every group and array below the root, breadth first. Names starting with '.' are skipped:
 * they are hidden or temporary (a writer's staging area), never an element anndata wrote.
 */
async function collectNodes(
  store: ZarrStore,
  index: MetaIndex,
  source: string,
): Promise<Map<string, NodeMeta>> {
  const nodes = new Map<string, NodeMeta>();
  const queue = [''];
  while (queue.length > 0) {
    const group = queue.shift() as string;
    const names = (await listChildren(store, index, group, source)).filter(
      (name) => !name.startsWith('.'),
    );
    for (const name of names.sort()) {
      const path = join(group, name);
      const node = await index.get(path);
      if (!node) continue;
      nodes.set(path, node);
      if (node.kind === 'group') queue.push(path);
    }
  }
  return nodes;
}

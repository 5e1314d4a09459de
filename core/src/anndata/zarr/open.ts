/** Opening a store: which zarr version it is, and its metadata index. */
import { AnnDataError } from '../../errors.js';
import type { Hierarchy, WritableHierarchy } from '../hierarchy.js';
import { decodeJson } from './json.js';
import { MetaIndex } from './meta-index.js';
import { ZarrHierarchy } from './read.js';
import { readKey, type WritableZarrStore, type ZarrStore } from './store.js';
import { WritableZarrHierarchy } from './write.js';

/** Opens a Zarr v2 or v3 store for reading; consolidated metadata is used when present. */
export async function openZarr(store: ZarrStore, source: string): Promise<Hierarchy> {
  const opened = await openIndex(store, source);
  return new ZarrHierarchy(store, source, opened.version, opened.index);
}

/** Opens a Zarr store for adding and changing elements (in the store's own zarr version). */
export async function openZarrWritable(
  store: ZarrStore,
  source: string,
): Promise<WritableHierarchy> {
  if (!store.set || !store.delete || !store.rename) {
    throw new AnnDataError('this store cannot be written to', {
      file: source,
      hint: 'open a local copy of the store to save results into it',
    });
  }
  const opened = await openIndex(store, source);
  return new WritableZarrHierarchy(
    store as WritableZarrStore,
    source,
    opened.version,
    opened.index,
  );
}

const NOT_ZARR_HINT =
  'point to the folder that holds .zgroup (Zarr v2) or zarr.json (Zarr v3), e.g. data.zarr';

async function openIndex(
  store: ZarrStore,
  source: string,
): Promise<{ version: 2 | 3; index: MetaIndex }> {
  const [v3Root, v2Group, v2Array] = await Promise.all(
    ['zarr.json', '.zgroup', '.zarray'].map((key) => readKey(store, source, key)),
  );
  if (v3Root) {
    const index = new MetaIndex(store, source, 3);
    const root = index.parseV3(decodeJson(v3Root, source, 'zarr.json'), '');
    const consolidated = root.doc.consolidated_metadata;
    if (consolidated !== undefined && consolidated !== null) {
      index.loadConsolidatedV3(consolidated);
    }
    index.put('', root);
    return { version: 3, index };
  }
  if (v2Group || v2Array) {
    const index = new MetaIndex(store, source, 2);
    const zmetadata = await readKey(store, source, '.zmetadata');
    if (zmetadata) index.loadConsolidatedV2(decodeJson(zmetadata, source, '.zmetadata'));
    // Like zarr-python, the root's own documents win over its consolidated copy.
    index.put('', await index.loadFromStore(''));
    return { version: 2, index };
  }
  throw new AnnDataError('not a Zarr store: no .zgroup or zarr.json at its root', {
    file: source,
    hint: NOT_ZARR_HINT,
  });
}

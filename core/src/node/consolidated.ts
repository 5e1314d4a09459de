/** Consolidated metadata for a `.zarr` folder that has none, built in memory (see zarr/consolidate). */
import { consolidatedDocument, type ConsolidatedDocument } from '../anndata/zarr/consolidate.js';
import { FileSystemZarrStore } from './zarr-store.js';

export type { ConsolidatedDocument };

/**
 * The `.zmetadata` (Zarr v2) or consolidated root `zarr.json` (v3) the folder would have if it
 * were consolidated; undefined when it already is. Only reads the folder.
 */
export function consolidatedMetadataFile(path: string): Promise<ConsolidatedDocument | undefined> {
  return consolidatedDocument(new FileSystemZarrStore(path), path);
}

/**
 * A read-only Zarr store over picked files (File/Blob objects with their paths inside the
 * folder), e.g. a folder chosen or dropped in a browser page. Only the chunks asked for are read
 * (Blob.slice); the paths list the tree, so no consolidated metadata is needed.
 */
import type { ByteRange, ZarrStore } from './store.js';

/** `files`: path under the store's root ('obs/.zattrs', 'X/data/0') → its bytes. */
export function blobZarrStore(files: Iterable<readonly [string, Blob]>): ZarrStore {
  const blobs = new Map<string, Blob>();
  // Each prefix ('' is the root) → the names of its direct children.
  const children = new Map<string, Set<string>>();
  for (const [path, blob] of files) {
    const key = path.split('/').filter(Boolean).join('/');
    if (!key) continue;
    blobs.set(key, blob);
    const parts = key.split('/');
    for (let i = 0; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      let names = children.get(prefix);
      if (!names) children.set(prefix, (names = new Set()));
      names.add(parts[i]);
    }
  }
  const bytes = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());
  return {
    async get(key) {
      const blob = blobs.get(key);
      return blob && bytes(blob);
    },
    async getRange(key, range: ByteRange) {
      const blob = blobs.get(key);
      if (!blob) return undefined;
      // Clamped to the blob, as the file-system store does.
      const start =
        'suffixLength' in range ? Math.max(0, blob.size - range.suffixLength) : range.offset;
      const end = 'suffixLength' in range ? blob.size : range.offset + range.length;
      return bytes(blob.slice(Math.min(start, blob.size), Math.min(end, blob.size)));
    },
    async list(prefix) {
      return [...(children.get(prefix.split('/').filter(Boolean).join('/')) ?? [])].sort();
    },
  };
}

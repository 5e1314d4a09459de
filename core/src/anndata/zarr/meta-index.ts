/**
 * Metadata index: node metadata by path, from consolidated metadata or loaded on demand; and the
 * children of a group, from the store's listing or from the index.
 */
import { AnnDataError } from '../../errors.js';
import { PRIVATE_PREFIX, type Attrs } from '../hierarchy.js';
import { invalidMetadata, messageOf } from './errors.js';
import { asAttrs, asObject, decodeJson, type JsonObject } from './json.js';
import { baseName, isWithin, join, parentOf, trimSlashes } from './paths.js';
import { mapLimit } from './queue.js';
import { readKey, type ZarrStore } from './store.js';

export interface NodeMeta {
  kind: 'group' | 'array';
  attrs: Attrs;
  /** The node's metadata document: v2 `.zarray` / `.zgroup`, v3 `zarr.json`. */
  doc: JsonObject;
}

const V2_DOCS = ['.zarray', '.zgroup', '.zattrs'] as const;
export const METADATA_NAMES = new Set(['.zarray', '.zgroup', '.zattrs', '.zmetadata', 'zarr.json']);

export class MetaIndex {
  /** null records a path known to hold nothing. */
  private readonly nodes = new Map<string, NodeMeta | null>();
  consolidated = false;

  constructor(
    private readonly store: ZarrStore,
    private readonly source: string,
    readonly version: 2 | 3,
  ) {}

  async get(path: string): Promise<NodeMeta | null> {
    const known = this.nodes.get(path);
    if (known !== undefined) return known;
    const loaded = await this.loadFromStore(path);
    this.nodes.set(path, loaded);
    return loaded;
  }

  /** The cached node, without loading. */
  peek(path: string): NodeMeta | null | undefined {
    return this.nodes.get(path);
  }

  put(path: string, node: NodeMeta | null): void {
    this.nodes.set(path, node);
  }

  /** Forgets `path` and everything under it (after a removal or a move). */
  forget(path: string): void {
    for (const key of [...this.nodes.keys()]) {
      if (isWithin(key, path)) this.nodes.delete(key);
    }
  }

  move(from: string, to: string): void {
    const moved: [string, NodeMeta | null][] = [];
    for (const [key, node] of this.nodes) {
      if (isWithin(key, from)) moved.push([to + key.slice(from.length), node]);
    }
    this.forget(from);
    this.forget(to);
    for (const [key, node] of moved) this.nodes.set(key, node);
    this.nodes.set(from, null);
  }

  /** Children known to the index (from consolidated metadata and our own writes). */
  knownChildren(path: string): string[] {
    const names: string[] = [];
    for (const [key, node] of this.nodes) {
      if (node && key !== '' && parentOf(key) === path) names.push(baseName(key));
    }
    return names;
  }

  /** Reads a node's metadata documents straight from the store (no cache). */
  async loadFromStore(path: string): Promise<NodeMeta | null> {
    if (this.version === 3) {
      const bytes = await readKey(this.store, this.source, join(path, 'zarr.json'));
      return bytes
        ? this.parseV3(decodeJson(bytes, this.source, join(path, 'zarr.json')), path)
        : null;
    }
    const keys = V2_DOCS.map((name) => join(path, name));
    const [zarray, zgroup, zattrs] = await Promise.all(
      keys.map((key) => readKey(this.store, this.source, key)),
    );
    const docBytes = zarray ?? zgroup;
    if (!docBytes) return null;
    const docKey = zarray ? keys[0] : keys[1];
    return {
      kind: zarray ? 'array' : 'group',
      doc: asObject(decodeJson(docBytes, this.source, docKey), this.source, docKey),
      attrs: zattrs ? asAttrs(decodeJson(zattrs, this.source, keys[2]), this.source, keys[2]) : {},
    };
  }

  parseV3(value: unknown, path: string): NodeMeta {
    const key = join(path, 'zarr.json');
    const doc = asObject(value, this.source, key);
    const kind = doc.node_type;
    if (kind !== 'array' && kind !== 'group') {
      throw invalidMetadata(this.source, key, `node_type is ${JSON.stringify(kind)}`);
    }
    const attrs = doc.attributes === undefined ? {} : asAttrs(doc.attributes, this.source, key);
    return { kind, doc, attrs };
  }

  loadConsolidatedV2(value: unknown): void {
    const meta = asObject(value, this.source, '.zmetadata').metadata;
    const docs = asObject(meta, this.source, '.zmetadata');
    const attrs = new Map<string, unknown>();
    for (const [key, doc] of Object.entries(docs)) {
      const name = baseName(key);
      const path = parentOf(key);
      if (name === '.zattrs') attrs.set(path, doc);
      else if (name === '.zarray' || name === '.zgroup') {
        const kind = name === '.zarray' ? 'array' : 'group';
        this.nodes.set(path, { kind, doc: asObject(doc, this.source, key), attrs: {} });
      }
    }
    for (const [path, value] of attrs) {
      const node = this.nodes.get(path);
      if (node) node.attrs = asAttrs(value, this.source, join(path, '.zattrs'));
    }
    this.consolidated = true;
  }

  loadConsolidatedV3(value: unknown, prefix = ''): void {
    const block = asObject(value, this.source, 'zarr.json');
    const entries = asObject(block.metadata, this.source, 'zarr.json');
    for (const [key, doc] of Object.entries(entries)) {
      const path = join(prefix, trimSlashes(key));
      const node = this.parseV3(doc, path);
      this.nodes.set(path, node);
      // zarr-python writes a flat mapping; nested blocks are tolerated all the same.
      const nested = node.doc.consolidated_metadata;
      if (node.kind === 'group' && nested !== undefined && nested !== null) {
        this.loadConsolidatedV3(nested, path);
      }
    }
    this.consolidated = true;
  }
}

export async function listChildren(
  store: ZarrStore,
  index: MetaIndex,
  path: string,
  source: string,
): Promise<string[]> {
  if (!store.list) {
    if (index.consolidated) return index.knownChildren(path);
    throw new AnnDataError('cannot list the elements of this store', {
      file: source,
      element: path || '/',
      hint: 'consolidate its metadata (Python: zarr.consolidate_metadata(path)) or open a local copy',
    });
  }
  let names: string[];
  try {
    names = await store.list(path);
  } catch (err) {
    throw new AnnDataError(`cannot list: ${messageOf(err)}`, {
      file: source,
      element: path,
      cause: err,
    });
  }
  const candidates = names.filter(
    (name) => !METADATA_NAMES.has(name) && !name.startsWith(PRIVATE_PREFIX),
  );
  const kinds = await mapLimit(candidates, 16, (name) => index.get(join(path, name)));
  return candidates.filter((_, i) => kinds[i] !== null);
}

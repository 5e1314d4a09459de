/**
 * The writable Zarr hierarchy. Writing is done here rather than by zarrita, which only writes v3
 * metadata and cannot encode strings, gzip or zlib.
 */
import { ScnymError, WriteConflictError, throwIfAborted } from '../../errors.js';
import { explainSystemError } from '../system-errors.js';
import type {
  Attrs,
  NewArray,
  PublishPlan,
  WritableHierarchy,
  WriteControl,
} from '../hierarchy.js';
import type { V3Codec } from './array-metadata.js';
import { chunkKey, compress, ENCODERS, encodeValues, sliceChunk } from './encode.js';
import { messageOf } from './errors.js';
import { encodeJson, type JsonObject } from './json.js';
import { listChildren, MetaIndex, METADATA_NAMES, type NodeMeta } from './meta-index.js';
import {
  checkNewArray,
  chunkShape,
  type Compressor,
  consolidatedV2,
  v2ArrayDoc,
  v3ArrayDoc,
  v3GroupDoc,
} from './new-metadata.js';
import { consolidatedRootV3, publishStaged, walkNodes } from './publish.js';
import { baseName, join, parentOf } from './paths.js';
import { ZarrHierarchy } from './read.js';
import type { WritableZarrStore } from './store.js';

const DEFAULT_V2_COMPRESSOR = { id: 'blosc', cname: 'lz4', clevel: 5, shuffle: 1, blocksize: 0 };
const DEFAULT_V3_COMPRESSOR = { name: 'zstd', configuration: { level: 0, checksum: false } };

export class WritableZarrHierarchy extends ZarrHierarchy implements WritableHierarchy {
  private compressor?: Promise<Compressor>;

  constructor(
    protected override readonly store: WritableZarrStore,
    source: string,
    zarrFormat: 2 | 3,
    index: MetaIndex,
  ) {
    super(store, source, zarrFormat, index);
  }

  async createGroup(path: string, attrs: Attrs = {}): Promise<void> {
    const p = await this.creatable(path);
    await this.guard(p, async () => {
      if (this.zarrFormat === 3) {
        await this.putNode(p, { kind: 'group', attrs, doc: v3GroupDoc(attrs) });
      } else {
        await this.putNode(p, { kind: 'group', attrs, doc: { zarr_format: 2 } });
      }
    });
  }

  async createArray(path: string, array: NewArray, control: WriteControl = {}): Promise<void> {
    const p = await this.creatable(path);
    checkNewArray(array, this.source, p);
    const scalarV2 = this.zarrFormat === 2 && array.shape.length === 0;
    // anndata writes 0-d arrays uncompressed; we do the same.
    const compressor = scalarV2 ? null : await this.storeCompressor();
    const chunks = chunkShape(array.shape);
    const attrs = array.attrs ?? {};
    const doc =
      this.zarrFormat === 2
        ? v2ArrayDoc(array, chunks, compressor)
        : v3ArrayDoc(array, chunks, compressor, attrs);
    await this.guard(p, async () => {
      await this.writeChunks(p, array, chunks, compressor, control.signal);
      await this.putNode(p, { kind: 'array', attrs, doc });
    });
  }

  async setAttrs(path: string, attrs: Attrs): Promise<void> {
    const p = this.norm(path);
    const node = await this.node(p);
    await this.guard(p, async () => {
      const doc = this.zarrFormat === 3 ? { ...node.doc, attributes: attrs } : node.doc;
      if (this.zarrFormat === 2) await this.putJson(join(p, '.zattrs'), attrs);
      else await this.putJson(join(p, 'zarr.json'), doc);
      this.index.put(p, { ...node, attrs: structuredClone(attrs), doc });
    });
  }

  async remove(path: string): Promise<void> {
    const p = this.norm(path);
    if (p === '') throw this.error(p, 'cannot remove the root of the store');
    // Unreadable metadata still counts as something to remove.
    const exists = await this.index.get(p).then(Boolean, () => true);
    if (!exists) return;
    await this.guard(p, () => this.store.delete(p));
    this.index.forget(p);
    this.index.put(p, null);
    this.invalidate();
  }

  async move(from: string, to: string): Promise<void> {
    const src = this.norm(from);
    const dst = await this.creatable(to);
    if (src === '') throw this.error(src, 'cannot move the root of the store');
    await this.node(src);
    await this.guard(src, () => this.store.rename(src, dst));
    this.index.move(src, dst);
    this.invalidate();
  }

  async flush(): Promise<void> {
    if (!this.index.consolidated) return;
    await this.guard('', async () => {
      const nodes = await this.collectNodes();
      if (this.zarrFormat === 2) await this.putJson('.zmetadata', consolidatedV2(nodes));
      else {
        const doc = consolidatedRootV3(nodes);
        await this.putJson('zarr.json', doc);
        this.index.put('', { ...(nodes.get('') as NodeMeta), doc });
      }
    });
  }

  /** Journalled: see publish.ts. */
  async publish(plan: PublishPlan): Promise<void> {
    await this.guard(plan.stage, () =>
      publishStaged(
        {
          store: this.store,
          index: this.index,
          source: this.source,
          zarrFormat: this.zarrFormat,
        },
        plan,
      ),
    );
    this.invalidate();
  }

  /** Validates a new element's path: its parent is a group and nothing is there yet. */
  private async creatable(path: string): Promise<string> {
    const p = this.norm(path);
    if (p === '') throw new WriteConflictError('the root already exists', { file: this.source });
    if (METADATA_NAMES.has(baseName(p))) throw this.error(p, 'is a reserved Zarr name');
    const parent = await this.index.get(parentOf(p));
    if (parent?.kind !== 'group') {
      throw this.error(p, `the parent group '${parentOf(p) || '/'}' does not exist`);
    }
    if (await this.index.get(p)) {
      throw new WriteConflictError('already exists', {
        file: this.source,
        element: p,
        hint: 'remove it first or choose another name',
      });
    }
    return p;
  }

  /** Runs a write; store failures become errors that name the file and element. */
  private async guard(path: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (err instanceof ScnymError) throw err;
      // A full disk, a permission: said in words, naming the store rather than a chunk file.
      throw (
        explainSystemError(err, { file: this.source }) ??
        this.error(path, `cannot write: ${messageOf(err)}`, { cause: err })
      );
    }
  }

  /** Writes a node's metadata (attributes first, so the node appears complete) and indexes it. */
  private async putNode(path: string, node: NodeMeta): Promise<void> {
    if (this.zarrFormat === 2) {
      await this.putJson(join(path, '.zattrs'), node.attrs);
      await this.putJson(join(path, node.kind === 'array' ? '.zarray' : '.zgroup'), node.doc);
    } else {
      await this.putJson(join(path, 'zarr.json'), node.doc);
    }
    this.index.put(path, { ...node, attrs: structuredClone(node.attrs) });
  }

  /** Writes JSON through a temp key and a rename, unless the store's `set` is atomic. */
  private async putJson(key: string, value: unknown): Promise<void> {
    const bytes = encodeJson(value, this.zarrFormat);
    if (this.store.atomicSet) return this.store.set(key, bytes);
    const temp = `${key}.${Math.random().toString(36).slice(2)}.tmp`;
    await this.store.set(temp, bytes);
    await this.store.rename(temp, key);
  }

  private async writeChunks(
    path: string,
    array: NewArray,
    chunks: number[],
    compressor: Compressor,
    signal?: AbortSignal,
  ): Promise<void> {
    const chunkLength = chunks.reduce((a, b) => a * b, 1);
    // Arrays without values get no chunks: readers see the fill value.
    const nChunks =
      array.data.length === 0 ? 0 : Math.ceil((array.shape[0] ?? 1) / (chunks[0] ?? 1));
    for (let i = 0; i < nChunks; i++) {
      throwIfAborted(signal);
      const start = i * chunkLength;
      const values = sliceChunk(
        array.data,
        start,
        Math.min(start + chunkLength, array.data.length),
        chunkLength,
      );
      const raw = encodeValues(values, array.dtype, this.zarrFormat, array.shape.length === 0);
      const bytes = compressor ? await compress(raw, compressor, this.zarrFormat) : raw;
      const coords = array.shape.length === 0 ? [] : [i, ...chunks.slice(1).map(() => 0)];
      await this.store.set(join(path, chunkKey(coords, this.zarrFormat)), bytes);
    }
  }

  /** The compressor of the store's existing arrays, so new arrays look like the old ones. */
  private storeCompressor(): Promise<Compressor> {
    this.compressor ??= this.findCompressor();
    return this.compressor;
  }

  private async findCompressor(): Promise<Compressor> {
    const sample = await this.sampleArray();
    if (this.zarrFormat === 2) {
      const found = sample?.doc.compressor;
      if (found === null && sample) return null;
      const id = (found as JsonObject | undefined)?.id;
      return typeof id === 'string' && id in ENCODERS
        ? (found as JsonObject)
        : DEFAULT_V2_COMPRESSOR;
    }
    const codecs = Array.isArray(sample?.doc.codecs) ? (sample.doc.codecs as V3Codec[]) : [];
    if (codecs.some((c) => c.name === 'sharding_indexed')) return DEFAULT_V3_COMPRESSOR;
    const found = codecs.find((c) => c.name === 'zstd' || c.name === 'gzip');
    // numcodecs' zstd writes no checksum, so the metadata must not promise one.
    if (found?.name === 'zstd')
      return { name: 'zstd', configuration: { ...found.configuration, checksum: false } };
    if (found) return { name: found.name, configuration: { ...found.configuration } };
    if (sample && codecs.length === 1) return null;
    return DEFAULT_V3_COMPRESSOR;
  }

  /** X's data (the largest array, written by the same tool), else the first array found. */
  private async sampleArray(): Promise<NodeMeta | undefined> {
    // 0-d arrays do not count: anndata writes them uncompressed whatever the store uses.
    const isSample = (node: NodeMeta): boolean =>
      node.kind === 'array' && Array.isArray(node.doc.shape) && node.doc.shape.length > 0;
    for (const path of ['X/data', 'X']) {
      const node = await this.index.get(path).catch(() => null);
      if (node && isSample(node)) return node;
    }
    const queue = [''];
    for (let visited = 0; queue.length > 0 && visited < 200; visited++) {
      const group = queue.shift() as string;
      const names = await listChildren(this.store, this.index, group, this.source).catch(() => []);
      for (const name of names.sort()) {
        const node = await this.index.get(join(group, name)).catch(() => null);
        if (node && isSample(node)) return node;
        if (node?.kind === 'group') queue.push(join(group, name));
      }
    }
    return undefined;
  }

  /** Every node, the root first, read afresh from the store when it can be listed. */
  private async collectNodes(): Promise<Map<string, NodeMeta>> {
    const fresh = this.store.list
      ? new MetaIndex(this.store, this.source, this.zarrFormat)
      : this.index;
    return walkNodes(this.store, fresh, this.source, '');
  }
}

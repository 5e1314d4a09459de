/**
 * Zarr v2 and v3 stores as a `Hierarchy`. Reading goes through zarrita (codecs, sharding,
 * selections); writing is done here, because zarrita only writes v3 metadata and cannot encode
 * strings, gzip or zlib. Platform-neutral: the bytes come from an injected `ZarrStore`.
 */
import * as zarr from 'zarrita';
import { AnnDataError, ScnymError, WriteConflictError } from './errors.js';
import type {
  ArrayData,
  ArrayMeta,
  ArrayResult,
  Attrs,
  DType,
  Hierarchy,
  NewArray,
  NodeKind,
  Range,
  Selection,
  WritableHierarchy,
} from './hierarchy.js';

// ---------------------------------------------------------------------------------------------
// Byte stores
// ---------------------------------------------------------------------------------------------

export type ByteRange = { offset: number; length: number } | { suffixLength: number };

/**
 * A key-value byte store. Keys are '/'-separated paths relative to the store's root, e.g.
 * 'obs/cell_type/codes/.zarray'; a prefix such as 'obs/cell_type' names a "directory".
 */
export interface ZarrStore {
  /** The bytes at `key`, or undefined if there are none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Part of the value at `key` (sharded arrays are read this way); else `get` is used. */
  getRange?(key: string, range: ByteRange): Promise<Uint8Array | undefined>;
  /** Names of the direct children (keys and sub-prefixes) of `prefix` ('' is the root). */
  list?(prefix: string): Promise<string[]>;
  /** Stores `value` at `key`, creating parent prefixes. */
  set?(key: string, value: Uint8Array): Promise<void>;
  /** Removes `prefix` and everything under it; no-op if missing. */
  delete?(prefix: string): Promise<void>;
  /**
   * Moves a key or a whole prefix. `toPrefix` must not exist, except that a single key may be
   * replaced (used to swap a temp file into place).
   */
  rename?(fromPrefix: string, toPrefix: string): Promise<void>;
  /** True when `set` already replaces a value atomically (so no temp key is needed). */
  readonly atomicSet?: boolean;
}

export type WritableZarrStore = ZarrStore & Required<Pick<ZarrStore, 'set' | 'delete' | 'rename'>>;

/** Adapts a zarrita store (keys with a leading '/', e.g. `zarr.FetchStore`) to `ZarrStore`. */
export function fromZarritaStore(store: zarr.AsyncReadable): ZarrStore {
  const getRange = store.getRange?.bind(store);
  return {
    get: (key) => store.get(`/${key}`),
    getRange: getRange && ((key, range) => getRange(`/${key}`, range)),
  };
}

/** A read-only store over HTTP(S), e.g. for a browser. Needs consolidated metadata to list. */
export function fetchZarrStore(url: string | URL): ZarrStore {
  return fromZarritaStore(new zarr.FetchStore(url));
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Metadata index: node metadata by path, from consolidated metadata or loaded on demand
// ---------------------------------------------------------------------------------------------

type JsonObject = { [key: string]: unknown };

interface NodeMeta {
  kind: 'group' | 'array';
  attrs: Attrs;
  /** The node's metadata document: v2 `.zarray` / `.zgroup`, v3 `zarr.json`. */
  doc: JsonObject;
}

const V2_DOCS = ['.zarray', '.zgroup', '.zattrs'] as const;
const METADATA_NAMES = new Set(['.zarray', '.zgroup', '.zattrs', '.zmetadata', 'zarr.json']);
const EMPTY_CONSOLIDATED = { kind: 'inline', must_understand: false, metadata: {} };

class MetaIndex {
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

// ---------------------------------------------------------------------------------------------
// Array metadata: validation and description
// ---------------------------------------------------------------------------------------------

/** Largest selection (and chunk) read at once: guards against absurd allocations. */
const MAX_ELEMENTS = 2 ** 31;

interface ParsedArray {
  shape: number[];
  /** Chunk shape as decoded: the inner chunk of a shard. */
  chunks: number[];
  dtype: DType;
  codecs: string[];
  /** zarrita registry names the chunks need. */
  codecIds: string[];
  /** The outermost compressor of unsharded chunks is blosc (their headers are checked). */
  blosc: boolean;
  fillValue: unknown;
}

const V2_DTYPES: Record<string, DType> = {
  b1: 'bool',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  f4: 'float32',
  f8: 'float64',
};

const V3_DTYPES = new Set<string>([...Object.values(V2_DTYPES), 'string']);

function parseArray(node: NodeMeta, version: 2 | 3, file: string, path: string): ParsedArray {
  const key = join(path, version === 2 ? '.zarray' : 'zarr.json');
  const parsed =
    version === 2 ? parseV2Array(node.doc, file, key) : parseV3Array(node.doc, file, key);
  const chunkSize = parsed.chunks.reduce((a, b) => a * b, 1);
  if (chunkSize > MAX_ELEMENTS) {
    throw invalidMetadata(file, key, `chunk shape [${parsed.chunks}] is too large to decode`);
  }
  return parsed;
}

function parseV2Array(doc: JsonObject, file: string, key: string): ParsedArray {
  if (doc.zarr_format !== 2) throw invalidMetadata(file, key, 'zarr_format is not 2');
  const shape = checkShape(doc.shape, file, key);
  const chunks = checkChunks(doc.chunks, shape.length, file, key);
  if (doc.order !== undefined && doc.order !== 'C' && doc.order !== 'F') {
    throw invalidMetadata(file, key, `order ${JSON.stringify(doc.order)}`);
  }
  const sep = doc.dimension_separator;
  if (sep !== undefined && sep !== null && sep !== '.' && sep !== '/') {
    throw invalidMetadata(file, key, `dimension_separator ${JSON.stringify(sep)}`);
  }
  const filters = doc.filters === null || doc.filters === undefined ? [] : doc.filters;
  if (!Array.isArray(filters)) throw invalidMetadata(file, key, 'filters is not a list');
  const configs = [...filters, ...(doc.compressor ? [doc.compressor] : [])].map((c) =>
    checkV2Codec(c, file, key),
  );
  const dtype = v2DType(doc.dtype, file, key);
  if (doc.dtype === '|O' && filters.length === 0) {
    throw unsupported(file, key, 'object array without an object codec (expected vlen-utf8)');
  }
  const compressor = doc.compressor ? configs[configs.length - 1] : undefined;
  return {
    shape,
    chunks,
    dtype,
    codecs: [...(doc.order === 'F' ? ['transpose'] : []), ...configs.map(describeV2Codec)],
    codecIds: configs
      .filter((c) => c.id !== 'fixedscaleoffset')
      .map((c) => `numcodecs.${String(c.id)}`),
    blosc: compressor?.id === 'blosc',
    fillValue: doc.fill_value,
  };
}

function parseV3Array(doc: JsonObject, file: string, key: string): ParsedArray {
  if (doc.zarr_format !== 3) throw invalidMetadata(file, key, 'zarr_format is not 3');
  const shape = checkShape(doc.shape, file, key);
  const grid = asObject(doc.chunk_grid, file, key);
  if (grid.name !== 'regular')
    throw unsupported(file, key, `chunk grid ${JSON.stringify(grid.name)}`);
  const shardShape = checkChunks(
    asObject(grid.configuration, file, key).chunk_shape,
    shape.length,
    file,
    key,
  );
  const encoding = asObject(doc.chunk_key_encoding, file, key).name;
  if (encoding !== 'default' && encoding !== 'v2') {
    throw unsupported(file, key, `chunk key encoding ${JSON.stringify(encoding)}`);
  }
  if (Array.isArray(doc.storage_transformers) && doc.storage_transformers.length > 0) {
    throw unsupported(file, key, 'storage transformers');
  }
  const codecs = checkV3Codecs(doc.codecs, file, key);
  const sharding = codecs.find((c) => c.name === 'sharding_indexed');
  const chunks = sharding ? checkShard(sharding, shardShape, file, key) : shardShape;
  return {
    shape,
    chunks,
    dtype: v3DType(doc.data_type, file, key),
    codecs: codecs.map(describeV3Codec),
    codecIds: codecs.flatMap((c) => v3CodecIds(c, file, key)),
    blosc: !sharding && codecs[codecs.length - 1]?.name === 'blosc',
    fillValue: doc.fill_value,
  };
}

interface V3Codec {
  name: string;
  configuration: JsonObject;
}

function checkV3Codecs(value: unknown, file: string, key: string): V3Codec[] {
  if (!Array.isArray(value)) throw invalidMetadata(file, key, 'codecs is not a list');
  return value.map((item) => {
    // A bare string is the spec's short form of a codec without configuration.
    if (typeof item === 'string') return { name: item, configuration: {} };
    const codec = asObject(item, file, key);
    if (typeof codec.name !== 'string') throw invalidMetadata(file, key, 'a codec has no name');
    const configuration =
      codec.configuration === undefined ? {} : asObject(codec.configuration, file, key);
    return { name: codec.name, configuration };
  });
}

/** Validates a sharding codec and returns its inner chunk shape. */
function checkShard(codec: V3Codec, shardShape: number[], file: string, key: string): number[] {
  const inner = checkChunks(codec.configuration.chunk_shape, shardShape.length, file, key);
  if (inner.some((n, i) => shardShape[i] % n !== 0)) {
    throw invalidMetadata(
      file,
      key,
      `inner chunks [${inner}] do not divide shards [${shardShape}]`,
    );
  }
  // zarrita reads the index from the end of each shard only.
  const location = codec.configuration.index_location;
  if (location !== undefined && location !== 'end') {
    throw unsupported(file, key, `shard index location ${JSON.stringify(location)}`);
  }
  const perShard = shardShape.reduce((a, n, i) => a * (n / inner[i]), 1);
  if (perShard > 2 ** 26) throw invalidMetadata(file, key, 'shard index is too large');
  checkV3Codecs(codec.configuration.codecs, file, key);
  checkV3Codecs(codec.configuration.index_codecs ?? [], file, key);
  return inner;
}

function v3CodecIds(codec: V3Codec, file: string, key: string): string[] {
  if (codec.name !== 'sharding_indexed') return [codec.name];
  const nested = [
    ...checkV3Codecs(codec.configuration.codecs, file, key),
    ...checkV3Codecs(codec.configuration.index_codecs ?? [], file, key),
  ];
  return nested.flatMap((c) => v3CodecIds(c, file, key));
}

function describeV3Codec(codec: V3Codec): string {
  // Inner codecs of a shard are raw JSON: their configuration may be absent.
  const config: JsonObject = codec.configuration ?? {};
  if (codec.name === 'blosc') return `blosc:${String(config.cname)}`;
  if (codec.name !== 'sharding_indexed') return codec.name;
  const inner = Array.isArray(config.codecs) ? config.codecs : [];
  const names = inner.map((c: unknown) =>
    typeof c === 'string' ? c : describeV3Codec(c as V3Codec),
  );
  return `sharding_indexed(${names.join(',')})`;
}

function checkV2Codec(value: unknown, file: string, key: string): JsonObject {
  const codec = asObject(value, file, key);
  if (typeof codec.id !== 'string') throw invalidMetadata(file, key, 'a codec has no id');
  return codec;
}

function describeV2Codec(codec: JsonObject): string {
  return codec.id === 'blosc' ? `blosc:${String(codec.cname)}` : String(codec.id);
}

function v2DType(value: unknown, file: string, key: string): DType {
  if (value === '|O') return 'string';
  const match = typeof value === 'string' ? /^[<>|]([biufUS])(\d+)$/.exec(value) : null;
  const dtype = match && (/[US]/.test(match[1]) ? 'string' : V2_DTYPES[match[1] + match[2]]);
  if (!dtype) throw unsupported(file, key, `data type ${JSON.stringify(value)}`, DTYPE_HINT);
  return dtype;
}

function v3DType(value: unknown, file: string, key: string): DType {
  if (typeof value === 'string' && V3_DTYPES.has(value)) return value as DType;
  throw unsupported(file, key, `data type ${JSON.stringify(value)}`, DTYPE_HINT);
}

const DTYPE_HINT = 'convert the array to float32, an integer type, bool or strings and re-save it';

function checkShape(value: unknown, file: string, key: string): number[] {
  if (!Array.isArray(value) || !value.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw invalidMetadata(file, key, `shape ${JSON.stringify(value)} is not a list of sizes`);
  }
  return value as number[];
}

function checkChunks(value: unknown, rank: number, file: string, key: string): number[] {
  if (
    !Array.isArray(value) ||
    value.length !== rank ||
    !value.every((n) => Number.isSafeInteger(n) && n > 0)
  ) {
    throw invalidMetadata(file, key, `chunk shape ${JSON.stringify(value)} does not fit the shape`);
  }
  return value as number[];
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

type ZarrArray = zarr.Array<zarr.DataType, zarr.Readable>;

const CORRUPT_HINT = 'the file may be corrupt or incompletely copied: re-save or re-download it';
const CODEC_HINT =
  're-save the data with blosc, zstd, gzip or zlib compression (the defaults of anndata and zarr)';

class ZarrHierarchy implements Hierarchy {
  readonly format = 'zarr';
  /** Opened zarrita arrays by path (they cache shard indexes). */
  private readonly arrays = new Map<string, Promise<ZarrArray>>();
  private readonly adapter: ZarritaAdapter;

  constructor(
    protected readonly store: ZarrStore,
    readonly source: string,
    readonly zarrFormat: 2 | 3,
    protected readonly index: MetaIndex,
  ) {
    this.adapter = new ZarritaAdapter(store, source, (path) => this.docBytes(path));
  }

  async kind(path: string): Promise<NodeKind> {
    const node = await this.index.get(this.norm(path));
    return node ? node.kind : 'missing';
  }

  async attrs(path: string): Promise<Attrs> {
    return structuredClone((await this.node(this.norm(path))).attrs);
  }

  async children(path: string): Promise<string[]> {
    const p = this.norm(path);
    const node = await this.node(p);
    if (node.kind !== 'group') throw this.error(p, 'is an array, not a group');
    return (await listChildren(this.store, this.index, p, this.source)).sort();
  }

  async meta(path: string): Promise<ArrayMeta> {
    const p = this.norm(path);
    const parsed = await this.parsed(p);
    return {
      shape: parsed.shape,
      dtype: parsed.dtype,
      chunks: parsed.chunks,
      codecs: parsed.codecs,
    };
  }

  async read(path: string, selection?: Selection): Promise<ArrayResult> {
    const p = this.norm(path);
    const parsed = await this.parsed(p);
    this.checkCodecs(p, parsed);
    const ranges = this.ranges(p, parsed.shape, selection);
    const shape = ranges.map((r) => r.end - r.start);
    if (shape.reduce((a, b) => a * b, 1) > MAX_ELEMENTS) {
      throw this.error(p, `selection of shape [${shape}] is too large to read at once`, {
        hint: 'read it in smaller blocks',
      });
    }
    try {
      const array = await this.open(p, parsed);
      return await readSelection(array, parsed, ranges);
    } catch (err) {
      throw this.wrap(p, err);
    }
  }

  async close(): Promise<void> {
    this.arrays.clear();
  }

  protected async node(path: string): Promise<NodeMeta> {
    const node = await this.index.get(path);
    if (!node) throw this.error(path, 'no such element');
    return node;
  }

  protected norm(path: string): string {
    return normPath(path, this.source);
  }

  protected error(path: string, problem: string, extra: { hint?: string; cause?: unknown } = {}) {
    return new AnnDataError(problem, { file: this.source, element: path || '/', ...extra });
  }

  /** Drops opened arrays after a removal or move (a path may now hold another array). */
  protected invalidate(): void {
    this.arrays.clear();
    this.adapter.reset();
  }

  private async parsed(path: string): Promise<ParsedArray> {
    const node = await this.node(path);
    if (node.kind !== 'array') throw this.error(path, 'is a group, not an array');
    return parseArray(node, this.zarrFormat, this.source, path);
  }

  private checkCodecs(path: string, parsed: ParsedArray): void {
    const missing = parsed.codecIds.find(
      (id) => id !== 'sharding_indexed' && !zarr.registry.has(id),
    );
    if (missing) {
      const name = missing.replace(/^numcodecs\./, '');
      throw this.error(path, `unsupported codec "${name}"`, { hint: CODEC_HINT });
    }
  }

  private ranges(path: string, shape: number[], selection: Selection = []): Range[] {
    if (selection.length > shape.length) {
      throw this.error(
        path,
        `selection has ${selection.length} dimensions, the array ${shape.length}`,
      );
    }
    return shape.map((size, i) => {
      const r = selection[i] ?? { start: 0, end: size };
      const ok = Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end);
      if (!ok || r.start < 0 || r.end < r.start || r.end > size) {
        throw this.error(path, `selection [${r.start}, ${r.end}) is outside 0..${size}`);
      }
      return r;
    });
  }

  private open(path: string, parsed: ParsedArray): Promise<ZarrArray> {
    let opened = this.arrays.get(path);
    if (!opened) {
      opened = this.openArray(path, parsed);
      opened.catch(() => this.arrays.delete(path));
      this.arrays.set(path, opened);
    }
    return opened;
  }

  private async openArray(path: string, parsed: ParsedArray): Promise<ZarrArray> {
    if (parsed.blosc) this.adapter.checkBlosc(path);
    // Encoded segments: zarrita resolves keys as URLs and decodes them again, so names with
    // '%', '#' or '?' survive the round trip.
    const location = new zarr.Location(this.adapter, encodedPath(path));
    const node = await this.node(path);
    const array =
      this.zarrFormat === 3
        ? new zarr.Array(this.adapter, location.path, node.doc as unknown as zarr.ArrayMetadata)
        : await zarr.open.v2(location, { kind: 'array', attrs: false });
    const expected = parsed.chunks.reduce((a, b) => a * b, 1);
    return withChunkChecks(array, { expected, file: this.source, path });
  }

  /** Serves already-parsed `.zarray` documents to zarrita (no second fetch, no drift). */
  private docBytes(key: string): Uint8Array | undefined {
    if (baseName(key) !== '.zarray') return undefined;
    const node = this.index.peek(parentOf(key));
    return node?.kind === 'array' ? encodeJson(node.doc, 2) : undefined;
  }

  private wrap(path: string, err: unknown): ScnymError {
    if (err instanceof ScnymError) return err;
    if (zarr.isZarritaError(err, 'UnknownCodecError')) {
      return this.error(path, `unsupported codec "${err.codec}"`, { hint: CODEC_HINT, cause: err });
    }
    if (zarr.isZarritaError(err, 'InvalidMetadataError')) {
      return this.error(path, `invalid array metadata: ${err.message}`, { cause: err });
    }
    return this.error(path, `cannot read the array: ${messageOf(err)}`, {
      hint: CORRUPT_HINT,
      cause: err,
    });
  }
}

async function listChildren(
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
  const candidates = names.filter((name) => !METADATA_NAMES.has(name));
  const kinds = await mapLimit(candidates, 16, (name) => index.get(join(path, name)));
  return candidates.filter((_, i) => kinds[i] !== null);
}

async function readSelection(
  array: ZarrArray,
  parsed: ParsedArray,
  ranges: Range[],
): Promise<ArrayResult> {
  const shape = ranges.map((r) => r.end - r.start);
  if (shape.length === 0) {
    const chunk = await array.getChunk([]);
    return { data: toArrayData(chunk.data, parsed, 1), shape: [] };
  }
  if (shape.some((n) => n === 0)) return { data: emptyData(parsed.dtype, 0), shape };
  const selection = ranges.map((r) => zarr.slice(r.start, r.end));
  const chunk = await zarr.get(array, selection, { createQueue: () => boundedQueue(16) });
  const data = toArrayData(chunk.data, parsed, chunk.data.length);
  return { data: toCOrder(data, shape, chunk.stride), shape };
}

/** Converts zarrita's chunk data (BoolArray, string views, ...) to our `ArrayData`. */
function toArrayData(data: unknown, parsed: ParsedArray, length: number): ArrayData {
  if (parsed.dtype === 'bool') {
    const bools = data as zarr.BoolArray;
    return Uint8Array.from({ length }, (_, i) => (bools.get(i) ? 1 : 0));
  }
  if (parsed.dtype === 'string') {
    const items = Array.from(data as Iterable<unknown>).slice(0, length);
    return items.map((item) => {
      if (typeof item === 'string') return item;
      // Chunks never written hold the fill value (0 or null for object arrays).
      if (item === null || item === undefined || item === parsed.fillValue) return '';
      throw new Error(`a string array holds a ${typeof item}`);
    });
  }
  const typed = data as Exclude<ArrayData, string[]>;
  return typed.length === length ? typed : typed.slice(0, length);
}

/** zarrita returns F-ordered data for F-ordered (transposed) arrays; we promise C order. */
function toCOrder(data: ArrayData, shape: number[], stride: number[]): ArrayData {
  const cStride = cStrides(shape);
  if (stride.every((s, i) => s === cStride[i] || shape[i] === 1)) return data;
  const out = emptyLike(data, data.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < data.length; i++) {
    const from = index.reduce((acc, k, d) => acc + k * stride[d], 0);
    (out as unknown[])[i] = (data as unknown as unknown[])[from];
    for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return out;
}

function cStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

/** Validates every decoded chunk: codecs can return short or garbage data without failing. */
const withChunkChecks = zarr.defineArrayExtension(
  (array, opts: { expected: number; file: string; path: string }) => ({
    async getChunk(coords: number[], options?: zarr.GetOptions) {
      const fail = (detail: string, cause?: unknown) =>
        new AnnDataError(`chunk ${coords.join('.') || '0'} is corrupt or truncated (${detail})`, {
          file: opts.file,
          element: opts.path,
          hint: CORRUPT_HINT,
          cause,
        });
      let chunk: Awaited<ReturnType<typeof array.getChunk>>;
      try {
        chunk = await array.getChunk(coords, options);
      } catch (err) {
        if (err instanceof ScnymError) throw err;
        throw fail(messageOf(err instanceof Error && err.cause ? err.cause : err), err);
      }
      if (chunk.data.length !== opts.expected) {
        throw fail(`${chunk.data.length} values instead of ${opts.expected}`);
      }
      return chunk;
    },
  }),
);

/** Runs zarrita's chunk tasks a few at a time, and stops starting new ones after a failure. */
function boundedQueue(limit: number): {
  add(fn: () => Promise<void>): void;
  onIdle(): Promise<void[]>;
} {
  const tasks: (() => Promise<void>)[] = [];
  return {
    add: (fn) => void tasks.push(fn),
    onIdle: async () => {
      await mapLimit(tasks, limit, (task) => task());
      return [];
    },
  };
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The store as zarrita sees it: absolute keys, a `getRange` for sharding, errors that name the
 * file, and a check of blosc chunk headers (c-blosc trusts the header, so a truncated chunk
 * would otherwise decode to garbage without an error).
 */
class ZarritaAdapter implements zarr.AsyncReadable {
  private readonly bloscArrays = new Set<string>();

  constructor(
    private readonly store: ZarrStore,
    private readonly source: string,
    private readonly served: (key: string) => Uint8Array | undefined,
  ) {}

  checkBlosc(arrayPath: string): void {
    this.bloscArrays.add(arrayPath);
  }

  reset(): void {
    this.bloscArrays.clear();
  }

  async get(absKey: zarr.AbsolutePath): Promise<Uint8Array | undefined> {
    const key = absKey.slice(1);
    const bytes = this.served(key) ?? (await readKey(this.store, this.source, key));
    if (bytes && this.bloscArrays.size > 0 && this.isBloscChunk(key)) checkBloscHeader(bytes);
    return bytes && ownBuffer(bytes);
  }

  async getRange(absKey: zarr.AbsolutePath, range: ByteRange): Promise<Uint8Array | undefined> {
    const key = absKey.slice(1);
    try {
      if (this.store.getRange) {
        const part = await this.store.getRange(key, range);
        return part && ownBuffer(part);
      }
    } catch (err) {
      throw new AnnDataError(`cannot read ${key}: ${messageOf(err)}`, {
        file: this.source,
        cause: err,
      });
    }
    const bytes = await readKey(this.store, this.source, key);
    if (!bytes) return undefined;
    if ('suffixLength' in range) return bytes.slice(Math.max(0, bytes.length - range.suffixLength));
    return bytes.slice(range.offset, range.offset + range.length);
  }

  private isBloscChunk(key: string): boolean {
    if (METADATA_NAMES.has(baseName(key))) return false;
    for (let i = key.lastIndexOf('/'); i > 0; i = key.lastIndexOf('/', i - 1)) {
      if (this.bloscArrays.has(key.slice(0, i))) return true;
    }
    return false;
  }
}

/** zarrita's vlen-utf8 decoder reads `bytes.buffer` from 0, so views must become copies. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes : bytes.slice();
}

function checkBloscHeader(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16) throw new Error(`blosc chunk of ${bytes.length} bytes has no header`);
  const compressedSize = view.getUint32(12, true);
  if (compressedSize !== bytes.length) {
    throw new Error(`blosc chunk has ${bytes.length} bytes, its header says ${compressedSize}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

type Compressor = JsonObject | null;

const DEFAULT_V2_COMPRESSOR = { id: 'blosc', cname: 'lz4', clevel: 5, shuffle: 1, blocksize: 0 };
const DEFAULT_V3_COMPRESSOR = { name: 'zstd', configuration: { level: 0, checksum: false } };
const CHUNK_1D = 1_000_000;
const CHUNK_ND = 4_000_000;

const V2_CODES: Record<DType, string> = {
  bool: '|b1',
  int8: '|i1',
  uint8: '|u1',
  int16: '<i2',
  uint16: '<u2',
  int32: '<i4',
  uint32: '<u4',
  int64: '<i8',
  uint64: '<u8',
  float32: '<f4',
  float64: '<f8',
  string: '|O',
};

type Encoder = { encode(data: Uint8Array): Uint8Array | Promise<Uint8Array> };
type EncoderClass = { fromConfig(config: JsonObject): Encoder };

/** numcodecs encoders by codec id (zarrita only decodes gzip and zlib). */
const ENCODERS: Record<string, () => Promise<EncoderClass>> = {
  blosc: () => import('numcodecs/blosc').then((m) => m.default as unknown as EncoderClass),
  zstd: () => import('numcodecs/zstd').then((m) => m.default as unknown as EncoderClass),
  lz4: () => import('numcodecs/lz4').then((m) => m.default as unknown as EncoderClass),
  gzip: () => import('numcodecs').then((m) => m.GZip as unknown as EncoderClass),
  zlib: () => import('numcodecs').then((m) => m.Zlib as unknown as EncoderClass),
};

class WritableZarrHierarchy extends ZarrHierarchy implements WritableHierarchy {
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

  async createArray(path: string, array: NewArray): Promise<void> {
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
      await this.writeChunks(p, array, chunks, compressor);
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
      else await this.rewriteRootV3(nodes);
    });
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
      throw this.error(path, `cannot write: ${messageOf(err)}`, { cause: err });
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
  ): Promise<void> {
    const chunkLength = chunks.reduce((a, b) => a * b, 1);
    // Arrays without values get no chunks: readers see the fill value.
    const nChunks =
      array.data.length === 0 ? 0 : Math.ceil((array.shape[0] ?? 1) / (chunks[0] ?? 1));
    for (let i = 0; i < nChunks; i++) {
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
    const nodes = new Map<string, NodeMeta>([['', (await fresh.get('')) ?? (await this.node(''))]]);
    const queue = [''];
    while (queue.length > 0) {
      const group = queue.shift() as string;
      for (const name of (await listChildren(this.store, fresh, group, this.source)).sort()) {
        const path = join(group, name);
        const node = await fresh.get(path);
        if (!node) continue;
        nodes.set(path, node);
        if (node.kind === 'group') queue.push(path);
      }
    }
    return nodes;
  }

  private async rewriteRootV3(nodes: Map<string, NodeMeta>): Promise<void> {
    const root = nodes.get('') as NodeMeta;
    const metadata: JsonObject = {};
    for (const [path, node] of nodes) {
      if (path === '') continue;
      metadata[path] =
        node.kind === 'group'
          ? { ...node.doc, consolidated_metadata: EMPTY_CONSOLIDATED }
          : node.doc;
    }
    const consolidated = { kind: 'inline', must_understand: false, metadata };
    const doc = { ...root.doc, consolidated_metadata: consolidated };
    await this.putJson('zarr.json', doc);
    this.index.put('', { ...root, doc });
  }
}

function consolidatedV2(nodes: Map<string, NodeMeta>): JsonObject {
  const metadata: JsonObject = {};
  // The root is included too (as '.zgroup' and '.zattrs'): zarr 2 needs it to open the group.
  for (const [path, node] of nodes) {
    metadata[join(path, '.zattrs')] = node.attrs;
    metadata[join(path, node.kind === 'array' ? '.zarray' : '.zgroup')] = node.doc;
  }
  return { zarr_consolidated_format: 1, metadata };
}

function v3GroupDoc(attrs: Attrs): JsonObject {
  return { zarr_format: 3, node_type: 'group', attributes: attrs };
}

function checkNewArray(array: NewArray, file: string, path: string): void {
  const bad = (problem: string) => new AnnDataError(problem, { file, element: path });
  if (!array.shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw bad(`invalid shape [${array.shape}]`);
  }
  const size = array.shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== size) {
    throw bad(`${array.data.length} values do not fill shape [${array.shape}]`);
  }
  const ok =
    array.dtype === 'string'
      ? Array.isArray(array.data) && array.data.every((s) => typeof s === 'string')
      : array.data instanceof TYPED_ARRAYS[array.dtype];
  if (!ok) throw bad(`values do not match the data type ${array.dtype}`);
}

const TYPED_ARRAYS: Record<Exclude<DType, 'string'>, abstract new (n: number) => unknown> = {
  bool: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** 1-D: up to 1M values per chunk; n-D: whole rows, up to ~4M values per chunk. */
function chunkShape(shape: number[]): number[] {
  if (shape.length === 0) return [];
  const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
  const limit =
    shape.length === 1 ? CHUNK_1D : Math.max(1, Math.floor(CHUNK_ND / Math.max(rowSize, 1)));
  return [Math.max(1, Math.min(shape[0], limit)), ...shape.slice(1).map((n) => Math.max(1, n))];
}

function v2ArrayDoc(array: NewArray, chunks: number[], compressor: Compressor): JsonObject {
  const isString = array.dtype === 'string';
  const scalar = array.shape.length === 0;
  // anndata stores string scalars as fixed-width '<U{n}' (UTF-32), not as objects.
  const width = scalar && isString ? Math.max(1, [...(array.data as string[])[0]].length) : 0;
  return {
    chunks,
    compressor,
    dtype: width ? `<U${width}` : V2_CODES[array.dtype],
    fill_value: width ? '' : array.dtype === 'bool' ? false : 0,
    filters: isString && !width ? [{ id: 'vlen-utf8' }] : null,
    order: 'C',
    shape: array.shape,
    zarr_format: 2,
  };
}

function v3ArrayDoc(
  array: NewArray,
  chunks: number[],
  compressor: Compressor,
  attrs: Attrs,
): JsonObject {
  const isString = array.dtype === 'string';
  const serializer = isString
    ? { name: 'vlen-utf8', configuration: {} }
    : { name: 'bytes', configuration: { endian: 'little' } };
  return {
    zarr_format: 3,
    node_type: 'array',
    shape: array.shape,
    data_type: array.dtype,
    chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: isString ? '' : array.dtype === 'bool' ? false : 0,
    codecs: compressor ? [serializer, compressor] : [serializer],
    attributes: attrs,
    storage_transformers: [],
  };
}

function chunkKey(coords: number[], version: 2 | 3): string {
  if (version === 3) return ['c', ...coords].join('/');
  return coords.length === 0 ? '0' : coords.join('.');
}

/** Values [start, end) of `data`, padded to a whole chunk (zarr stores edge chunks whole). */
function sliceChunk(data: ArrayData, start: number, end: number, length: number): ArrayData {
  if (Array.isArray(data)) {
    const items = data.slice(start, end);
    while (items.length < length) items.push('');
    return items;
  }
  const out = emptyLike(data, length) as Exclude<ArrayData, string[]>;
  (out as Uint8Array).set((data as Uint8Array).subarray(start, end));
  return out;
}

function encodeValues(
  values: ArrayData,
  dtype: DType,
  version: 2 | 3,
  scalar: boolean,
): Uint8Array {
  if (Array.isArray(values)) {
    return version === 2 && scalar ? encodeUtf32(values[0]) : encodeVlenUtf8(values);
  }
  if (dtype === 'bool') return Uint8Array.from(values as Uint8Array, (v) => (v ? 1 : 0));
  return littleEndianBytes(values);
}

/** numcodecs' vlen-utf8: item count, then per item its byte length and UTF-8 bytes (u32 LE). */
export function encodeVlenUtf8(items: string[]): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = items.map((s) => encoder.encode(s));
  const total = 4 + encoded.reduce((sum, b) => sum + 4 + b.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, items.length, true);
  let pos = 4;
  for (const bytes of encoded) {
    view.setUint32(pos, bytes.length, true);
    out.set(bytes, pos + 4);
    pos += 4 + bytes.length;
  }
  return out;
}

/** numpy's '<U{n}': n UTF-32 LE code points, zero-padded. */
function encodeUtf32(text: string): Uint8Array {
  const points = [...text].map((c) => c.codePointAt(0) as number);
  const out = new Uint8Array(4 * Math.max(1, points.length));
  const view = new DataView(out.buffer);
  points.forEach((p, i) => view.setUint32(4 * i, p, true));
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(values: Exclude<ArrayData, string[]>): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const width = values.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN || width === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) {
    for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j];
  }
  return swapped;
}

async function compress(
  bytes: Uint8Array,
  compressor: JsonObject,
  version: 2 | 3,
): Promise<Uint8Array> {
  const id = String(version === 2 ? compressor.id : compressor.name);
  const config = version === 2 ? compressor : { ...(compressor.configuration as JsonObject), id };
  const load = ENCODERS[id];
  if (!load) throw new Error(`no encoder for the ${id} codec`);
  const Codec = await load();
  return Codec.fromConfig(config).encode(bytes);
}

/** JSON as zarr-python writes it: v2 with sorted keys and 4-space indents, v3 with 2. */
function encodeJson(value: unknown, version: 2 | 3): Uint8Array {
  const text =
    version === 2 ? JSON.stringify(sortKeys(value), null, 4) : JSON.stringify(value, null, 2);
  return new TextEncoder().encode(text);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const keys = Object.keys(value).sort();
  return Object.fromEntries(keys.map((k) => [k, sortKeys(value[k])]));
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function emptyData(dtype: DType, length: number): ArrayData {
  if (dtype === 'string') return new Array<string>(length).fill('');
  return new (TYPED_ARRAYS[dtype] as new (n: number) => Exclude<ArrayData, string[]>)(length);
}

function emptyLike(data: ArrayData, length: number): ArrayData {
  if (Array.isArray(data)) return new Array<string>(length).fill('');
  const Ctor = data.constructor as new (n: number) => Exclude<ArrayData, string[]>;
  return new Ctor(length);
}

async function readKey(
  store: ZarrStore,
  source: string,
  key: string,
): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key);
  } catch (err) {
    throw new AnnDataError(`cannot read ${key}: ${messageOf(err)}`, {
      file: source,
      hint: 'check that the store is readable (permissions, network)',
      cause: err,
    });
  }
}

function decodeJson(bytes: Uint8Array, file: string, key: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw invalidMetadata(file, key, `invalid JSON (${messageOf(err)})`, err);
  }
}

function asObject(value: unknown, file: string, key: string): JsonObject {
  if (!isObject(value)) throw invalidMetadata(file, key, 'expected a JSON object');
  return value;
}

function asAttrs(value: unknown, file: string, key: string): Attrs {
  return asObject(value, file, key) as Attrs;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidMetadata(
  file: string,
  key: string,
  problem: string,
  cause?: unknown,
): AnnDataError {
  return new AnnDataError(`invalid Zarr metadata: ${problem}`, {
    file,
    element: key,
    hint: CORRUPT_HINT,
    cause,
  });
}

function unsupported(file: string, key: string, what: string, hint = CODEC_HINT): AnnDataError {
  return new AnnDataError(`unsupported ${what}`, { file, element: key, hint });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function normPath(path: string, source: string): string {
  const trimmed = trimSlashes(path);
  if (trimmed === '') return '';
  const parts = trimmed.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new AnnDataError(`invalid element path '${path}'`, { file: source });
  }
  return trimmed;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}/${name}`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function isWithin(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}

function encodedPath(path: string): zarr.AbsolutePath {
  return `/${path.split('/').map(encodeURIComponent).join('/')}`;
}

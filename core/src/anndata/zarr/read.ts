/** The read-only Zarr `Hierarchy`: metadata from the index, array data through zarrita. */
import * as zarr from 'zarrita';
import { AnnDataError, ScnymError } from '../../errors.js';
import type {
  ArrayData,
  ArrayMeta,
  ArrayResult,
  Attrs,
  Hierarchy,
  NodeKind,
  Range,
  Selection,
} from '../hierarchy.js';
import { MAX_ELEMENTS, parseArray, type ParsedArray } from './array-metadata.js';
import { CODEC_HINT, CORRUPT_HINT, messageOf } from './errors.js';
import { encodeJson } from './json.js';
import { listChildren, type MetaIndex, type NodeMeta } from './meta-index.js';
import { baseName, encodedPath, normPath, parentOf } from './paths.js';
import { boundedQueue } from './queue.js';
import type { ZarrStore } from './store.js';
import { emptyData, emptyLike } from '../typed-arrays.js';
import { withChunkChecks, ZarritaAdapter } from './zarrita-adapter.js';

type ZarrArray = zarr.Array<zarr.DataType, zarr.Readable>;

export class ZarrHierarchy implements Hierarchy {
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

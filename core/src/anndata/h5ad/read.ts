/**
 * The read-only h5ad `Hierarchy`. Reads go through h5wasm's lower-level functions into zeroed
 * buffers, with HDF5's status checked (its high-level reads ignore it).
 */
import type { File as H5File, Metadata } from 'h5wasm';
import { AnnDataError, ScnymError } from '../../errors.js';
import type {
  ArrayData,
  ArrayMeta,
  ArrayResult,
  Attrs,
  AttrValue,
  DType,
  Hierarchy,
  NodeKind,
  Range,
  Selection,
} from '../hierarchy.js';
import { decodeValues, describeType, dtypeOf, toAttrValue } from './decode.js';
import { asAnnDataError, prepareH5wasm } from './errors.js';
import {
  fetchesFilters,
  filterReady,
  loadFilter,
  missingFilterError,
  undecodable,
} from './filters.js';
import { FILTER_NAMES, T_REFERENCE, T_STRING, type H5Module } from './hdf5.js';
import { h5Path, normalize, parentOf } from './paths.js';
import { product, resolveSelection } from './selection.js';
import { emptyData } from '../typed-arrays.js';

export class H5adReader implements Hierarchy {
  readonly format = 'h5ad' as const;
  protected closed = false;
  /** Set once HDF5 has thrown: h5wasm then keeps objects open, so the file never fully closes. */
  protected hdf5Failed = false;
  protected fileId: bigint;

  constructor(
    protected file: H5File,
    readonly source: string,
    protected readonly m: H5Module,
  ) {
    prepareH5wasm(m);
    if (file.file_id < 0n) {
      throw new AnnDataError('not an HDF5/h5ad file, or it cannot be opened', {
        file: source,
        hint: 'check that the path names an .h5ad file written by anndata',
      });
    }
    this.fileId = file.file_id;
  }

  kind(path: string): Promise<NodeKind> {
    return this.run(path, 'read', (p) => this.kindOf(p));
  }
  attrs(path: string): Promise<Attrs> {
    return this.run(path, 'read', (p) => this.attrsOf(p));
  }
  children(path: string): Promise<string[]> {
    return this.run(path, 'read', (p) => this.childrenOf(p).sort());
  }
  meta(path: string): Promise<ArrayMeta> {
    return this.run(path, 'read', (p) => this.metaOf(p));
  }
  async read(path: string, selection?: Selection): Promise<ArrayResult> {
    if (fetchesFilters(this.m)) await this.loadFilters(path);
    return this.run(path, 'read', (p) => this.readOf(p, selection));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.file.close();
    } catch (err) {
      throw asAnnDataError(err, this.source, undefined, 'write');
    }
  }

  /** Runs a synchronous h5wasm operation; whatever it throws comes out as a ScnymError. */
  protected async run<T>(
    path: string,
    doing: 'read' | 'write',
    op: (path: string) => T,
  ): Promise<T> {
    const p = normalize(path);
    if (this.closed) {
      throw new AnnDataError('the file is already closed', { file: this.source, element: p });
    }
    try {
      return op(p);
    } catch (err) {
      if (!(err instanceof ScnymError)) this.hdf5Failed = true;
      throw asAnnDataError(err, this.source, p, doing);
    }
  }

  protected kindOf(path: string): NodeKind {
    if (path === '') return 'group';
    // H5LTpath_valid fails (and h5wasm leaks) when a parent is a dataset: check parents first
    if (this.kindOf(parentOf(path)) !== 'group') return 'missing';
    const t = this.m.get_type(this.fileId, h5Path(path));
    if (t === this.m.H5G_GROUP) return 'group';
    if (t === this.m.H5G_DATASET) return 'array';
    return 'missing';
  }

  protected attrsOf(path: string): Attrs {
    this.require(path, this.kindOf(path));
    const out: Attrs = {};
    const names = this.m.get_attribute_names(this.fileId, h5Path(path)) as string[];
    for (const name of names) out[name] = this.readAttr(h5Path(path), name);
    return out;
  }

  protected childrenOf(path: string): string[] {
    this.require(path, this.kindOf(path), 'group');
    return this.m.get_names(this.fileId, h5Path(path), false);
  }

  protected metaOf(path: string): ArrayMeta {
    this.require(path, this.kindOf(path), 'array');
    const md = this.m.get_dataset_metadata(this.fileId, h5Path(path));
    const meta: ArrayMeta = {
      shape: md.shape ?? [0],
      dtype: this.supportedDType(path, md),
      codecs: this.filters(path).map((f) => f.name),
    };
    if (md.chunks) meta.chunks = md.chunks;
    return meta;
  }

  protected readOf(path: string, selection?: Selection): ArrayResult {
    const meta = this.metaOf(path);
    this.checkFilters(path);
    const ranges = resolveSelection(meta.shape, selection, { file: this.source, element: path });
    const shape = ranges.map((r) => r.end - r.start);
    if (product(shape) === 0) return { data: emptyData(meta.dtype, 0), shape };
    return { data: this.readDataset(path, ranges), shape };
  }

  /** Throws the AnnDataError for a missing element or one of the wrong kind. */
  protected require(path: string, kind: NodeKind, want?: 'group' | 'array'): void {
    const where = { file: this.source, element: path || '/' };
    if (kind === 'missing') {
      throw new AnnDataError('is not in the file', { ...where, hint: this.siblingsHint(path) });
    }
    if (want && kind !== want) {
      throw new AnnDataError(
        `is ${kind === 'group' ? 'a group' : 'an array'}, not ${want === 'group' ? 'a group' : 'an array'}`,
        where,
      );
    }
  }

  private siblingsHint(path: string): string | undefined {
    const parent = parentOf(path);
    if (this.kindOf(parent) !== 'group') return `'${parent || '/'}' is not in the file either`;
    const names = this.childrenOf(parent).sort();
    const shown = names.slice(0, 12).join(', ') + (names.length > 12 ? ', …' : '');
    return names.length ? `'${parent || '/'}' holds: ${shown}` : `'${parent || '/'}' is empty`;
  }

  private supportedDType(path: string, md: Metadata): DType {
    const dtype = dtypeOf(md);
    if (dtype) return dtype;
    throw new AnnDataError(`has an HDF5 datatype scNym cannot read (${describeType(md)})`, {
      file: this.source,
      element: path,
      hint: 'save the file again with anndata ≥ 0.8 (adata.write_h5ad), which writes plain arrays',
    });
  }

  protected filters(path: string): { id: number; name: string; cd_values: number[] }[] {
    const raw = this.m.get_dataset_filters(this.fileId, h5Path(path));
    return raw.map((f) => ({
      id: f.id,
      name: FILTER_NAMES[f.id] ?? (f.name || `filter ${f.id}`),
      cd_values: f.cd_values,
    }));
  }

  /** Refuses, before HDF5 tries, a dataset whose filters cannot be decoded here. */
  private checkFilters(path: string): void {
    for (const f of this.filters(path)) {
      if (!filterReady(this.m, f.id)) throw missingFilterError(f, this.source, path);
      const why = undecodable(f);
      if (why) throw missingFilterError(f, this.source, path, why);
    }
  }

  /**
   * Fetches the plugins of the dataset's filters before HDF5 needs them (browser: HDF5 loads
   * plugins synchronously). Readers only: the writer runs in Node, where nothing is fetched.
   */
  private async loadFilters(path: string): Promise<void> {
    const filters = await this.run(path, 'read', (p) =>
      this.kindOf(p) === 'array' ? this.filters(p) : [],
    );
    for (const f of filters) {
      await loadFilter(this.m, f.id).catch((err: unknown) => {
        const why = `fetching its plugin failed: ${err instanceof Error ? err.message : String(err)}`;
        throw missingFilterError(f, this.source, normalize(path), why);
      });
    }
  }

  private readDataset(path: string, ranges: Range[]): ArrayData {
    const h5 = h5Path(path);
    const md = this.m.get_dataset_metadata(this.fileId, h5);
    const count = ranges.map((r) => BigInt(r.end - r.start));
    const n = product(ranges.map((r) => r.end - r.start));
    const slab = ranges.length > 0;
    return this.withBuffer(path, md.size * n, (ptr) => {
      try {
        const status = this.m.get_dataset_data(
          this.fileId,
          h5,
          slab ? count : null,
          slab ? ranges.map((r) => BigInt(r.start)) : null,
          slab ? ranges.map(() => 1n) : null,
          BigInt(ptr),
        );
        if (status < 0) throw new Error(`H5Dread failed (status ${status})`);
        return decodeValues(this.m, this.fileId, this.heap(ptr, md.size * n), md, n);
      } finally {
        if (md.vlen)
          this.reclaim(() =>
            this.m.reclaim_vlen_memory_count(this.fileId, h5, '', BigInt(ptr), count),
          );
      }
    });
  }

  protected readAttr(h5: string, name: string): AttrValue {
    const md = this.m.get_attribute_metadata(this.fileId, h5, name);
    if (!md.shape) return null; // HDF5 null dataspace (h5py.Empty)
    const decodable = md.type === T_STRING || md.type === T_REFERENCE || dtypeOf(md);
    if (!decodable) return null;
    const n = md.total_size;
    const element = `${h5.slice(1) || '/'} (attribute '${name}')`;
    const data = this.withBuffer(element, md.size * n, (ptr) => {
      try {
        const status = this.m.get_attribute_data(this.fileId, h5, name, BigInt(ptr));
        if (status < 0) throw new Error(`H5Aread failed (status ${status})`);
        return decodeValues(this.m, this.fileId, this.heap(ptr, md.size * n), md, n);
      } finally {
        if (md.vlen)
          this.reclaim(() => this.m.reclaim_vlen_memory(this.fileId, h5, name, BigInt(ptr)));
      }
    });
    return toAttrValue(name, data, md);
  }

  /** A zeroed wasm buffer: if a read fails half-way, freeing its strings frees only NULLs. */
  private withBuffer<T>(element: string, nbytes: number, use: (ptr: number) => T): T {
    if (nbytes > this.m.MAXIMUM_MEMORY) {
      throw new AnnDataError(`needs ${nbytes} bytes at once, more than WebAssembly can hold`, {
        file: this.source,
        element,
        hint: 'read it in smaller parts',
      });
    }
    const ptr = this.m._malloc(Math.max(nbytes, 1));
    if (!ptr) {
      throw new AnnDataError(`cannot allocate ${nbytes} bytes`, { file: this.source, element });
    }
    try {
      this.m.HEAPU8.fill(0, ptr, ptr + nbytes);
      return use(ptr);
    } finally {
      this.m._free(ptr);
    }
  }

  private heap(ptr: number, nbytes: number): Uint8Array {
    return this.m.HEAPU8.slice(ptr, ptr + nbytes); // HEAPU8 changes when memory grows
  }

  /** Frees HDF5's string copies; a failure there must not hide the read's own error. */
  private reclaim(free: () => number): void {
    try {
      free();
    } catch {
      // nothing more to do: at worst a small leak inside the wasm heap
    }
  }
}

/** A read-only Hierarchy over an h5wasm File; `close()` closes the file. */
export function openH5ad(file: H5File, source: string, module: H5Module): Hierarchy {
  return new H5adReader(file, source, module);
}

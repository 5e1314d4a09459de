/**
 * The writable h5ad hierarchy. New elements stay in memory until `flush()`; with
 * `H5adFileAccess`, removals, moves and bool attributes are finished by editing the closed
 * file's bytes (`surgery.ts`), without it those operations are refused.
 */
import type { Dataset, File as H5File, Group } from 'h5wasm';
import { AnnDataError, WriteConflictError } from '../../errors.js';
import type {
  ArrayData,
  ArrayMeta,
  ArrayResult,
  Attrs,
  AttrValue,
  NewArray,
  NodeKind,
  PublishPlan,
  Selection,
  WritableHierarchy,
} from '../hierarchy.js';
import { newBoolToken, PLACEHOLDER_SIZE, type BoolFixup } from './bool-attrs.js';
import {
  chunkShape,
  encodeAttr,
  GZIP_LEVEL,
  H5_DTYPES,
  isBoolAttr,
  layoutFor,
  normalizeArray,
  WRITE_BLOCK_BYTES,
  writeBlockRows,
} from './encode.js';
import { hdf5Reason } from './errors.js';
import { NOT_COMPRESSING, type H5Module } from './hdf5.js';
import { h5Path, isWithin, nameOf, normalize, parentOf } from './paths.js';
import { H5adReader } from './read.js';
import { resolveSelection, sliceArray } from './selection.js';
import {
  patchBoolAttribute,
  superblockBase,
  u64,
  unlinkChild,
  type ByteAccess,
  type H5adFileAccess,
} from './surgery.js';
import type { NumericArray } from '../typed-arrays.js';

type Pending =
  | { kind: 'group'; attrs: Attrs }
  | { kind: 'array'; array: NewArray & { data: ArrayData }; attrs: Attrs };

export interface H5adWriteOptions {
  /**
   * Raw access to the file, for what h5wasm cannot do: with it, bool attributes (a categorical's
   * `ordered`) become h5py's bool enum, which every anndata reads, and `remove`/`move` work on
   * elements already in the file. Without it, bools are stored as int8 0/1 (read by anndata
   * ≥ 0.9) and only new elements can be removed or moved. The file must then be opened with
   * `libver: ['earliest', 'latest']`, as h5py writes.
   */
  access?: H5adFileAccess;
  /**
   * Numeric arrays larger than this many bytes are written a block of rows at a time (default
   * 64 MB): h5wasm copies what it is given into its heap, which never shrinks.
   */
  writeBlockBytes?: number;
}

class H5adWriter extends H5adReader implements WritableHierarchy {
  /** New elements, in creation order (parents first), written to the file by flush(). */
  private pending = new Map<string, Pending>();
  /** Elements in the file that were removed; unlinked from it by flush(). */
  private removed = new Set<string>();
  private fixups: BoolFixup[] = [];
  private compress?: boolean;

  constructor(
    file: H5File,
    source: string,
    m: H5Module,
    private readonly access: H5adFileAccess | undefined,
    private readonly writeBlockBytes = WRITE_BLOCK_BYTES,
  ) {
    super(file, source, m);
  }

  createGroup(path: string, attrs: Attrs = {}): Promise<void> {
    return this.run(path, 'write', (p) => {
      this.assertCreatable(p);
      this.checkAttrs(p, attrs);
      this.pending.set(p, { kind: 'group', attrs: { ...attrs } });
    });
  }

  createArray(path: string, array: NewArray): Promise<void> {
    return this.run(path, 'write', (p) => {
      this.assertCreatable(p);
      const attrs = array.attrs ?? {};
      this.checkAttrs(p, attrs);
      const normalized = normalizeArray(array, { file: this.source, element: p });
      this.pending.set(p, { kind: 'array', array: normalized, attrs: { ...attrs } });
    });
  }

  setAttrs(path: string, attrs: Attrs): Promise<void> {
    return this.run(path, 'write', (p) => {
      this.checkAttrs(p, attrs);
      const node = this.pending.get(p);
      if (node) node.attrs = { ...attrs };
      else this.replaceDiskAttrs(p, attrs);
    });
  }

  remove(path: string): Promise<void> {
    return this.run(path, 'write', (p) => {
      if (p === '')
        throw new AnnDataError('the root group cannot be removed', { file: this.source });
      const onDisk = !this.pending.has(p) && this.kindOf(p) !== 'missing';
      if (onDisk && !this.access) throw this.cannotUnlink(p, 'delete');
      this.dropPending(p);
      this.fixups = this.fixups.filter((f) => !isWithin(f.path, p));
      if (onDisk) this.removed.add(p);
    });
  }

  move(from: string, to: string): Promise<void> {
    return this.run(from, 'write', (p) => {
      const target = normalize(to);
      this.require(p, this.kindOf(p));
      this.assertCreatable(target);
      if (this.pending.has(p)) this.renamePending(p, target);
      else this.moveOnDisk(p, target);
    });
  }

  flush(): Promise<void> {
    return this.run('', 'write', () => {
      this.unlinkRemoved();
      for (const [path, node] of this.pending) {
        this.materialize(path, node);
        this.pending.delete(path);
      }
      this.file.flush();
      this.patchBools();
    });
  }

  /** The file is a temporary copy that replaces the original whole: plain moves suffice. */
  async publish(plan: PublishPlan): Promise<void> {
    for (const [from, to] of plan.moves) {
      if ((await this.kind(to)) !== 'missing') await this.remove(to);
      await this.move(from, to);
    }
    for (const [path, attrs] of plan.attrs) await this.setAttrs(path, attrs);
    await this.remove(plan.stage);
    await this.flush();
  }

  /** Elements not yet flushed are discarded. */
  override async close(): Promise<void> {
    this.pending.clear();
    await super.close();
  }

  protected override kindOf(path: string): NodeKind {
    const node = this.pending.get(path);
    if (node) return node.kind;
    if (this.isRemoved(path)) return 'missing';
    return super.kindOf(path);
  }

  protected override attrsOf(path: string): Attrs {
    const node = this.pending.get(path);
    if (node) return { ...node.attrs };
    this.require(path, this.kindOf(path));
    return super.attrsOf(path);
  }

  protected override childrenOf(path: string): string[] {
    const node = this.pending.get(path);
    this.require(path, this.kindOf(path), 'group');
    const onDisk = node ? [] : super.childrenOf(path);
    const kept = onDisk.filter((name) => !this.isRemoved(path ? `${path}/${name}` : name));
    const added = [...this.pending.keys()].filter((k) => parentOf(k) === path).map(nameOf);
    return [...kept, ...added];
  }

  protected override metaOf(path: string): ArrayMeta {
    const array = this.pendingArray(path);
    if (!array) return super.metaOf(path);
    const layout = layoutFor(array, this.compressNew());
    const meta: ArrayMeta = {
      shape: [...array.shape],
      dtype: array.dtype,
      codecs: layout.compression ? ['deflate'] : [],
    };
    if (layout.chunks) meta.chunks = layout.chunks;
    return meta;
  }

  protected override readOf(path: string, selection?: Selection): ArrayResult {
    const array = this.pendingArray(path);
    if (!array) return super.readOf(path, selection);
    const ranges = resolveSelection(array.shape, selection, { file: this.source, element: path });
    return {
      data: sliceArray(array.data, array.shape, ranges),
      shape: ranges.map((r) => r.end - r.start),
    };
  }

  private pendingArray(path: string): (NewArray & { data: ArrayData }) | undefined {
    const node = this.pending.get(path);
    if (!node) {
      this.require(path, this.kindOf(path)); // a removed element reads as missing
      return undefined;
    }
    this.require(path, node.kind, 'array');
    return node.kind === 'array' ? node.array : undefined;
  }

  private isRemoved(path: string): boolean {
    for (let p = path; p !== ''; p = parentOf(p)) if (this.removed.has(p)) return true;
    return false;
  }

  private dropPending(path: string): void {
    for (const key of [...this.pending.keys()]) if (isWithin(key, path)) this.pending.delete(key);
  }

  private renamePending(from: string, to: string): void {
    const renamed = new Map<string, Pending>();
    for (const [key, node] of this.pending) {
      renamed.set(isWithin(key, from) ? to + key.slice(from.length) : key, node);
    }
    this.pending = renamed;
  }

  /** A second (hard) link under the new name now; the old one goes at the next unlink. */
  private moveOnDisk(from: string, to: string): void {
    if (!this.access) throw this.cannotUnlink(from, 'rename');
    this.unlinkRemoved(); // `to` may be a removed element still linked in the file
    this.m.create_hard_link(this.fileId, h5Path(from), h5Path(to));
    this.removed.add(from);
    for (const f of this.fixups)
      if (isWithin(f.path, from)) f.path = to + f.path.slice(from.length);
  }

  private assertCreatable(path: string): void {
    const where = { file: this.source, element: path || '/' };
    if (path === '' || this.kindOf(path) !== 'missing') {
      throw new WriteConflictError('already exists', {
        ...where,
        hint: 'choose another name, or remove the existing element first',
      });
    }
    if (this.kindOf(parentOf(path)) !== 'group') {
      const parent = parentOf(path) || '/';
      throw new AnnDataError(`cannot be created: its parent '${parent}' is not a group`, where);
    }
  }

  private checkAttrs(path: string, attrs: Attrs): void {
    for (const [name, value] of Object.entries(attrs)) {
      try {
        encodeAttr(name, value);
      } catch (err) {
        const e = err as AnnDataError;
        throw new AnnDataError(e.message, { file: this.source, element: path, hint: e.hint });
      }
    }
  }

  private cannotUnlink(path: string, what: 'delete' | 'rename'): AnnDataError {
    const python = what === 'delete' ? `del f["${path}"]` : `f.move("${path}", new_name)`;
    return new AnnDataError(
      `cannot ${what} an element already in the file: h5wasm cannot unlink HDF5 objects`,
      {
        file: this.source,
        element: path,
        hint: `write under a new key, or ${what} it in python: f = h5py.File(path, "a"); ${python}`,
      },
    );
  }

  private compressNew(): boolean {
    if (this.compress === undefined) {
      const x = super.kindOf('X');
      const data = x === 'group' ? 'X/data' : 'X';
      this.compress =
        x !== 'missing' &&
        super.kindOf(data) === 'array' &&
        // gzip, lzf, blosc…: new datasets get gzip, which every HDF5 reader decodes
        this.filters(data).some((f) => !NOT_COMPRESSING.has(f.id));
    }
    return this.compress;
  }

  private materialize(path: string, node: Pending): void {
    if (node.kind === 'group') {
      this.m.create_group(this.fileId, h5Path(path), false);
    } else {
      const { array } = node;
      const { chunks, compression } = layoutFor(array, this.compressNew());
      const parent = this.object(parentOf(path)) as Group;
      const blockRows = writeBlockRows(array, this.writeBlockBytes);
      const gzip = compression ? { compression, compression_opts: GZIP_LEVEL } : {};
      if (blockRows === null) {
        parent.create_dataset({
          name: nameOf(path),
          data: array.data as NumericArray | string[],
          shape: array.shape,
          dtype: H5_DTYPES[array.dtype],
          ...(compression ? { chunks, ...gzip } : {}),
        });
      } else {
        // Created with its first rows, then grown to its shape (a chunked layout allows that)
        // and filled a block at a time.
        const [nRows, ...rest] = array.shape;
        const width = rest.reduce((a, b) => a * b, 1);
        const rows = (start: number, end: number) =>
          (array.data as NumericArray).subarray(start * width, end * width);
        const dataset = parent.create_dataset({
          name: nameOf(path),
          data: rows(0, blockRows),
          shape: [blockRows, ...rest],
          maxshape: array.shape,
          dtype: H5_DTYPES[array.dtype],
          chunks: chunks ?? chunkShape(array),
          ...gzip,
        });
        dataset.resize(array.shape);
        for (let start = blockRows; start < nRows; start += blockRows) {
          const end = Math.min(nRows, start + blockRows);
          dataset.write_slice(
            [[start, end], ...rest.map((d): [number, number] => [0, d])],
            rows(start, end),
          );
        }
      }
    }
    const target = this.object(path);
    for (const [name, value] of Object.entries(node.attrs)) {
      this.writeAttr(target, path, name, value);
    }
  }

  /** Replaces the attributes of an element on disk, leaving unchanged ones as they are stored. */
  private replaceDiskAttrs(path: string, attrs: Attrs): void {
    const current = this.attrsOf(path);
    const target = this.object(path);
    const same = (name: string): boolean =>
      name in attrs &&
      name in current &&
      JSON.stringify(attrs[name]) === JSON.stringify(current[name]);
    for (const name of Object.keys(current)) {
      if (same(name)) continue;
      target.delete_attribute(name);
      this.fixups = this.fixups.filter((f) => !(f.path === path && f.name === name));
    }
    for (const [name, value] of Object.entries(attrs)) {
      if (!same(name)) this.writeAttr(target, path, name, value);
    }
  }

  private writeAttr(target: Group | Dataset, path: string, name: string, value: AttrValue): void {
    if (this.access && isBoolAttr(name, value)) {
      const token = newBoolToken(Boolean(value));
      target.create_attribute(name, token, [], `S${PLACEHOLDER_SIZE}`);
      this.fixups.push({ path, name, value: Boolean(value), token });
      return;
    }
    const enc = encodeAttr(name, value);
    target.create_attribute(name, enc.data, enc.shape, enc.dtype);
  }

  /** Deletes the removed elements' links from the file, then checks the file agrees. */
  private unlinkRemoved(): void {
    const targets = [...this.removed].filter((p) => !this.isRemoved(parentOf(p)));
    if (targets.length === 0) return;
    const groups = targets.map((p) => this.headerAddress(parentOf(p)));
    let current = targets[0];
    try {
      this.withFileClosed((io) => {
        const base = superblockBase(io);
        targets.forEach((p, i) => unlinkChild(io, base, groups[i], nameOf((current = p))));
      });
    } catch (err) {
      throw this.cannotRemove(current, err);
    }
    this.removed.clear();
    const left = targets.find((p) => super.kindOf(p) !== 'missing');
    if (left) throw this.cannotRemove(left, new Error('it is still there after unlinking'));
  }

  private cannotRemove(path: string, err: unknown): AnnDataError {
    if (err instanceof AnnDataError) return err;
    return new AnnDataError(`cannot remove it from the file (${hdf5Reason(err)})`, {
      file: this.source,
      element: path,
      hint: `write under a new key, or delete it in python: f = h5py.File(path, "a"); del f["${path}"]`,
      cause: err,
    });
  }

  /** Turns the bool placeholders into enums (or int8 where that is impossible). */
  private patchBools(): void {
    if (this.fixups.length === 0) return;
    const fixups = this.fixups;
    this.fixups = [];
    const addresses = fixups.map((f) => this.headerAddress(f.path));
    const failed = this.withFileClosed((io) => {
      try {
        const base = superblockBase(io);
        return fixups.filter((f, i) => !patchBoolAttribute(io, base, addresses[i], f));
      } catch {
        return fixups; // not the layout h5py's defaults give: keep int8 instead
      }
    });
    for (const f of failed) {
      const target = this.object(f.path);
      if (!(f.name in target.attrs) || target.get_attribute(f.name, false) !== f.token) continue;
      target.delete_attribute(f.name);
      target.create_attribute(f.name, f.value ? 1 : 0, [], '<b');
    }
    if (failed.length > 0) this.file.flush();
  }

  private headerAddress(path: string): number {
    const ref = new Uint8Array(this.object(path).create_reference().ref_data);
    return Number(u64(ref, 0));
  }

  /** Closes the file, edits its bytes, opens it again (even if the edit failed). */
  private withFileClosed<T>(edit: (io: ByteAccess) => T): T {
    const access = this.access as H5adFileAccess;
    if (this.hdf5Failed) {
      throw new AnnDataError('an earlier HDF5 error keeps the file open inside h5wasm', {
        file: this.source,
        hint: 'nothing was changed; fix the earlier error and run the edit again',
      });
    }
    this.file.flush();
    this.file.close();
    try {
      const io = access.bytes();
      try {
        return edit(io);
      } finally {
        io.close();
      }
    } finally {
      this.reopen(access);
    }
  }

  private reopen(access: H5adFileAccess): void {
    try {
      this.file = access.reopen();
      this.fileId = this.file.file_id;
    } catch (err) {
      this.closed = true;
      throw err;
    }
  }

  private object(path: string): Group | Dataset {
    const entity = path === '' ? this.file : this.file.get(h5Path(path));
    if (entity && 'create_attribute' in entity) return entity as Group | Dataset;
    throw new AnnDataError('is not a group or array in the file', {
      file: this.source,
      element: path,
    });
  }
}

/**
 * A WritableHierarchy over an h5wasm File opened with mode 'a'. New elements are written by
 * `flush()`; `close()` without it discards them.
 */
export function openH5adWritable(
  file: H5File,
  source: string,
  module: H5Module,
  options: H5adWriteOptions = {},
): WritableHierarchy {
  return new H5adWriter(file, source, module, options.access, options.writeBlockBytes);
}

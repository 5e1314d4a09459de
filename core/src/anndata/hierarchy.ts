/**
 * The storage layer under an AnnData file. Zarr stores and HDF5 files are both hierarchies of
 * groups and n-dimensional arrays with JSON-like attributes; the AnnData decoding in `read.ts`
 * and `write.ts` is written once against this interface, and each format implements it.
 *
 * Paths are relative to the root, '/'-separated, with no leading slash; '' is the root.
 */

export type DType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'string';

/**
 * Array contents. Booleans are a Uint8Array of 0/1; 64-bit integers are BigInt64Array /
 * BigUint64Array (callers convert where they need numbers); strings are a JS array.
 */
export type ArrayData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array
  | string[];

export type AttrValue = string | number | boolean | null | AttrValue[] | { [k: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

export type NodeKind = 'group' | 'array' | 'missing';

export interface ArrayMeta {
  shape: number[];
  dtype: DType;
  /** Chunk shape (zarr chunks, or the inner chunk of a shard; HDF5 chunk dims) if chunked. */
  chunks?: number[];
  /** Human-readable codec chain, e.g. ['blosc:lz4'], ['bytes', 'zstd'], ['deflate']. */
  codecs: string[];
}

/** Half-open index range [start, end) along one dimension. */
export interface Range {
  start: number;
  end: number;
}

/** One entry per dimension: a range, or null for the whole dimension. */
export type Selection = (Range | null)[];

export interface ArrayResult {
  data: ArrayData;
  /** Shape of the selection; [] for a 0-d (scalar) array, whose data then has length 1. */
  shape: number[];
}

export interface Hierarchy {
  /** File path or URL, for messages. */
  readonly source: string;
  readonly format: 'zarr' | 'h5ad';
  /** 2 or 3 for zarr stores. */
  readonly zarrFormat?: 2 | 3;
  kind(path: string): Promise<NodeKind>;
  /** Attributes of a group or array ({} when it has none). Throws AnnDataError if missing. */
  attrs(path: string): Promise<Attrs>;
  /** Names (not paths) of the direct children of a group, sorted. */
  children(path: string): Promise<string[]>;
  meta(path: string): Promise<ArrayMeta>;
  /**
   * Reads an array, or a rectangular part of it. Only the chunks overlapping the selection are
   * fetched and decoded. Corrupt or truncated chunks and unknown codecs raise AnnDataError
   * naming the array.
   */
  read(path: string, selection?: Selection): Promise<ArrayResult>;
  close(): Promise<void>;
}

/** What a new array should look like on disk; the format picks its store's compressor. */
export interface NewArray {
  data: ArrayData;
  shape: number[];
  dtype: DType;
  attrs?: Attrs;
}

/** Names that belong to scNym's writer (staging groups, temporary elements), never to the data. */
export const PRIVATE_PREFIX = '.scnym-';
/** The staging group of a write, at the root: `.scnym-stage-ID`. */
export const STAGE_PREFIX = `${PRIVATE_PREFIX}stage-`;

export interface WriteControl {
  /** Checked between chunks: a cancelled write stops before anything is published. */
  signal?: AbortSignal;
}

/** Elements written under a staging group, and how they become part of the data. */
export interface PublishPlan {
  /** The staging group (at the root, named `.scnym-stage-…`); gone once published. */
  stage: string;
  /** Staged element → its final path; an element already there is replaced. */
  moves: [from: string, to: string][];
  /** Attributes that replace those of existing nodes (obs's column-order). */
  attrs: [path: string, attrs: Attrs][];
}

export interface WritableHierarchy extends Hierarchy {
  /** Creates a group (parents must exist). Fails if something is already at `path`. */
  createGroup(path: string, attrs?: Attrs): Promise<void>;
  /** Creates and fills an array (a 0-d array when shape is []). Fails if `path` exists. */
  createArray(path: string, array: NewArray, control?: WriteControl): Promise<void>;
  /** Replaces all attributes of an existing group or array. */
  setAttrs(path: string, attrs: Attrs): Promise<void>;
  /** Removes a group (recursively) or an array. No-op if missing. */
  remove(path: string): Promise<void>;
  /**
   * Renames `from` to `to` (same parent group). Zarr: one directory rename, so a new element
   * appears whole or not at all.
   */
  move(from: string, to: string): Promise<void>;
  /** Finishes the write: rewrites consolidated metadata where the store has it, flushes. */
  flush(): Promise<void>;
  /**
   * Makes staged elements part of the data all at once, then flushes. Zarr journals the renames
   * so that a killed process's write is completed by the next writer (see zarr/publish.ts);
   * an h5ad is edited in a temporary copy that replaces the file whole, so it just moves them.
   */
  publish(plan: PublishPlan): Promise<void>;
}

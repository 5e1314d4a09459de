/** The AnnData handle every part of scNym reads through (see read.ts for the implementation). */
import type { Attrs, AttrValue, DType } from './hierarchy.js';

export type ObsColumn =
  | {
      kind: 'categorical';
      /** One code per cell; -1 marks a missing value. */
      codes: Int32Array;
      categories: string[];
      ordered: boolean;
    }
  | {
      kind: 'numeric';
      dtype: DType;
      values: Float64Array;
      /** 1 where the value is missing (nullable-integer); absent when nothing is missing. */
      mask?: Uint8Array;
    }
  | {
      kind: 'bool';
      values: Uint8Array;
      mask?: Uint8Array;
    }
  | {
      kind: 'string';
      /** null where missing (nullable-string-array). */
      values: (string | null)[];
    };

export type ColumnKind = ObsColumn['kind'];

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  dtype: DType;
  /** Number of categories, for categorical columns. */
  nCategories?: number;
}

export interface DenseMatrix {
  /** Row-major values. */
  data: Float32Array | Float64Array;
  shape: [number, number];
}

/** A block of rows as CSR, with its own indptr starting at 0. */
export interface CsrBlock {
  /** Index of the block's first row in the whole matrix. */
  rowStart: number;
  nRows: number;
  nCols: number;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

export type MatrixEncoding = 'csr' | 'csc' | 'dense';

export interface MatrixReader {
  /** 'X', 'raw/X' or 'layers/<name>'. */
  readonly name: string;
  readonly encoding: MatrixEncoding;
  readonly shape: [number, number];
  readonly dtype: DType;
  /** Stored non-zeros for sparse matrices (from indptr); undefined for dense. */
  readonly nnz?: number;
  /** Chunk rows for dense storage: reading aligned to it avoids re-decoding chunks. */
  readonly preferredBlockRows: number;
  /**
   * The row nearest to `row` where a stored chunk begins (dense: a chunk of rows; CSR: a chunk
   * of data/indices), so that row ranges cut there read whole chunks (shards, worker threads).
   * Absent when the storage has no chunks to align to.
   */
  alignRow?(row: number): number;
  /**
   * Rows [start, end) as CSR. Never materialises the whole matrix: CSR reads one indptr range,
   * dense reads row chunks, CSC reads every column (slow; a warning is emitted once).
   * NaN or infinite values raise AnnDataError naming the element.
   */
  rows(start: number, end: number): Promise<CsrBlock>;
}

export type UnsValue =
  | string
  | number
  | boolean
  | bigint
  | string[]
  | number[]
  | { [k: string]: UnsValue }
  | { kind: 'array'; dtype: DType; shape: number[]; data: ArrayLike<number> }
  | { kind: 'unsupported'; encoding: string };

export interface AnnData {
  readonly source: string;
  readonly format: 'zarr' | 'h5ad';
  readonly zarrFormat?: 2 | 3;
  readonly nObs: number;
  readonly nVars: number;
  /** Root attributes, e.g. encoding-version. */
  readonly rootAttrs: Attrs;
  obsNames(): Promise<string[]>;
  varNames(): Promise<string[]>;
  /** Column names in the dataframe's `column-order`. */
  obsColumnNames(): Promise<string[]>;
  obsColumnInfo(name: string): Promise<ColumnInfo>;
  obsColumn(name: string): Promise<ObsColumn>;
  varColumnNames(): Promise<string[]>;
  varColumn(name: string): Promise<ObsColumn>;
  varColumnInfo(name: string): Promise<ColumnInfo>;
  obsmKeys(): Promise<string[]>;
  obsmShape(key: string): Promise<number[]>;
  /** An obsm array, or only the given columns of it (e.g. [0, 1] of an embedding). */
  obsm(key: string, columns?: number[]): Promise<DenseMatrix>;
  /** Names of matrices under `layers/`. */
  layerNames(): Promise<string[]>;
  hasRaw(): Promise<boolean>;
  /** The matrices this file holds, in that order: 'X' (unless absent), 'layers/…', 'raw/X'. */
  matrixNames(): Promise<string[]>;
  /** 'X', 'raw/X' or 'layers/<name>'. Throws NotFoundError if absent. */
  matrix(name?: string): Promise<MatrixReader>;
  /** Gene names of a matrix's columns: raw/var's index for 'raw/X', var's otherwise. */
  matrixVarNames(name: string): Promise<string[]>;
  /** Column names of that dataframe (raw/var's for 'raw/X'), e.g. to match genes by symbol. */
  matrixVarColumnNames(name: string): Promise<string[]>;
  matrixVarColumn(name: string, column: string): Promise<ObsColumn>;
  unsKeys(): Promise<string[]>;
  uns(key: string): Promise<UnsValue>;
  /** Emitted once per condition worth telling the user (e.g. CSC row reads). */
  readonly warnings: string[];
  close(): Promise<void>;
}

export type { AttrValue };

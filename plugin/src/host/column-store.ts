/**
 * The obs columns the viewer knows: the file's (read through the data worker once each, when
 * first coloured by or shown) and those plugins add.
 */
import type { ColumnInfo, ObsColumn } from '@scnym/core/anndata';
import type { NewColumn } from './api.js';
import { fromNewColumn, toColourColumn, toObsColumn, type ColourColumn } from './columns.js';
import type { DataClient } from './data-client.js';

export class ColumnStore {
  private readonly file = new Map<string, ColumnInfo>();
  private readonly added = new Map<string, { info: ColumnInfo; column: ColourColumn }>();
  /** Columns read or added so far, in that order; null: it cannot be coloured by. */
  private readonly cache = new Map<string, Promise<ColourColumn | null>>();

  constructor(private readonly client: DataClient) {}

  setFileColumns(columns: readonly ColumnInfo[]): void {
    for (const c of columns) this.file.set(c.name, c);
  }

  /** The file's columns (less those an added one replaces), then the added ones. */
  list(): ColumnInfo[] {
    const file = [...this.file.values()].filter((c) => !this.added.has(c.name));
    return [...file, ...[...this.added.values()].map((a) => a.info)];
  }

  /** A column for colouring, read once (a failed read is tried again next time). */
  colour(name: string): Promise<ColourColumn | null> {
    let p = this.cache.get(name);
    if (!p) {
      p = this.client.obsColumn(name).then(toColourColumn);
      this.cache.set(name, p);
      p.catch(() => this.cache.delete(name));
    }
    return p;
  }

  /** The columns read or added so far, in that order. */
  loaded(): string[] {
    return [...this.cache.keys()];
  }

  /** A column if it was read or added, without reading it. */
  ifLoaded(name: string): Promise<ColourColumn | null> | undefined {
    return this.cache.get(name);
  }

  /** A column as plugins read them. */
  obsColumn(name: string): Promise<ObsColumn> {
    const a = this.added.get(name);
    return a ? Promise.resolve(toObsColumn(a.column)) : this.client.obsColumn(name);
  }

  /** Forgets an added column (a file's stays). */
  remove(name: string): void {
    if (this.added.delete(name)) this.cache.delete(name);
  }

  /** Adds or replaces a plugin's column. */
  add(name: string, column: NewColumn): void {
    const colour = fromNewColumn(column);
    const info: ColumnInfo =
      colour.kind === 'categorical'
        ? { name, kind: 'categorical', dtype: 'int32', nCategories: colour.categories.length }
        : { name, kind: 'numeric', dtype: 'float32' };
    this.added.set(name, { info, column: colour });
    this.cache.set(name, Promise.resolve(colour));
  }
}

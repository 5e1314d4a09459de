/**
 * The plugin interface: what a panel may do with the viewer. Host-owned and small; the host
 * knows nothing about any panel (the Transfer-labels panel is just one user of it).
 */
import type { ColumnInfo, ObsColumn } from '@scnym/core/anndata';
import type { DatasetLocation } from '../shared/worker-messages.js';
import type { ViewerConfig } from '../shared/config.js';
import type { GeneValues } from '../shared/genes.js';

/**
 * A column a plugin adds: categorical labels (strings, or codes into `categories`: one buffer
 * instead of a string per cell, for large datasets) or numbers.
 */
export type NewColumn =
  | {
      kind: 'categorical';
      values: readonly string[];
      categories?: readonly string[];
      /** A colour per category; absent: the host colours labels by name (core's labelColors). */
      colors?: readonly string[];
    }
  | {
      kind: 'categorical';
      /** A code per cell into `categories`; −1: missing. The viewer keeps a copy. */
      codes: Int32Array;
      categories: readonly string[];
      colors?: readonly string[];
    }
  | {
      kind: 'numeric';
      values: Float32Array | Float64Array | readonly number[];
      range?: [number, number];
    };

export interface DataAccess {
  /** The shown dataset (absolute URL), for workers that read it themselves. */
  readonly dataset: DatasetLocation;
  readonly config: ViewerConfig;
  readonly nObs: number;
  /** Obs columns: the file's and those added by plugins. */
  columns(): ColumnInfo[];
  obsColumn(name: string): Promise<ObsColumn>;
  obsNames(): Promise<string[]>;
  embeddings(): string[];
}

export type ViewerEvent =
  | { type: 'selection'; cells: number[] }
  | { type: 'colorBy'; column: string }
  | { type: 'columns'; columns: string[] }
  | { type: 'embedding'; key: string };

export interface PanelContext {
  /** The element the panel renders into. */
  readonly element: HTMLElement;
  readonly api: ViewerApi;
}

export interface PanelDefinition {
  id: string;
  title: string;
  mount(context: PanelContext): void | (() => void);
}

export interface ViewerApi {
  registerPanel(panel: PanelDefinition): void;
  data(): DataAccess;
  /** Colours the points by an obs column (file or added). */
  colorBy(column: string): Promise<void>;
  currentColorBy(): string | null;
  /**
   * Colours the points by a gene's expression (any of its names), where the viewer reads genes
   * (`scnym view`); absent elsewhere.
   */
  colorByGene?(name: string): Promise<void>;
  /**
   * A gene's values in every cell (any of its names; log1p(CPM) as the model sees it, or the
   * stored values) and its name as the file spells it; undefined: no gene of that name. Where the
   * viewer reads genes (the server's gene-major cache); absent elsewhere.
   */
  geneValues?(
    name: string,
    kind: GeneValues,
  ): Promise<{ name: string; values: Float32Array } | undefined>;
  /** Adds (or replaces) an obs column held by the viewer; it appears in colour-by and tooltips. */
  addObsColumn(name: string, column: NewColumn): void;
  selection(): number[];
  setSelection(cells: number[]): void;
  onSelect(callback: (cells: number[]) => void): () => void;
  /** Every viewer event. Returns an unsubscribe function. */
  on(callback: (event: ViewerEvent) => void): () => void;
  /** A short status line at the bottom of the window. */
  status(message: string): void;
  /**
   * Lets the legend rename the categories of a column the plugin added: `rename` gets the
   * category's code and the new name, and publishes the column again. null: no renaming.
   * Optional: a host without a legend of its own leaves it out.
   */
  renameCategories?(column: string, rename: ((code: number, name: string) => void) | null): void;
  /**
   * The colours this viewer shows these labels in (one colour per name across every column,
   * core's `labelColors`), so what a Save writes as `<key>_colors` is what the user saw.
   * Optional: without it a plugin uses `categoryColors`.
   */
  labelColors?(names: readonly string[]): string[];
}

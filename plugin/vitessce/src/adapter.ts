/**
 * scNym's plugin interface (`ViewerApi`, plugin/src/host/api.ts) on top of Vitessce's coordination
 * model, so the Transfer-labels panel runs unchanged inside Vitessce:
 *
 * - `addObsColumn`: a categorical column becomes a level-zero cell-set tree in `additionalObsSets`
 *   ("scNym predictions" → one coloured set per label), a numeric one a tree of bins ("scNym
 *   confidence" → < 0.5, 0.5–0.7, 0.7–0.9, ≥ 0.9), with their colours in `obsSetColor`;
 * - `colorBy`: selects every set of the column's tree (`obsSetSelection`) with
 *   `obsColorEncoding = 'cellSetSelection'`, so Vitessce's scatterplot recolours;
 * - `selection`: the cells of the selected sets, unless the selection is a whole colouring tree
 *   (Vitessce's lasso makes a "My Selections" set and selects it); `setSelection` publishes a
 *   "scNym selection" set;
 * - `data`: the dataset the page gave Vitessce, read with core's reader through the plugin's data
 *   worker (not Vitessce's loaders), plus the columns the panel added.
 *
 * React-free: the view (view.tsx) passes a bridge to `useCoordination`'s values and setters and
 * calls `coordinationChanged()` after each change.
 */
import type { ColumnInfo, ObsColumn } from '@scnym/core/anndata';
import { embeddingChoices, labelColors } from '@scnym/core/vocabulary';
import type {
  DataAccess,
  NewColumn,
  PanelDefinition,
  ViewerApi,
  ViewerEvent,
} from '@scnym/plugin/api';
import type { ViewerConfig } from '@scnym/plugin/config';
import type { DatasetLocation, DatasetSummary } from '@scnym/plugin/data-messages';
import {
  binnedTree,
  categoricalTree,
  colouringOf,
  findNode,
  hexToRgb,
  leafPaths,
  nodeMembers,
  nodeNameFor,
  SELECTION_NODE,
  selectionTree,
  withColors,
  withNode,
  withoutNode,
  type ObsSets,
  type SetColor,
  type SetGroup,
} from './sets.js';

/** The coordination values the adapter reads and writes (one scope, shared with the other views). */
export interface Coordination {
  additionalObsSets: ObsSets | null;
  obsSetSelection: string[][] | null;
  obsSetColor: SetColor[] | null;
  obsSetExpansion: string[][] | null;
  obsColorEncoding: string | null;
  /** The gene Vitessce colours by when obsColorEncoding is 'geneSelection'. */
  featureSelection?: string[] | null;
}

export interface CoordinationBridge {
  get(): Coordination;
  set(values: Partial<Coordination>): void;
}

/** What the adapter reads of the dataset (plugin's DataClient over the data worker). */
export interface DatasetReader {
  obsColumn(name: string): Promise<ObsColumn>;
  obsNames(): Promise<string[]>;
}

export interface VitessceHostOptions {
  bridge: CoordinationBridge;
  reader: DatasetReader;
  /** The dataset Vitessce shows (absolute URL), handed to the panel's workers. */
  dataset: DatasetLocation;
  config: ViewerConfig;
  summary: DatasetSummary;
  /** Categorical columns Vitessce's loader shows as cell-set trees (named by the column). */
  setColumns: readonly string[];
  /** Those columns if the page read them already (`readFileSets`); else the host reads them. */
  fileSets?: FileSets;
  /**
   * Label → colour for every tree (core's `labelColors`), so a label has one colour in the file's
   * trees and the panel's; the page fills it with the file's colours for Vitessce's config.
   */
  labelColors?: Map<string, string>;
  /** Where `registerPanel` mounts the panel. */
  panelElement?: HTMLElement;
  status(message: string): void;
}

/** The file's categorical set columns: column → its codes and categories. */
export type FileSets = Map<string, { codes: Int32Array; categories: string[] }>;

/** Reads the set columns (in order; any that is not categorical is left out). */
export async function readFileSets(
  reader: DatasetReader,
  columns: readonly string[],
): Promise<FileSets> {
  const sets: FileSets = new Map();
  for (const name of columns) {
    const column = await reader.obsColumn(name);
    if (column.kind === 'categorical') {
      sets.set(name, { codes: column.codes, categories: column.categories });
    }
  }
  return sets;
}

/** The colours of the file's sets, by name through `assigned` (in the sets' order). */
export function fileSetColors(sets: FileSets, assigned: Map<string, string>): SetColor[] {
  return [...sets].flatMap(([column, { categories }]) => {
    const colors = labelColors(categories, assigned);
    return categories.map((c, k) => ({ path: [column, c], color: hexToRgb(colors[k]) }));
  });
}

interface Added {
  info: ColumnInfo;
  column: ObsColumn;
}

export class VitessceHost implements ViewerApi {
  private readonly added = new Map<string, Added>();
  /** Colouring trees (file columns and published columns): tree name → leaf paths. */
  private readonly trees = new Map<string, string[][]>();
  /** Tree name → the column it shows. */
  private readonly treeColumn = new Map<string, string>();
  private fileSets: FileSets = new Map();
  private readonly colorMap: Map<string, string>;
  private readonly listeners = new Set<(event: ViewerEvent) => void>();
  private readonly index: Map<string, number>;
  private colourColumn: string | null = null;
  private lastSelection = '';
  private disposers: (() => void)[] = [];

  private constructor(
    private readonly options: VitessceHostOptions,
    private readonly names: string[],
  ) {
    this.index = new Map(names.map((n, i) => [n, i]));
    this.colorMap = options.labelColors ?? new Map();
  }

  /** Reads the obs names and the set columns, then the host is ready for panels. */
  static async create(options: VitessceHostOptions): Promise<VitessceHost> {
    const names = await options.reader.obsNames();
    if (names.length !== options.summary.nObs) {
      throw new Error(`${names.length} obs names for ${options.summary.nObs} cells`);
    }
    const host = new VitessceHost(options, names);
    host.fileSets = options.fileSets ?? (await readFileSets(options.reader, options.setColumns));
    fileSetColors(host.fileSets, host.colorMap); // the file's labels first, as the page's
    for (const [name, { codes, categories }] of host.fileSets) {
      const used = new Set(codes);
      host.trees.set(
        name,
        categories.filter((_, k) => used.has(k)).map((c) => [name, c]),
      );
      host.treeColumn.set(name, name);
    }
    const initial = options.setColumns.find((c) => host.fileSets.has(c));
    host.colourColumn = initial ?? null;
    return host;
  }

  registerPanel(panel: PanelDefinition): void {
    const element = this.options.panelElement;
    if (!element) throw new Error('this Vitessce view has no element for panels');
    const dispose = panel.mount({ element, api: this });
    if (dispose) this.disposers.push(dispose);
  }

  /** Unmounts the panels (the view is leaving). */
  dispose(): void {
    for (const d of this.disposers.splice(0)) d();
    this.listeners.clear();
  }

  data(): DataAccess {
    const { dataset, config, summary, reader } = this.options;
    return {
      dataset,
      config,
      nObs: summary.nObs,
      columns: () => [
        ...summary.columns.filter((c) => !this.added.has(c.name)),
        ...[...this.added.values()].map((a) => a.info),
      ],
      obsColumn: async (name) => this.added.get(name)?.column ?? reader.obsColumn(name),
      obsNames: async () => [...this.names],
      embeddings: () =>
        embeddingChoices(
          summary.obsm,
          summary.columns.map((c) => c.name),
        ),
    };
  }

  currentColorBy(): string | null {
    return this.colourColumn;
  }

  labelColors(names: readonly string[]): string[] {
    return labelColors(names, this.colorMap);
  }

  async colorBy(column: string): Promise<void> {
    let tree = this.treeOf(column);
    if (!tree) {
      // A numeric file column: read it and publish it as a tree of bins.
      const col = await this.options.reader.obsColumn(column).catch(() => null);
      if (col?.kind !== 'numeric') {
        throw new Error(`obs column '${column}' cannot be used for colouring in Vitessce`);
      }
      this.publish(column, binnedTree(column, this.names, col.values));
      tree = column;
    }
    const current = this.options.bridge.get();
    const values: Partial<Coordination> = {
      obsSetSelection: this.trees.get(tree)!,
      obsColorEncoding: 'cellSetSelection',
    };
    if (this.fileSets.has(tree)) {
      // The page's config gives the file's colours; any Vitessce has not: by name, as the others.
      const missing = this.colorsOf(tree).filter(
        (c) => !current.obsSetColor?.some((e) => samePath(e.path, c.path)),
      );
      if (missing.length) values.obsSetColor = [...(current.obsSetColor ?? []), ...missing];
    }
    this.options.bridge.set(values);
    this.colourColumn = column;
    this.emit({ type: 'colorBy', column });
    this.coordinationChanged();
  }

  /** Vitessce's own colour by gene: its scatterplot reads the gene's column of X. */
  colorByGene(name: string): Promise<void> {
    this.options.bridge.set({ featureSelection: [name], obsColorEncoding: 'geneSelection' });
    return Promise.resolve();
  }

  addObsColumn(name: string, column: NewColumn): void {
    const tree = nodeNameFor(name);
    if (column.kind === 'categorical') {
      // Vitessce's cell sets name every cell: codes become labels here (missing: none).
      const values =
        'codes' in column
          ? Array.from(column.codes, (c) => column.categories[c] ?? null)
          : column.values;
      const categories = [
        ...(column.categories ?? new Set(values.filter((v): v is string => v !== null))),
      ];
      const index = new Map(categories.map((c, i) => [c, i]));
      for (const v of values) if (v !== null && !index.has(v)) index.set(v, index.size);
      const order = [...index.keys()];
      const colors =
        column.colors && column.colors.length >= order.length
          ? column.colors
          : labelColors(order, this.colorMap);
      const built = categoricalTree(tree, this.names, values, order, colors);
      this.added.set(name, {
        info: { name, kind: 'categorical', dtype: 'int32', nCategories: index.size },
        column: {
          kind: 'categorical',
          codes: Int32Array.from(values, (v) => (v === null ? -1 : index.get(v)!)),
          categories: order,
          ordered: false,
        },
      });
      this.publish(name, built);
    } else {
      const values = Float64Array.from(column.values);
      this.added.set(name, {
        info: { name, kind: 'numeric', dtype: 'float32' },
        column: { kind: 'numeric', dtype: 'float32', values },
      });
      this.publish(name, binnedTree(tree, this.names, values));
    }
    this.emit({
      type: 'columns',
      columns: this.data()
        .columns()
        .map((c) => c.name),
    });
  }

  selection(): number[] {
    const sel = this.options.bridge.get().obsSetSelection;
    if (!sel || sel.length === 0 || colouringOf(sel, this.trees)) return [];
    const sets = this.options.bridge.get().additionalObsSets;
    const cells = new Set<number>();
    for (const path of sel) {
      const file = this.fileSets.get(path[0]);
      if (file && path.length === 2) {
        const k = file.categories.indexOf(path[1]);
        file.codes.forEach((c, i) => {
          if (c === k) cells.add(i);
        });
        continue;
      }
      const node = findNode(sets, path);
      if (!node) continue;
      for (const name of nodeMembers(node)) {
        const i = this.index.get(name);
        if (i !== undefined) cells.add(i);
      }
    }
    return [...cells].sort((a, b) => a - b);
  }

  setSelection(cells: number[]): void {
    const { bridge } = this.options;
    const current = bridge.get();
    if (cells.length === 0) {
      const tree = this.colourColumn ? this.treeOf(this.colourColumn) : null;
      bridge.set({
        additionalObsSets: withoutNode(current.additionalObsSets, SELECTION_NODE),
        obsSetSelection: tree ? this.trees.get(tree)! : [],
      });
    } else {
      const { node, colors } = selectionTree(this.names, cells);
      bridge.set({
        additionalObsSets: withNode(current.additionalObsSets, node),
        obsSetColor: withColors(current.obsSetColor, SELECTION_NODE, colors),
        obsSetSelection: leafPaths(node),
        obsColorEncoding: 'cellSetSelection',
        obsSetExpansion: expanded(current.obsSetExpansion, SELECTION_NODE),
      });
    }
    this.coordinationChanged();
  }

  onSelect(callback: (cells: number[]) => void): () => void {
    return this.on((e) => {
      if (e.type === 'selection') callback(e.cells);
    });
  }

  on(callback: (event: ViewerEvent) => void): () => void {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  status(message: string): void {
    this.options.status(message);
  }

  /**
   * The view calls this after Vitessce's coordination changed (a set checked in the cell-set
   * manager, a lasso, …): emits `selection` when the selected cells changed and `colorBy` when
   * the selection became another column's whole tree.
   */
  coordinationChanged(): void {
    const sel = this.options.bridge.get().obsSetSelection;
    const tree = colouringOf(sel, this.trees);
    const column = tree ? this.treeColumn.get(tree) : undefined;
    if (column && column !== this.colourColumn) {
      this.colourColumn = column;
      this.emit({ type: 'colorBy', column });
    }
    const cells = this.selection();
    const key = cells.join(',');
    if (key !== this.lastSelection) {
      this.lastSelection = key;
      this.emit({ type: 'selection', cells });
    }
  }

  /** The tree a column is shown as, if there is one. */
  private treeOf(column: string): string | null {
    if (this.fileSets.has(column)) return column;
    const name = this.added.has(column) ? nodeNameFor(column) : column;
    return this.trees.has(name) && this.treeColumn.get(name) === column ? name : null;
  }

  private publish(column: string, built: { node: SetGroup; colors: SetColor[] }): void {
    const { node, colors } = built;
    const { bridge } = this.options;
    const current = bridge.get();
    this.trees.set(node.name, leafPaths(node));
    this.treeColumn.set(node.name, column);
    const values: Partial<Coordination> = {
      additionalObsSets: withNode(current.additionalObsSets, node),
      obsSetColor: withColors(current.obsSetColor, node.name, colors),
      obsSetExpansion: expanded(current.obsSetExpansion, node.name),
    };
    // Shown already (relabelled by hand): keep showing it, with the new sets.
    if (
      colouringOf(current.obsSetSelection, new Map([[node.name, this.previous(current, node)]]))
    ) {
      values.obsSetSelection = this.trees.get(node.name)!;
    }
    bridge.set(values);
  }

  /** The leaf paths the node had before this publication (to see whether it was shown). */
  private previous(current: Coordination, node: SetGroup): string[][] {
    const old = findNode(current.additionalObsSets, [node.name]);
    return old ? leafPaths(old) : [];
  }

  private colorsOf(column: string): SetColor[] {
    return fileSetColors(new Map([[column, this.fileSets.get(column)!]]), this.colorMap);
  }

  private emit(event: ViewerEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
}

/** The expansion with the level-zero node `name` open (the manager then lists its sets). */
function expanded(expansion: string[][] | null, name: string): string[][] {
  const open = expansion ?? [];
  return open.some((p) => p.length === 1 && p[0] === name) ? open : [...open, [name]];
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/**
 * The viewer host: a full-window scatterplot (scatter.ts: WebGL on a GPU, else the CPU) of an
 * obsm embedding, colour-by with a legend, lasso selection, hover tooltips, and the plugin
 * interface panels use.
 * Plain TypeScript and DOM; the data comes from the data worker (core's reader). This class
 * holds the state and the plugin interface; the parts are drawn by toolbar, legend, tooltip
 * and scatter, and the obs columns are kept by a ColumnStore.
 */
import type { ViewerConfig } from '../shared/config.js';
import { likelyLabelColumn } from '@scnym/core/vocabulary';
import { GENE_VALUES_LABEL, type GeneValues } from '../shared/genes.js';
import type { DatasetLocation, DatasetSummary } from '../shared/worker-messages.js';
import { el } from '../ui/dom.js';
import type { DataAccess, NewColumn, PanelDefinition, ViewerApi, ViewerEvent } from './api.js';
import { ColumnStore } from './column-store.js';
import type { ColourColumn } from './columns.js';
import type { DataClient } from './data-client.js';
import { embeddingKeys, normalisedXY } from './embedding.js';
import { GeneSearch, type GeneSource } from './gene-search.js';
import { renderLegend } from './legend.js';
import { plotSvg } from './plot-svg.js';
import { pointColours, Scatter } from './scatter.js';
import { Toolbar } from './toolbar.js';
import { Tooltip } from './tooltip.js';

export interface ViewerOptions {
  root: HTMLElement;
  config: ViewerConfig;
  dataset: DatasetLocation;
  client: DataClient;
  /** The plot's background colour (default white); the VS Code webview passes its theme's. */
  background?: string;
  /** Where genes are read (`scnym view`'s gene-major cache); without it, no gene search. */
  genes?: GeneSource;
}

export class Viewer implements ViewerApi {
  private summary!: DatasetSummary;
  private scatter!: Scatter;
  private x: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private colourColumn: string | null = null;
  private readonly columns: ColumnStore;
  private readonly hidden = new Set<number>();
  private selected: number[] = [];
  private names: Promise<string[]> | null = null;
  private readonly listeners = new Set<(e: ViewerEvent) => void>();
  /** Columns whose categories the legend may rename, and who renames them. */
  private readonly renamers = new Map<string, (code: number, name: string) => void>();
  private readonly toolbar: Toolbar;
  private readonly panels = el('aside', { class: 'panels', id: 'panels' });
  private readonly legend = el('aside', { class: 'legend', id: 'legend' });
  private readonly canvas = el('canvas', { id: 'plot' });
  private readonly tooltip = new Tooltip(this.canvas);
  private readonly statusLine = el('footer', { class: 'status', id: 'status' });
  private drawing: Promise<void> = Promise.resolve();
  /** The embedding changed since the points were last drawn. */
  private newPoints = false;
  /** The embedding shown. */
  private embeddingKey = '';
  private readonly geneSearch: GeneSearch | null = null;
  /** A gene's values, where genes are read (`options.genes`); see ViewerApi. */
  readonly geneValues?: ViewerApi['geneValues'];
  /** The added column showing a gene (one at a time). */
  private geneColumn: string | null = null;

  constructor(private readonly options: ViewerOptions) {
    this.columns = new ColumnStore(options.client);
    this.toolbar = new Toolbar(options.dataset.name, {
      embedding: (key) => void this.showEmbedding(key),
      colorBy: (column) => void this.colorBy(column),
      mode: (mode) => this.scatter.setMode(mode),
      resetView: () => void this.scatter.resetView(),
      exportPng: () => void this.exportPng(),
      exportSvg: () => void this.exportSvg(),
      clearSelection: () => this.setSelection([]),
    });
    if (options.genes) {
      const source = options.genes;
      this.geneSearch = new GeneSearch(source, {
        colour: (name, kind) => this.showGene(source, name, kind),
      });
      this.toolbar.element.append(this.geneSearch.element);
      this.geneValues = async (name, kind) => {
        await source.ready(() => undefined);
        const gene = source.find(name);
        return gene && { name: gene.name, values: await source.values(gene.index, kind) };
      };
    }
    const main = el('main', { class: 'plot' }, [this.canvas, this.tooltip.element]);
    options.root.replaceChildren(
      this.toolbar.element,
      el('div', { class: 'body' }, [this.legend, main, this.panels]),
      this.statusLine,
    );
  }

  /** Opens the dataset, draws the default embedding and colours by the first category. */
  async start(): Promise<void> {
    this.status(`opening ${this.options.dataset.name}…`);
    this.summary = await this.options.client.open(this.options.dataset);
    this.columns.setFileColumns(this.summary.columns);
    const embeddings = embeddingKeys(this.summary);
    if (embeddings.length === 0) {
      throw new Error(
        `${this.options.dataset.name} has no 2-D embedding in obsm (X_umap, X_tsne, …)`,
      );
    }
    this.toolbar.setEmbeddings(embeddings);
    const first = embeddings.includes('X_umap') ? 'X_umap' : embeddings[0];
    this.toolbar.showEmbedding(first);
    this.refreshColumnChooser();
    const n = this.summary.nObs;
    this.scatter = await Scatter.create(
      this.canvas,
      this.options.background ?? '#ffffff',
      {
        select: (cells) => this.selectionChanged(cells),
        deselect: () => this.selectionChanged([]),
        pointOver: (i) => void this.hover(i),
        pointOut: () => this.tooltip.hide(),
      },
      this.options.config.renderer,
    );
    // Colour first, so the points are drawn (and spatially indexed) once.
    const categorical = this.summary.columns.filter((c) => c.kind === 'categorical');
    const initial = likelyLabelColumn(categorical) ?? categorical[0];
    if (initial && (await this.columns.colour(initial.name).catch(() => null))) {
      this.colourColumn = initial.name;
      this.toolbar.showColorBy(initial.name);
    }
    await this.showEmbedding(first);
    this.status(
      `${n.toLocaleString('en-US')} cells · ${this.summary.nVars.toLocaleString('en-US')} genes`,
    );
    document.body.dataset.ready = 'true';
  }

  // ------------------------------------------------------------------ plugin interface

  registerPanel(panel: PanelDefinition): void {
    const body = el('div', { class: 'panel-body' });
    const section = el('section', { class: 'panel', id: `panel-${panel.id}` }, [
      el('h2', {}, [panel.title]),
      body,
    ]);
    this.panels.append(section);
    panel.mount({ element: body, api: this });
  }

  data(): DataAccess {
    return {
      dataset: this.options.dataset,
      config: this.options.config,
      nObs: this.summary.nObs,
      columns: () => this.columns.list(),
      obsColumn: (name) => this.columns.obsColumn(name),
      obsNames: () => this.obsNames(),
      embeddings: () => embeddingKeys(this.summary),
    };
  }

  currentColorBy(): string | null {
    return this.colourColumn;
  }

  async colorBy(column: string): Promise<void> {
    const col = await this.columns.colour(column);
    if (!col) throw new Error(`obs column '${column}' cannot be used for colouring`);
    this.colourColumn = column;
    this.hidden.clear();
    this.toolbar.showColorBy(column);
    await this.redraw();
    this.emit({ type: 'colorBy', column });
  }

  async colorByGene(name: string): Promise<void> {
    if (!this.geneSearch) throw new Error('this viewer does not read genes');
    await this.geneSearch.show(name);
  }

  addObsColumn(name: string, column: NewColumn): void {
    this.columns.add(name, column);
    this.refreshColumnChooser();
    this.emit({
      type: 'columns',
      columns: this.columns.list().map((c) => c.name),
    });
    if (this.colourColumn === name) void this.redraw();
  }

  selection(): number[] {
    return [...this.selected];
  }

  setSelection(cells: number[]): void {
    void this.scatter.select(cells);
    this.selectionChanged([...cells]);
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
    this.statusLine.textContent = message;
  }

  renameCategories(column: string, rename: ((code: number, name: string) => void) | null): void {
    if (rename) this.renamers.set(column, rename);
    else this.renamers.delete(column);
  }

  labelColors(names: readonly string[]): string[] {
    return this.columns.colorsOf(names);
  }

  // ------------------------------------------------------------------ internals

  private emit(event: ViewerEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        console.error(err);
      }
    }
  }

  /** Colours by a gene through an added column named for it, which replaces the last one. */
  private async showGene(source: GeneSource, name: string, kind: GeneValues): Promise<string> {
    await source.ready(() => undefined); // a gene asked for while the cache is built waits
    const gene = source.find(name);
    if (!gene) throw new Error(`no gene named ${name} in ${this.options.dataset.name}`);
    const values = await source.values(gene.index, kind);
    const column = `${gene.name} · ${GENE_VALUES_LABEL[kind]}`;
    if (this.geneColumn && this.geneColumn !== column) this.columns.remove(this.geneColumn);
    this.geneColumn = column;
    this.addObsColumn(column, { kind: 'numeric', values });
    await this.colorBy(column);
    return gene.name;
  }

  private obsNames(): Promise<string[]> {
    this.names ??= this.options.client.obsNames();
    return this.names;
  }

  private refreshColumnChooser(): void {
    this.toolbar.setColumns(
      this.columns.list().map((c) => c.name),
      this.colourColumn,
    );
  }

  private async showEmbedding(key: string): Promise<void> {
    this.status(`reading obsm/${key}…`);
    const m = await this.options.client.obsm(key, [0, 1]);
    const n = m.shape[0];
    ({ x: this.x, y: this.y } = normalisedXY(m.data, n));
    this.newPoints = true;
    this.embeddingKey = key;
    this.toolbar.showEmbedding(key);
    await this.redraw();
    this.emit({ type: 'embedding', key });
    this.status(`${n.toLocaleString('en-US')} cells · ${key}`);
  }

  /** Redraws with the current embedding and colour; calls are queued, never interleaved. */
  private redraw(): Promise<void> {
    const next = this.drawing.then(() => this.draw());
    this.drawing = next.catch((err: unknown) => console.error(err));
    return next;
  }

  private async draw(): Promise<void> {
    if (!this.scatter || this.x.length === 0) return;
    const col = this.colourColumn ? await this.columns.colour(this.colourColumn) : null;
    // All of it is drawn in one frame, which the last call waits for.
    void this.scatter.setColours(pointColours(col, this.x.length));
    if (this.newPoints) void this.scatter.setPoints(this.x, this.y);
    this.newPoints = false;
    void this.scatter.select(this.selected);
    const drawn = this.scatter.setHidden(col?.kind === 'categorical' ? this.hidden : new Set());
    this.showLegend(col);
    await drawn;
  }

  private showLegend(col: ColourColumn | null): void {
    renderLegend(this.legend, this.colourColumn, col, this.hidden, {
      toggle: (code) => {
        if (this.hidden.has(code)) this.hidden.delete(code);
        else this.hidden.add(code);
        void this.scatter.setHidden(this.hidden);
        this.showLegend(col);
      },
      select: (cells) => this.setSelection(cells),
      rename: this.colourColumn ? this.renamers.get(this.colourColumn) : undefined,
    });
  }

  private selectionChanged(cells: number[]): void {
    this.selected = cells;
    this.toolbar.showSelection(cells.length);
    this.emit({ type: 'selection', cells });
  }

  /** Downloads the plot as it is shown, named after the dataset and the colour column. */
  private async exportPng(): Promise<void> {
    const blob = await this.scatter.png();
    if (!blob) return this.status('the plot could not be exported');
    const url = URL.createObjectURL(blob);
    const name = [this.options.dataset.name, this.colourColumn].filter(Boolean).join('.');
    el('a', { href: url, download: `${name}.png` }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  /** Downloads the plot as an SVG (plot-svg.ts: the points as an image, the rest vectors). */
  private async exportSvg(): Promise<void> {
    const png = await this.scatter.png();
    if (!png) return this.status('the plot could not be exported');
    const dpr = window.devicePixelRatio || 1;
    const text = await plotSvg({
      png,
      width: this.canvas.width / dpr,
      height: this.canvas.height / dpr,
      background: this.options.background ?? '#ffffff',
      title: [this.options.dataset.name, this.colourColumn].filter(Boolean).join(' · '),
      embedding: this.embeddingKey,
      colourName: this.colourColumn,
      colour: this.colourColumn ? await this.columns.colour(this.colourColumn) : null,
      hidden: this.hidden,
    });
    const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    const name = [this.options.dataset.name, this.colourColumn].filter(Boolean).join('.');
    el('a', { href: url, download: `${name}.svg` }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  private hover(i: number): Promise<void> {
    return this.tooltip.show(
      i,
      this.obsNames(),
      () => [...(this.colourColumn ? [this.colourColumn] : []), ...this.columns.loaded()],
      (name) => this.columns.ifLoaded(name),
    );
  }
}

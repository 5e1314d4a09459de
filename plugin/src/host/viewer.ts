/**
 * The viewer host: a full-window WebGL scatterplot (regl-scatterplot) of an obsm embedding,
 * colour-by with a legend, lasso selection, hover tooltips, and the plugin interface panels use.
 * Plain TypeScript and DOM; the data comes from the data worker (core's reader).
 */
import createScatterplot from 'regl-scatterplot';
import type { ColumnInfo, ObsColumn } from '@scnym/core/anndata';
import type { ViewerConfig } from '../shared/config.js';
import type { DatasetLocation, DatasetSummary } from '../shared/worker-messages.js';
import type { DataAccess, NewColumn, PanelDefinition, ViewerApi, ViewerEvent } from './api.js';
import { categoryColors, MISSING_COLOR, viridis } from './colors.js';
import type { DataClient } from './data-client.js';
import { el } from './dom.js';

/** A column ready for colouring. */
type ColourColumn =
  | { kind: 'categorical'; codes: Int32Array; categories: string[]; colors: string[] }
  | { kind: 'numeric'; values: Float32Array; min: number; max: number };

type Scatterplot = ReturnType<typeof createScatterplot>;

const NUMERIC_STEPS = 64;
/** String columns with more distinct values than this are not offered as categories. */
const MAX_CATEGORIES = 1000;

export interface ViewerOptions {
  root: HTMLElement;
  config: ViewerConfig;
  dataset: DatasetLocation;
  client: DataClient;
  /** The plot's background colour (default white); the VS Code webview passes its theme's. */
  background?: string;
}

export class Viewer implements ViewerApi {
  private summary!: DatasetSummary;
  private scatter!: Scatterplot;
  private x = new Float32Array(0);
  private y = new Float32Array(0);
  private embedding = '';
  private colourColumn: string | null = null;
  private readonly fileColumns = new Map<string, ColumnInfo>();
  private readonly added = new Map<string, { info: ColumnInfo; column: ColourColumn }>();
  private readonly cache = new Map<string, Promise<ColourColumn | null>>();
  private readonly hidden = new Set<number>();
  private selected: number[] = [];
  private names: Promise<string[]> | null = null;
  private readonly listeners = new Set<(e: ViewerEvent) => void>();
  private readonly panels: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly embeddingSelect: HTMLSelectElement;
  private readonly colourSelect: HTMLSelectElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly selectionInfo: HTMLElement;
  private hoverToken = 0;

  constructor(private readonly options: ViewerOptions) {
    const { root } = options;
    this.embeddingSelect = el('select', { id: 'embedding', title: 'Embedding (obsm)' });
    this.colourSelect = el('select', { id: 'color-by', title: 'Colour by (obs)' });
    const panMode = el('button', { id: 'mode-pan', class: 'mode active', title: 'Pan and zoom' }, [
      'Pan/zoom',
    ]);
    const lassoMode = el(
      'button',
      { id: 'mode-lasso', class: 'mode', title: 'Lasso select (or shift-drag)' },
      ['Lasso'],
    );
    const clear = el('button', { id: 'clear-selection', title: 'Clear the selection' }, [
      'Clear selection',
    ]);
    this.selectionInfo = el('span', { id: 'selection-info', class: 'muted' });
    panMode.onclick = () => this.setMode('panZoom', panMode, lassoMode);
    lassoMode.onclick = () => this.setMode('lasso', panMode, lassoMode);
    clear.onclick = () => this.setSelection([]);
    const header = el('header', { class: 'topbar' }, [
      el('strong', {}, ['scNym viewer']),
      el('span', { class: 'muted', id: 'dataset-name' }, [options.dataset.name]),
      el('label', {}, ['Embedding ', this.embeddingSelect]),
      el('label', {}, ['Colour by ', this.colourSelect]),
      panMode,
      lassoMode,
      clear,
      this.selectionInfo,
    ]);
    this.legend = el('aside', { class: 'legend', id: 'legend' });
    this.canvas = el('canvas', { id: 'plot' });
    this.tooltip = el('div', { class: 'tooltip', id: 'tooltip', hidden: '' });
    const main = el('main', { class: 'plot' }, [this.canvas, this.tooltip]);
    this.panels = el('aside', { class: 'panels', id: 'panels' });
    this.statusLine = el('footer', { class: 'status', id: 'status' });
    root.replaceChildren(
      header,
      el('div', { class: 'body' }, [this.legend, main, this.panels]),
      this.statusLine,
    );
    this.embeddingSelect.onchange = () => void this.showEmbedding(this.embeddingSelect.value);
    this.colourSelect.onchange = () => void this.colorBy(this.colourSelect.value);
  }

  /** Opens the dataset, draws the default embedding and colours by the first category. */
  async start(): Promise<void> {
    this.status(`opening ${this.options.dataset.name}…`);
    this.summary = await this.options.client.open(this.options.dataset);
    for (const c of this.summary.columns) this.fileColumns.set(c.name, c);
    const embeddings = this.embeddings();
    if (embeddings.length === 0) {
      throw new Error(
        `${this.options.dataset.name} has no 2-D embedding in obsm (X_umap, X_tsne, …)`,
      );
    }
    this.embeddingSelect.replaceChildren(...embeddings.map((k) => el('option', { value: k }, [k])));
    const first = embeddings.includes('X_umap') ? 'X_umap' : embeddings[0];
    this.embeddingSelect.value = first;
    this.refreshColumnChooser();
    const n = this.summary.nObs;
    this.scatter = createScatterplot({
      canvas: this.canvas,
      width: 'auto',
      height: 'auto',
      pointSize: pointSize(n, this.canvas),
      pointSizeSelected: 2,
      pointOutlineWidth: 1,
      opacity: n > 200_000 ? 0.8 : 0.9,
      opacityInactiveScale: 0.4,
      backgroundColor: this.options.background ?? '#ffffff',
      lassoColor: '#3a6ea5',
      lassoOnLongPress: false,
      deselectOnEscape: true,
      deselectOnDblClick: false,
      performanceMode: n >= 1_000_000,
    } as Parameters<typeof createScatterplot>[0]);
    this.scatter.subscribe('select', ({ points }: { points: number[] }) =>
      this.selectionChanged([...points]),
    );
    this.scatter.subscribe('deselect', () => this.selectionChanged([]));
    this.scatter.subscribe('pointOver', (i: number) => void this.hover(i));
    this.scatter.subscribe('pointOut', () => {
      this.hoverToken++;
      this.tooltip.hidden = true;
    });
    this.canvas.addEventListener('mousemove', (e) => {
      const box = this.canvas.getBoundingClientRect();
      this.tooltip.style.left = `${e.clientX - box.left + 14}px`;
      this.tooltip.style.top = `${e.clientY - box.top + 14}px`;
    });
    window.addEventListener('resize', () =>
      this.scatter.set({ pointSize: pointSize(n, this.canvas) }),
    );
    // Colour first, so the points are drawn (and spatially indexed) once.
    const initial =
      this.summary.columns.find((c) => c.name === 'cell_type' && c.kind === 'categorical') ??
      this.summary.columns.find((c) => c.kind === 'categorical');
    if (initial && (await this.column(initial.name).catch(() => null))) {
      this.colourColumn = initial.name;
      this.colourSelect.value = initial.name;
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
      columns: () => [...this.fileColumns.values(), ...[...this.added.values()].map((a) => a.info)],
      obsColumn: async (name) => {
        const a = this.added.get(name);
        if (a) return toObsColumn(a.column);
        return this.options.client.obsColumn(name);
      },
      obsNames: () => this.obsNames(),
      embeddings: () => this.embeddings(),
    };
  }

  currentColorBy(): string | null {
    return this.colourColumn;
  }

  async colorBy(column: string): Promise<void> {
    const col = await this.column(column);
    if (!col) throw new Error(`obs column '${column}' cannot be used for colouring`);
    this.colourColumn = column;
    this.hidden.clear();
    this.colourSelect.value = column;
    await this.redraw();
    this.emit({ type: 'colorBy', column });
  }

  addObsColumn(name: string, column: NewColumn): void {
    const colour = fromNewColumn(column);
    const info: ColumnInfo =
      colour.kind === 'categorical'
        ? { name, kind: 'categorical', dtype: 'int32', nCategories: colour.categories.length }
        : { name, kind: 'numeric', dtype: 'float32' };
    this.added.set(name, { info, column: colour });
    this.cache.set(name, Promise.resolve(colour));
    this.refreshColumnChooser();
    this.emit({
      type: 'columns',
      columns: this.data()
        .columns()
        .map((c) => c.name),
    });
    if (this.colourColumn === name) void this.redraw();
  }

  selection(): number[] {
    return [...this.selected];
  }

  setSelection(cells: number[]): void {
    if (cells.length === 0) this.scatter.deselect({ preventEvent: true });
    else this.scatter.select(cells, { preventEvent: true });
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

  private embeddings(): string[] {
    return this.summary.obsm
      .filter((o) => o.key.startsWith('X_') && o.shape.length === 2 && (o.shape[1] ?? 0) >= 2)
      .map((o) => o.key);
  }

  private obsNames(): Promise<string[]> {
    this.names ??= this.options.client.obsNames();
    return this.names;
  }

  private setMode(mode: 'panZoom' | 'lasso', pan: HTMLElement, lasso: HTMLElement): void {
    void this.scatter.set({ mouseMode: mode });
    pan.classList.toggle('active', mode === 'panZoom');
    lasso.classList.toggle('active', mode === 'lasso');
  }

  private refreshColumnChooser(): void {
    const current = this.colourSelect.value;
    const usable = this.data().columns();
    this.colourSelect.replaceChildren(
      ...usable.map((c) => el('option', { value: c.name }, [c.name])),
    );
    if (current && usable.some((c) => c.name === current)) this.colourSelect.value = current;
    else if (this.colourColumn) this.colourSelect.value = this.colourColumn;
  }

  private column(name: string): Promise<ColourColumn | null> {
    let p = this.cache.get(name);
    if (!p) {
      p = this.options.client.obsColumn(name).then(toColourColumn);
      this.cache.set(name, p);
      p.catch(() => this.cache.delete(name));
    }
    return p;
  }

  private async showEmbedding(key: string): Promise<void> {
    this.status(`reading obsm/${key}…`);
    const m = await this.options.client.obsm(key, [0, 1]);
    const n = m.shape[0];
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      const a = m.data[2 * i];
      const b = m.data[2 * i + 1];
      x[i] = a;
      y[i] = b;
      if (Number.isFinite(a) && Number.isFinite(b)) {
        x0 = Math.min(x0, a);
        x1 = Math.max(x1, a);
        y0 = Math.min(y0, b);
        y1 = Math.max(y1, b);
      }
    }
    const half = Math.max(x1 - x0, y1 - y0, 1e-9) / 2 / 0.95;
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    for (let i = 0; i < n; i++) {
      x[i] = Number.isFinite(x[i]) ? (x[i] - cx) / half : 0;
      y[i] = Number.isFinite(y[i]) ? (y[i] - cy) / half : 0;
    }
    this.x = x;
    this.y = y;
    this.spatialIndex = null;
    this.embedding = key;
    this.embeddingSelect.value = key;
    await this.redraw();
    this.emit({ type: 'embedding', key });
    this.status(`${n.toLocaleString('en-US')} cells · ${key}`);
  }

  private drawing: Promise<void> = Promise.resolve();
  /** regl-scatterplot's KDBush index of the current embedding, reused when only colours change. */
  private spatialIndex: ArrayBuffer | null = null;

  /** Redraws with the current embedding and colour; calls are queued, never interleaved. */
  private redraw(): Promise<void> {
    const next = this.drawing.then(() => this.draw());
    this.drawing = next.catch((err: unknown) => console.error(err));
    return next;
  }

  private async draw(): Promise<void> {
    if (!this.scatter || this.x.length === 0) return;
    const n = this.x.length;
    const col = this.colourColumn ? await this.column(this.colourColumn) : null;
    const valueA = new Float32Array(n);
    const valueB = new Float32Array(n);
    if (col?.kind === 'categorical') {
      const missing = col.categories.length;
      for (let i = 0; i < n; i++) valueA[i] = col.codes[i] < 0 ? missing : col.codes[i];
      await this.scatter.set({ colorBy: 'valueA', pointColor: [...col.colors, MISSING_COLOR] });
    } else if (col?.kind === 'numeric') {
      const span = col.max - col.min || 1;
      for (let i = 0; i < n; i++) {
        const v = col.values[i];
        valueB[i] = Number.isFinite(v) ? Math.min(1, Math.max(0, (v - col.min) / span)) : 0;
      }
      await this.scatter.set({ colorBy: 'valueB', pointColor: viridis(NUMERIC_STEPS) });
    } else {
      await this.scatter.set({ colorBy: null, pointColor: '#3a6ea5' });
    }
    await this.scatter.draw(
      { x: this.x, y: this.y, valueA, valueB },
      this.spatialIndex ? { spatialIndex: this.spatialIndex } : {},
    );
    this.spatialIndex ??= this.scatter.get('spatialIndex') ?? null;
    if (this.selected.length) this.scatter.select(this.selected, { preventEvent: true });
    await this.applyHidden(col);
    this.renderLegend(col);
  }

  private async applyHidden(col: ColourColumn | null): Promise<void> {
    if (!col || col.kind !== 'categorical' || this.hidden.size === 0) {
      await this.scatter.unfilter({ preventEvent: true });
      return;
    }
    const keep: number[] = [];
    for (let i = 0; i < col.codes.length; i++) if (!this.hidden.has(col.codes[i])) keep.push(i);
    await this.scatter.filter(keep, { preventEvent: true });
  }

  private renderLegend(col: ColourColumn | null): void {
    const title = el('h2', {}, [this.colourColumn ?? 'No colour']);
    if (!col) {
      this.legend.replaceChildren(title);
      return;
    }
    if (col.kind === 'numeric') {
      const stops = viridis(NUMERIC_STEPS);
      const bar = el('div', {
        class: 'ramp',
        style: `background: linear-gradient(to right, ${stops.join(', ')})`,
      });
      this.legend.replaceChildren(
        title,
        bar,
        el('div', { class: 'ramp-labels' }, [
          el('span', {}, [fmt(col.min)]),
          el('span', {}, [fmt(col.max)]),
        ]),
      );
      return;
    }
    const counts = new Int32Array(col.categories.length + 1);
    for (const c of col.codes) counts[c < 0 ? col.categories.length : c]++;
    const rows: HTMLElement[] = [];
    const entries = col.categories.map((name, i) => ({ name, i, color: col.colors[i] }));
    if (counts[col.categories.length] > 0) {
      entries.push({ name: '(missing)', i: -1, color: MISSING_COLOR });
    }
    for (const { name, i, color } of entries) {
      const count = counts[i < 0 ? col.categories.length : i];
      if (count === 0 && i >= 0) continue;
      const swatch = el('button', {
        class: 'swatch',
        title: 'Show or hide',
        style: `background:${this.hidden.has(i) ? 'transparent' : color}; border-color:${color}`,
      });
      const label = el('button', { class: 'name', title: 'Highlight (select) these cells' }, [
        name,
      ]);
      const row = el(
        'div',
        { class: 'legend-row', 'data-category': name, 'data-count': String(count) },
        [swatch, label, el('span', { class: 'count' }, [count.toLocaleString('en-US')])],
      );
      if (this.hidden.has(i)) row.classList.add('hidden-category');
      swatch.onclick = () => {
        if (this.hidden.has(i)) this.hidden.delete(i);
        else this.hidden.add(i);
        void this.applyHidden(col).then(() => this.renderLegend(col));
      };
      label.onclick = () => {
        const cells: number[] = [];
        for (let k = 0; k < col.codes.length; k++) if (col.codes[k] === i) cells.push(k);
        this.setSelection(cells);
      };
      rows.push(row);
    }
    this.legend.replaceChildren(title, el('div', { class: 'legend-rows' }, rows));
  }

  private selectionChanged(cells: number[]): void {
    this.selected = cells;
    this.selectionInfo.textContent = cells.length
      ? `${cells.length.toLocaleString('en-US')} selected`
      : '';
    this.emit({ type: 'selection', cells });
  }

  private async hover(i: number): Promise<void> {
    const token = ++this.hoverToken;
    const names = await this.obsNames().catch(() => [] as string[]);
    const lines: HTMLElement[] = [el('strong', {}, [names[i] ?? `cell ${i}`])];
    const shown = new Set<string>();
    const wanted = [...(this.colourColumn ? [this.colourColumn] : []), ...this.cache.keys()];
    for (const name of wanted) {
      if (shown.has(name) || shown.size >= 6) continue;
      shown.add(name);
      const col = await this.cache.get(name)?.catch(() => null);
      if (!col) continue;
      const value =
        col.kind === 'categorical'
          ? col.codes[i] < 0
            ? '(missing)'
            : col.categories[col.codes[i]]
          : fmt(col.values[i]);
      lines.push(el('div', {}, [el('span', { class: 'muted' }, [`${name}: `]), value]));
    }
    if (token !== this.hoverToken) return;
    this.tooltip.replaceChildren(...lines);
    this.tooltip.hidden = false;
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || Number.isInteger(v)
    ? String(Math.round(v * 100) / 100)
    : v.toPrecision(3);
}

function pointSize(n: number, canvas: HTMLCanvasElement): number {
  const area = Math.max(1, (canvas.clientWidth || 800) * (canvas.clientHeight || 600));
  return Math.max(1.5, Math.min(8, Math.sqrt(area / Math.max(1, n)) * 0.35));
}

function toColourColumn(c: ObsColumn): ColourColumn | null {
  if (c.kind === 'categorical') {
    return {
      kind: 'categorical',
      codes: c.codes,
      categories: c.categories,
      colors: categoryColors(c.categories),
    };
  }
  if (c.kind === 'bool') {
    const codes = Int32Array.from(c.values, (v, i) => (c.mask?.[i] ? -1 : v ? 1 : 0));
    return {
      kind: 'categorical',
      codes,
      categories: ['False', 'True'],
      colors: categoryColors(['False', 'True']),
    };
  }
  if (c.kind === 'numeric') {
    const values = Float32Array.from(c.values, (v, i) => (c.mask?.[i] ? NaN : v));
    return { kind: 'numeric', values, ...range(values) };
  }
  const categories = [...new Set(c.values.filter((v): v is string => v !== null))].sort();
  if (categories.length > MAX_CATEGORIES) return null;
  const index = new Map(categories.map((v, i) => [v, i]));
  const codes = Int32Array.from(c.values, (v) => (v === null ? -1 : index.get(v)!));
  return { kind: 'categorical', codes, categories, colors: categoryColors(categories) };
}

function range(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 1 };
}

function fromNewColumn(c: NewColumn): ColourColumn {
  if (c.kind === 'numeric') {
    const values = Float32Array.from(c.values);
    const r = c.range ? { min: c.range[0], max: c.range[1] } : range(values);
    return { kind: 'numeric', values, ...r };
  }
  const categories = c.categories
    ? [...c.categories]
    : [...new Set(c.values)].sort((a, b) => a.localeCompare(b));
  const index = new Map(categories.map((v, i) => [v, i]));
  const codes = Int32Array.from(c.values, (v) => index.get(v) ?? -1);
  const colors =
    c.colors && c.colors.length === categories.length ? [...c.colors] : categoryColors(categories);
  return { kind: 'categorical', codes, categories, colors };
}

function toObsColumn(c: ColourColumn): ObsColumn {
  return c.kind === 'categorical'
    ? { kind: 'categorical', codes: c.codes, categories: c.categories, ordered: false }
    : { kind: 'numeric', dtype: 'float32', values: Float64Array.from(c.values) };
}

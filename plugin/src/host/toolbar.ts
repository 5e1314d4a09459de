/**
 * The viewer's top bar: the dataset's name, the embedding and colour-by choosers, the pan/zoom
 * and lasso modes, Reset view, PNG and SVG export, Clear selection and the selection count.
 */
import { el } from '../ui/dom.js';

export type MouseMode = 'panZoom' | 'lasso';

export interface ToolbarActions {
  embedding(key: string): void;
  colorBy(column: string): void;
  mode(mode: MouseMode): void;
  resetView(): void;
  exportPng(): void;
  exportSvg(): void;
  clearSelection(): void;
}

export class Toolbar {
  readonly element: HTMLElement;
  private readonly embedding = el('select', { id: 'embedding', title: 'Embedding (obsm)' });
  private readonly colour = el('select', { id: 'color-by', title: 'Colour by (obs)' });
  private readonly selectionInfo = el('span', { id: 'selection-info', class: 'muted' });

  constructor(datasetName: string, actions: ToolbarActions) {
    const pan = el('button', { id: 'mode-pan', class: 'mode active', title: 'Pan and zoom' }, [
      'Pan/zoom',
    ]);
    const lasso = el(
      'button',
      { id: 'mode-lasso', class: 'mode', title: 'Lasso select (or shift-drag)' },
      ['Lasso'],
    );
    const reset = el('button', { id: 'reset-view', title: 'Show all cells, fitted to the plot' }, [
      'Reset view',
    ]);
    reset.onclick = () => actions.resetView();
    const png = el('button', { id: 'export-png', title: 'Download the plot as a PNG image' }, [
      'PNG',
    ]);
    png.onclick = () => actions.exportPng();
    const svgButton = el(
      'button',
      {
        id: 'export-svg',
        title:
          'Download the plot as an SVG: the points as an embedded image (as the PNG), the ' +
          'frame, axis names, title and legend as vectors',
      },
      ['SVG'],
    );
    svgButton.onclick = () => actions.exportSvg();
    const clear = el('button', { id: 'clear-selection', title: 'Clear the selection' }, [
      'Clear selection',
    ]);
    const setMode = (mode: MouseMode) => {
      actions.mode(mode);
      pan.classList.toggle('active', mode === 'panZoom');
      lasso.classList.toggle('active', mode === 'lasso');
    };
    pan.onclick = () => setMode('panZoom');
    lasso.onclick = () => setMode('lasso');
    clear.onclick = () => actions.clearSelection();
    this.embedding.onchange = () => actions.embedding(this.embedding.value);
    this.colour.onchange = () => actions.colorBy(this.colour.value);
    this.element = el('header', { class: 'topbar' }, [
      el('strong', {}, ['scNym viewer']),
      el('span', { class: 'muted', id: 'dataset-name' }, [datasetName]),
      el('label', {}, ['Embedding ', this.embedding]),
      el('label', {}, ['Colour by ', this.colour]),
      pan,
      lasso,
      reset,
      png,
      svgButton,
      clear,
      this.selectionInfo,
    ]);
  }

  setEmbeddings(keys: readonly string[]): void {
    this.embedding.replaceChildren(...keys.map((k) => el('option', { value: k }, [k])));
  }

  showEmbedding(key: string): void {
    this.embedding.value = key;
  }

  /** Lists the columns; keeps the chosen one if it is still there, else shows `fallback`. */
  setColumns(names: readonly string[], fallback: string | null): void {
    const current = this.colour.value;
    this.colour.replaceChildren(...names.map((n) => el('option', { value: n }, [n])));
    if (current && names.includes(current)) this.colour.value = current;
    else if (fallback) this.colour.value = fallback;
  }

  showColorBy(column: string): void {
    this.colour.value = column;
  }

  showSelection(count: number): void {
    this.selectionInfo.textContent = count ? `${count.toLocaleString('en-US')} selected` : '';
  }
}

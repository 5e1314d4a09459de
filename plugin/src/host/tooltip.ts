/**
 * The hover tooltip: the cell's name and its values in the colour column and the other columns
 * read so far (at most 6), next to the mouse. Hovers are asynchronous; a later one wins.
 */
import { el } from '../ui/dom.js';
import { formatValue, type ColourColumn } from './columns.js';

const MAX_COLUMNS = 6;

export class Tooltip {
  readonly element = el('div', { class: 'tooltip', id: 'tooltip', hidden: '' });
  private token = 0;

  /** Follows the mouse over `canvas` (the tooltip's parent is positioned like it). */
  constructor(canvas: HTMLCanvasElement) {
    canvas.addEventListener('mousemove', (e) => {
      const box = canvas.getBoundingClientRect();
      this.element.style.left = `${e.clientX - box.left + 14}px`;
      this.element.style.top = `${e.clientY - box.top + 14}px`;
    });
  }

  /**
   * Shows cell `i`: `names` are the obs names, `columns` lists the columns to show in order
   * once the names are there (repeats are skipped), `column` reads one.
   */
  async show(
    i: number,
    names: Promise<string[]>,
    columns: () => readonly string[],
    column: (name: string) => Promise<ColourColumn | null> | undefined,
  ): Promise<void> {
    const token = ++this.token;
    const cellNames = await names.catch(() => [] as string[]);
    const lines: HTMLElement[] = [el('strong', {}, [cellNames[i] ?? `cell ${i}`])];
    const shown = new Set<string>();
    for (const name of columns()) {
      if (shown.has(name) || shown.size >= MAX_COLUMNS) continue;
      shown.add(name);
      const col = await column(name)?.catch(() => null);
      if (!col) continue;
      const value =
        col.kind === 'categorical'
          ? col.codes[i] < 0
            ? '(missing)'
            : col.categories[col.codes[i]]
          : formatValue(col.values[i]);
      lines.push(el('div', {}, [el('span', { class: 'muted' }, [`${name}: `]), value]));
    }
    if (token !== this.token) return;
    this.element.replaceChildren(...lines);
    this.element.hidden = false;
  }

  hide(): void {
    this.token++;
    this.element.hidden = true;
  }
}

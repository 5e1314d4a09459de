/**
 * The legend of the colour column: a viridis ramp with its range for numbers; for categories a
 * row each with its colour and cell count, where the swatch hides or shows the category and the
 * name selects its cells (and, where the column's owner allows, a pencil renames it).
 */
import { MISSING_COLOR, viridis } from '../ui/colors.js';
import { el } from '../ui/dom.js';
import { formatValue, NUMERIC_STEPS, type ColourColumn } from './columns.js';

export interface LegendActions {
  /** Hides a shown category or shows a hidden one (code -1: the missing values). */
  toggle(code: number): void;
  select(cells: number[]): void;
  /** Renames category `code` (absent: the column's categories cannot be renamed here). */
  rename?(code: number, name: string): void;
}

export function renderLegend(
  legend: HTMLElement,
  name: string | null,
  col: ColourColumn | null,
  hidden: ReadonlySet<number>,
  actions: LegendActions,
): void {
  const title = el('h2', {}, [name ?? 'No colour']);
  if (!col) legend.replaceChildren(title);
  else if (col.kind === 'numeric') legend.replaceChildren(title, ...ramp(col.min, col.max));
  else
    legend.replaceChildren(title, el('div', { class: 'legend-rows' }, rows(col, hidden, actions)));
}

function ramp(min: number, max: number): HTMLElement[] {
  const stops = viridis(NUMERIC_STEPS);
  return [
    el('div', {
      class: 'ramp',
      style: `background: linear-gradient(to right, ${stops.join(', ')})`,
    }),
    el('div', { class: 'ramp-labels' }, [
      el('span', {}, [formatValue(min)]),
      el('span', {}, [formatValue(max)]),
    ]),
  ];
}

function rows(
  col: Extract<ColourColumn, { kind: 'categorical' }>,
  hidden: ReadonlySet<number>,
  actions: LegendActions,
): HTMLElement[] {
  const missing = col.categories.length;
  const counts = new Int32Array(missing + 1);
  const codes = col.codes;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    counts[c < 0 || c > missing ? missing : c]++;
  }
  const entries = col.categories.map((name, i) => ({ name, i, color: col.colors[i] }));
  if (counts[missing] > 0) entries.push({ name: '(missing)', i: -1, color: MISSING_COLOR });
  const out: HTMLElement[] = [];
  for (const { name, i, color } of entries) {
    const count = counts[i < 0 ? missing : i];
    if (count === 0 && i >= 0) continue;
    const swatch = el('button', {
      class: 'swatch',
      title: 'Show or hide',
      style: `background:${hidden.has(i) ? 'transparent' : color}; border-color:${color}`,
    });
    const label = el('button', { class: 'name', title: 'Highlight (select) these cells' }, [name]);
    const row = el(
      'div',
      { class: 'legend-row', 'data-category': name, 'data-count': String(count) },
      [swatch, label, el('span', { class: 'count' }, [count.toLocaleString('en-US')])],
    );
    if (hidden.has(i)) row.classList.add('hidden-category');
    swatch.onclick = () => actions.toggle(i);
    label.onclick = () => {
      const cells: number[] = [];
      for (let k = 0; k < col.codes.length; k++) if (col.codes[k] === i) cells.push(k);
      actions.select(cells);
    };
    if (actions.rename && i >= 0) row.append(renameButton(label, name, i, actions.rename));
    out.push(row);
  }
  return out;
}

/** A pencil that turns the name into a text field: Enter (or leaving it) renames, Escape not. */
function renameButton(
  label: HTMLElement,
  name: string,
  code: number,
  rename: (code: number, name: string) => void,
): HTMLElement {
  const pencil = el('button', { class: 'rename', title: `Rename ${name}` }, ['✎']);
  pencil.onclick = () => {
    const input = el('input', { class: 'rename-input', value: name, 'aria-label': 'New name' });
    let done = false;
    const finish = (commit: boolean) => {
      if (done) return;
      done = true;
      const next = input.value.trim();
      input.replaceWith(label);
      if (commit && next && next !== name) rename(code, next);
    };
    input.onkeydown = (e) => {
      if (e.key === 'Enter') finish(true);
      else if (e.key === 'Escape') finish(false);
    };
    input.onblur = () => finish(true);
    label.replaceWith(input);
    input.select();
  };
  return pencil;
}

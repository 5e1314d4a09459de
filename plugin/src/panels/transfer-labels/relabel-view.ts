/**
 * The Relabel-by-hand section: a label (one of the classes or a new one) for the cells of the
 * lasso selection.
 */
import type { ViewerApi } from '../../host/api.js';
import { el } from '../../ui/dom.js';
import { LABEL } from './keys.js';

export class RelabelView {
  readonly element: HTMLElement;
  private readonly options = el('datalist', { id: 'tl-relabel-options' });

  /** `relabel` gives the cells the label and returns the number of edits so far. */
  constructor(api: ViewerApi, relabel: (cells: number[], name: string) => number) {
    const input = el('input', {
      id: 'tl-relabel-name',
      list: 'tl-relabel-options',
      placeholder: 'label',
    });
    const apply = el('button', { id: 'tl-relabel-apply' }, ['Relabel selection']);
    const info = el('div', { id: 'tl-relabel-info', class: 'small muted' });
    apply.onclick = () => {
      const name = input.value.trim();
      const cells = api.selection();
      if (!name || cells.length === 0) {
        info.textContent = 'lasso some cells and type a label first';
        return;
      }
      const edited = relabel(cells, name);
      void api.colorBy(LABEL).then(() => {
        info.textContent = `${cells.length} cells relabelled '${name}' (${edited} edits in all)`;
      });
    };
    this.element = el('div', { class: 'section' }, [
      el('h3', {}, ['Relabel by hand']),
      el('div', { class: 'buttons' }, [input, this.options, apply]),
      info,
    ]);
  }

  setClasses(names: readonly string[]): void {
    this.options.replaceChildren(...names.map((c) => el('option', { value: c })));
  }
}

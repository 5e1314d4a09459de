/**
 * The Relabel-by-hand section: a label (one of the classes or a new one) for the cells of the
 * lasso selection, and undo / redo of the edits (buttons, Ctrl+Z and Ctrl+Shift+Z or Ctrl+Y
 * outside text fields).
 */
import type { ViewerApi } from '../../host/api.js';
import { el } from '../../ui/dom.js';
import type { LabelEdits } from './label-edits.js';

export interface RelabelActions {
  /** Gives the cells the label; resolves with the labels after it (null: nothing annotated). */
  relabel(cells: number[], name: string): Promise<LabelEdits | null>;
  undo(): Promise<LabelEdits | null>;
  redo(): Promise<LabelEdits | null>;
}

export class RelabelView {
  readonly element: HTMLElement;
  private readonly options = el('datalist', { id: 'tl-relabel-options' });
  private readonly undo = el('button', { id: 'tl-undo', title: 'Undo (Ctrl+Z)', disabled: true }, [
    'Undo',
  ]);
  private readonly redo = el(
    'button',
    { id: 'tl-redo', title: 'Redo (Ctrl+Shift+Z)', disabled: true },
    ['Redo'],
  );
  private readonly info = el('div', { id: 'tl-relabel-info', class: 'small muted' });

  constructor(api: ViewerApi, actions: RelabelActions) {
    const input = el('input', {
      id: 'tl-relabel-name',
      list: 'tl-relabel-options',
      placeholder: 'label',
    });
    const apply = el('button', { id: 'tl-relabel-apply' }, ['Relabel selection']);
    apply.onclick = () => {
      const name = input.value.trim();
      const cells = api.selection();
      if (!name || cells.length === 0) {
        this.info.textContent = 'lasso some cells and type a label first';
        return;
      }
      void actions.relabel(cells, name).then((labels) => {
        if (labels) {
          this.info.textContent = `${cells.length} cells relabelled '${name}' (${labels.edited} edits in all)`;
        }
      });
    };
    const undo = () => void actions.undo().then((l) => l && this.said('undone', l));
    const redo = () => void actions.redo().then((l) => l && this.said('redone', l));
    this.undo.onclick = undo;
    this.redo.onclick = redo;
    document.addEventListener('keydown', (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || typing(e.target)) return;
      const key = e.key.toLowerCase();
      if (key === 'z' && !e.shiftKey) undo();
      else if ((key === 'z' && e.shiftKey) || key === 'y') redo();
      else return;
      e.preventDefault();
    });
    this.element = el('div', { class: 'section' }, [
      el('h3', {}, ['Relabel by hand']),
      el('div', { class: 'buttons' }, [input, this.options, apply]),
      el('div', { class: 'buttons' }, [this.undo, this.redo]),
      this.info,
    ]);
  }

  setClasses(names: readonly string[]): void {
    this.options.replaceChildren(...names.map((c) => el('option', { value: c })));
  }

  say(message: string): void {
    this.info.textContent = message;
  }

  /** Enables undo and redo as the edits allow. */
  showHistory(labels: LabelEdits): void {
    this.undo.disabled = !labels.canUndo;
    this.redo.disabled = !labels.canRedo;
  }

  private said(what: string, labels: LabelEdits): void {
    this.info.textContent = `${what} (${labels.edited} edits in all)`;
  }
}

/** Keys typed into a field are its own (its undo is the browser's). */
function typing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  );
}

/**
 * The Correct-and-retrain section: "Retrain with my corrections" trains again with the cells
 * relabelled by hand joining the reference as labelled cells; the hand labels stay, the rest of
 * the query takes the new prediction, and the cells whose label moved are counted, listed by
 * move and selectable.
 */
import type { ViewerApi } from '../../host/api.js';
import { el } from '../../ui/dom.js';

/** How many moves (from → to) are listed. */
const LISTED_MOVES = 5;

export class RetrainView {
  readonly element: HTMLElement;
  private readonly button = el('button', { id: 'tl-retrain' }, ['Retrain with my corrections']);
  private readonly info = el('div', { id: 'tl-retrain-info', class: 'small muted' });
  private readonly moves = el('ul', { id: 'tl-retrain-moves', class: 'small' });
  private readonly select = el('button', { id: 'tl-retrain-select', hidden: '' }, [
    'Select the cells that moved',
  ]);
  private moved: number[] = [];

  constructor(
    private readonly api: ViewerApi,
    retrain: () => string | null,
  ) {
    this.button.onclick = () => {
      const problem = retrain();
      if (problem) this.say(problem);
    };
    this.select.onclick = () => this.api.setSelection(this.moved);
    this.element = el('div', { class: 'section' }, [
      el('h3', {}, ['Correct and retrain']),
      el('div', { class: 'small muted' }, [
        'Trains again with the cells you relabelled as labelled cells beside the reference; ' +
          'they keep your labels, the other cells are predicted again.',
      ]),
      el('div', { class: 'buttons' }, [this.button, this.select]),
      this.info,
      this.moves,
    ]);
  }

  say(message: string): void {
    this.info.textContent = message;
  }

  setBusy(busy: boolean): void {
    this.button.disabled = busy;
  }

  /**
   * After a retrain: the labels before and after (names per cell through codes), and the
   * number of hand-labelled cells trained on.
   */
  showChanges(
    before: { codes: Int32Array; categories: readonly string[] },
    after: { codes: Int32Array; categories: readonly string[] },
    nCorrections: number,
  ): void {
    const moved: number[] = [];
    const byMove = new Map<string, number>();
    for (let i = 0; i < before.codes.length; i++) {
      const from = before.categories[before.codes[i]];
      const to = after.categories[after.codes[i]];
      if (from === to) continue;
      moved.push(i);
      const key = `${from} → ${to}`;
      byMove.set(key, (byMove.get(key) ?? 0) + 1);
    }
    this.moved = moved;
    const n = (v: number) => v.toLocaleString('en-US');
    this.say(
      `retrained with ${n(nCorrections)} hand-labelled cells: ${n(moved.length)} other cells ` +
        'moved class',
    );
    this.info.dataset.moved = String(moved.length);
    this.select.hidden = moved.length === 0;
    this.moves.replaceChildren(
      ...[...byMove]
        .sort((a, b) => b[1] - a[1])
        .slice(0, LISTED_MOVES)
        .map(([move, count]) => el('li', {}, [`${move}: ${n(count)}`])),
    );
  }
}

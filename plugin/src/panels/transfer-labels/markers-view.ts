/**
 * The Marker genes section: a class, an attribution method and optionally the lasso selection
 * (then the genes behind the class's score in the selected cells only); the worker answers with
 * the top genes, drawn by the chart VS Code's saliency page draws (signed bars, values, axis;
 * alert colour when negative), under a line saying which cells, and how many of them, it used.
 */
import type { ViewerApi } from '../../host/api.js';
import type { ClassMarkers } from '../../shared/markers-record.js';
import type { FromWorker, SaliencyRequest } from '../../shared/worker-messages.js';
import { ACCENT, ALERT } from '../../ui/colors.js';
import { el } from '../../ui/dom.js';
import { exportButtons } from '../../ui/export.js';
import { saliencyChart } from '../../ui/saliency-chart.js';
import { row } from './form-view.js';

export type SaliencyResult = Extract<FromWorker, { type: 'saliency' }>;

const TOP = 15;

export class MarkersView {
  readonly element: HTMLElement;
  private readonly classes = el('select', { id: 'tl-saliency-class' });
  private readonly chart = el('div', { id: 'tl-saliency-chart', class: 'chart' });
  private readonly byClass = new Map<string, ClassMarkers>();
  /** The class the chart explains (names its export). */
  private shownClass = '';

  constructor(api: ViewerApi, ask: (request: SaliencyRequest) => void) {
    const method = el('select', { id: 'tl-saliency-method' }, [
      el('option', { value: 'gradient' }, ['gradient']),
      el('option', { value: 'integrated' }, ['integrated gradients']),
      el('option', { value: 'expected' }, ['expected gradients']),
    ]);
    const useSelection = el('input', { id: 'tl-saliency-selection', type: 'checkbox' });
    const selected = el('span', { id: 'tl-saliency-selected' }, ['(none selected)']);
    api.onSelect((cells) => {
      selected.textContent = `(${cells.length ? cells.length.toLocaleString('en-US') : 'none'} selected)`;
    });
    const show = el('button', { id: 'tl-saliency-run' }, ['Show marker genes']);
    show.onclick = () => {
      const cells = useSelection.checked ? api.selection() : [];
      this.chart.textContent = 'computing…';
      ask({
        type: 'saliency',
        className: this.classes.value,
        cells,
        method: method.value as SaliencyRequest['method'],
        top: TOP,
      });
    };
    // A class with saved markers shows them until asked again.
    this.classes.onchange = () => {
      const saved = this.byClass.get(this.classes.value);
      if (saved) this.draw(saved, `${saved.nCells.toLocaleString('en-US')} cells (saved)`);
    };
    // A gene's bar or name colours the cells by it (where the viewer reads genes).
    this.chart.onclick = (e) => {
      const name = (e.target as Element).closest('[data-gene]')?.getAttribute('data-gene');
      if (name && api.colorByGene) void api.colorByGene(name);
    };
    this.element = el('div', { class: 'section' }, [
      el('h3', {}, ['Marker genes']),
      row('Class', this.classes),
      row('Method', method),
      el(
        'label',
        {
          class: 'small',
          title:
            'Explain the class above in the selected cells only (not in all the cells ' +
            'predicted as it): the genes that make the model call these cells that class',
        },
        [useSelection, ' only the selected cells ', selected],
      ),
      el('div', { class: 'buttons' }, [show]),
      this.chart,
      el('div', { class: 'buttons', hidden: true, id: 'tl-saliency-export' }, [
        exportButtons(
          'tl-saliency-export',
          () => this.chart.querySelector('svg'),
          () => [api.data().dataset.name, 'markers', this.shownClass].filter(Boolean).join('.'),
        ),
      ]),
    ]);
  }

  /** Where a request is (reading cells, explaining), in place of the chart until it comes. */
  progress(message: string): void {
    this.element.querySelector<HTMLElement>('#tl-saliency-export')!.hidden = true;
    this.chart.textContent = message;
  }

  setClasses(names: readonly string[]): void {
    this.classes.replaceChildren(...names.map((c) => el('option', { value: c }, [c])));
  }

  /** The class-wide markers shown (not a selection's), by class: Save records them. */
  shown(): ClassMarkers[] {
    return [...this.byClass.values()];
  }

  /** Markers saved with the predictions: kept for the next Save, the first one drawn. */
  restore(markers: readonly ClassMarkers[]): void {
    for (const m of markers) this.byClass.set(m.className, m);
    const first = markers.find((m) => this.hasClass(m.className)) ?? markers[0];
    if (!first) return;
    this.classes.value = first.className;
    this.draw(first, `${first.nCells.toLocaleString('en-US')} cells (saved)`);
  }

  /** Forgets the markers (a new prediction). */
  clear(): void {
    this.byClass.clear();
    this.chart.replaceChildren();
  }

  private hasClass(name: string): boolean {
    return [...this.classes.options].some((o) => o.value === name);
  }

  show(m: SaliencyResult): void {
    if (!m.selection) {
      const { className, method, nCells, genes, scores } = m;
      this.byClass.set(className, { className, method, nCells, genes, scores });
    }
    this.shownClass = m.className;
    this.element.querySelector<HTMLElement>('#tl-saliency-export')!.hidden = false;
    const count =
      m.nCells < m.nMatching
        ? `${m.nCells.toLocaleString('en-US')} of ${m.nMatching.toLocaleString('en-US')} cells`
        : `${m.nCells.toLocaleString('en-US')} cells`;
    const which = m.selection ? 'selected' : `predicted ${m.className}`;
    const sample = m.nCells < m.nMatching ? ', a random sample' : '';
    this.draw(m, `${count} (${which}${sample})`);
  }

  private draw(m: Pick<ClassMarkers, 'className' | 'method' | 'genes' | 'scores'>, how: string) {
    this.chart.replaceChildren(
      el('div', { class: 'small muted', id: 'tl-saliency-caption' }, [
        `${m.className} · ${m.method} · ${how}`,
      ]),
      saliencyChart(m.genes, m.scores, {
        width: 270,
        row: 15,
        fontSize: 10,
        colour: (score) => (score >= 0 ? ACCENT : ALERT),
        sized: true,
        attrs: { id: 'tl-saliency-svg', class: 'chart' },
      }),
    );
  }
}

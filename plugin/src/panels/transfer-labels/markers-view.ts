/**
 * The Marker genes section: a class, an attribution method and optionally the lasso selection;
 * the worker answers with the top genes, drawn as bars of their score's size (alert colour
 * when negative).
 */
import type { ViewerApi } from '../../host/api.js';
import type { FromWorker, SaliencyRequest } from '../../shared/worker-messages.js';
import { barChart } from '../../ui/bar-chart.js';
import { ACCENT, ALERT } from '../../ui/colors.js';
import { el } from '../../ui/dom.js';
import { row } from './form-view.js';

export type SaliencyResult = Extract<FromWorker, { type: 'saliency' }>;

const TOP = 15;

export class MarkersView {
  readonly element: HTMLElement;
  private readonly classes = el('select', { id: 'tl-saliency-class' });
  private readonly chart = el('div', { id: 'tl-saliency-chart', class: 'chart' });

  constructor(api: ViewerApi, ask: (request: SaliencyRequest) => void) {
    const method = el('select', { id: 'tl-saliency-method' }, [
      el('option', { value: 'gradient' }, ['gradient']),
      el('option', { value: 'integrated' }, ['integrated gradients']),
      el('option', { value: 'expected' }, ['expected gradients']),
    ]);
    const useSelection = el('input', { id: 'tl-saliency-selection', type: 'checkbox' });
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
    // A gene's bar or name colours the cells by it (where the viewer reads genes).
    this.chart.onclick = (e) => {
      const gene = (e.target as Element).closest('g')?.querySelector('[data-gene]');
      const name = gene?.getAttribute('data-gene');
      if (name && api.colorByGene) void api.colorByGene(name);
    };
    this.element = el('div', { class: 'section' }, [
      el('h3', {}, ['Marker genes']),
      row('Class', this.classes),
      row('Method', method),
      el('label', { class: 'small' }, [useSelection, ' use the lasso selection']),
      el('div', { class: 'buttons' }, [show]),
      this.chart,
    ]);
  }

  setClasses(names: readonly string[]): void {
    this.classes.replaceChildren(...names.map((c) => el('option', { value: c }, [c])));
  }

  show(m: SaliencyResult): void {
    const { genes, scores } = m;
    const items = genes.map((name, i) => ({
      name,
      value: Math.abs(scores[i]),
      color: scores[i] >= 0 ? ACCENT : ALERT,
    }));
    this.chart.replaceChildren(
      el('div', { class: 'small muted' }, [`${m.className} · ${m.method} · ${m.nCells} cells`]),
      barChart(items, {
        width: 260,
        margin: { top: 0, right: 4, bottom: 4, left: 80 },
        row: 14,
        bar: { y: 2, height: 11 },
        text: { y: 11, size: 10 },
        nameGap: 4,
        minBar: 1,
        sized: true,
        attrs: { id: 'tl-saliency-svg' },
        barAttrs: (item) => ({ class: 'saliency-bar', 'data-gene': item.name }),
        title: (item, i) => `${item.name}: ${scores[i].toPrecision(3)}`,
      }),
    );
  }
}

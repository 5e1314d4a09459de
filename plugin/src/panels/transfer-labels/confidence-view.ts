/**
 * The Confidence section: colour the cells by prediction or by confidence, the histogram of the
 * confidences (the plot's ramp, the bins below the threshold outlined; the threshold is core's
 * for every front end), and a button selecting the cells below it.
 */
import type { ViewerApi } from '../../host/api.js';
import { LOW_CONFIDENCE_THRESHOLD } from '@scnym/core/vocabulary';
import { el } from '../../ui/dom.js';
import { histogram, unitBins } from '../../ui/histogram.js';
import { HELP } from './help.js';
import { CONFIDENCE, LABEL, NOVELTY } from './keys.js';

const BINS = 20;
const FRAME = { width: 260, height: 80, top: 4, right: 0, bottom: 14, left: 0 };

export class ConfidenceView {
  readonly element: HTMLElement;
  private readonly threshold = el('input', {
    id: 'tl-threshold',
    type: 'number',
    min: '0',
    max: '1',
    step: '0.05',
    value: String(LOW_CONFIDENCE_THRESHOLD),
  });
  private readonly chart = el('div', { id: 'tl-histogram', class: 'chart' });
  private readonly colourNovelty = el(
    'button',
    { id: 'tl-colour-novelty', title: HELP.novelty, hidden: '' },
    ['Colour by novelty'],
  );
  private confidence: Float32Array | null = null;
  /** The status line tells of our selection: once the selection changes it is out of date. */
  private said = false;
  private selecting = false;

  constructor(private readonly api: ViewerApi) {
    const colour = el('button', { id: 'tl-colour-confidence' }, ['Colour by confidence']);
    const colourLabel = el('button', { id: 'tl-colour-label' }, ['Colour by prediction']);
    this.colourNovelty.onclick = () => void api.colorBy(NOVELTY);
    const selectLow = el('button', { id: 'tl-select-low' }, ['Highlight low-confidence cells']);
    colour.onclick = () => void api.colorBy(CONFIDENCE);
    colourLabel.onclick = () => void api.colorBy(LABEL);
    this.threshold.oninput = () => this.draw();
    selectLow.onclick = () => this.selectLow();
    api.onSelect((cells) => {
      if (this.selecting || !this.said) return;
      this.said = false;
      api.status(cells.length ? `${cells.length.toLocaleString('en-US')} cells selected` : '');
    });
    this.element = el('div', { class: 'section' }, [
      el('h3', { title: HELP.confidence }, ['Confidence']),
      el('div', { class: 'buttons' }, [colourLabel, colour, this.colourNovelty]),
      this.chart,
      el('div', { class: 'buttons' }, [el('label', {}, ['below ', this.threshold]), selectLow]),
    ]);
  }

  /** The confidences; `novelty`: whether the dataset has the novelty column to colour by. */
  show(confidence: Float32Array, novelty: boolean): void {
    this.confidence = confidence;
    this.colourNovelty.hidden = !novelty;
    this.draw();
  }

  private selectLow(): void {
    if (!this.confidence) return;
    const t = Number(this.threshold.value);
    const cells: number[] = [];
    this.confidence.forEach((c, i) => {
      if (c < t) cells.push(i);
    });
    this.selecting = true;
    this.api.setSelection(cells);
    this.selecting = false;
    this.api.status(`${cells.length.toLocaleString('en-US')} cells below confidence ${t}`);
    this.said = true;
  }

  private draw(): void {
    if (!this.confidence) return;
    this.chart.replaceChildren(
      histogram(unitBins(this.confidence, BINS), {
        frame: FRAME,
        threshold: Number(this.threshold.value),
        title: 'confidence',
        binTitle: (lo, hi, count) => `${lo.toFixed(2)}–${hi.toFixed(2)}: ${count} cells`,
        labels: 'ends',
        attrs: { width: FRAME.width, height: FRAME.height },
      }),
    );
  }
}

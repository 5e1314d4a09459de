/**
 * The Compare section: the labels (predictions with the hand edits) against a label column the
 * query already holds, scored by core's evaluation (@scnym/core/scores, what `scnym evaluate`
 * and VS Code report) in the panel's worker (compare-scores.ts), so an edit at a million cells
 * does not hold the page: a confusion matrix whose cells select their cells on the plot, and
 * precision, recall and mean confidence per class.
 */
import type { ObsColumn } from '@scnym/core/anndata';
import type { EvaluationReport } from '@scnym/core/scores';
import { UNKNOWN_LABEL } from '@scnym/core/vocabulary';
import type { ViewerApi } from '../../host/api.js';
import type { FromWorker, ScoreRequest } from '../../shared/worker-messages.js';
import { el } from '../../ui/dom.js';
import type { CodedLabels } from './compare-scores.js';
import { CONFIDENCE, LABEL } from './keys.js';

/** The labels as they stand: a code per cell into `categories`, and the confidences. */
export interface CurrentLabels {
  codes: Int32Array;
  categories: readonly string[];
  confidence: Float32Array;
}

export class CompareView {
  readonly element: HTMLElement;
  private readonly truthKey = el('select', { id: 'tl-compare-truth' });
  private readonly out = el('div', { id: 'tl-compare' });
  private labels: CurrentLabels | null = null;
  /** The chosen column as codes into names (−1: no label). */
  private truth: (CodedLabels & { key: string; names: string[] }) | null = null;
  /** The latest scoring asked of the worker (older answers are dropped). */
  private asked = 0;

  /** `score` sends a request to the panel's worker; its answer comes to `showScores`. */
  constructor(
    private readonly api: ViewerApi,
    private readonly score: (request: ScoreRequest) => void,
  ) {
    this.truthKey.onchange = () => void this.choose(this.truthKey.value);
    this.element = el('div', { class: 'section', id: 'tl-compare-section' }, [
      el('h3', {}, ['Compare with a label column']),
      el('div', { class: 'row' }, [
        el('label', { for: 'tl-compare-truth' }, ['Known labels']),
        this.truthKey,
      ]),
      this.out,
    ]);
  }

  /** New labels (a result, or an edit): lists the columns once, then scores them again. */
  show(labels: CurrentLabels): void {
    this.labels = labels;
    if (this.truthKey.options.length === 0) this.listColumns();
    this.draw();
  }

  private listColumns(): void {
    const own = new Set([LABEL, CONFIDENCE]);
    const names = this.api
      .data()
      .columns()
      .filter((c) => c.kind === 'categorical' && !own.has(c.name))
      .map((c) => c.name);
    this.truthKey.replaceChildren(
      el('option', { value: '' }, [names.length ? '(choose a column)' : '(no categorical column)']),
      ...names.map((n) => el('option', { value: n }, [n])),
    );
  }

  private async choose(key: string): Promise<void> {
    this.truth = null;
    if (key) {
      this.out.replaceChildren(el('div', { class: 'small muted' }, [`reading obs/${key}…`]));
      const coded = codedLabels(await this.api.data().obsColumn(key));
      if (this.truthKey.value !== key) return; // another column was chosen meanwhile
      this.truth = { key, ...coded };
    }
    this.draw();
  }

  /** Asks the worker to score the labels as they stand (the tables stay until it answers). */
  private draw(): void {
    const { labels, truth } = this;
    this.asked++;
    if (!labels || !truth) {
      this.out.replaceChildren();
      return;
    }
    if (!this.out.hasChildNodes()) {
      this.out.replaceChildren(el('div', { class: 'small muted' }, ['scoring…']));
    }
    // Copies: the page keeps its arrays; the structured clone of three buffers is a few ms.
    this.score({
      type: 'score',
      id: this.asked,
      truth: { codes: truth.codes, names: truth.names },
      labels: { codes: labels.codes, names: [...labels.categories] },
      confidence: labels.confidence,
    });
  }

  /** The worker's answer: drawn if it is for the labels and column shown now. */
  showScores(m: Extract<FromWorker, { type: 'scores' }>): void {
    const { labels, truth } = this;
    if (m.id !== this.asked || !labels || !truth) return;
    const report = m.report;
    if (!report) {
      this.out.replaceChildren(
        el('div', { class: 'small error' }, [`could not score: ${m.error ?? 'unknown error'}`]),
      );
      return;
    }
    this.out.replaceChildren(
      el('div', { id: 'tl-compare-summary', class: 'small' }, [
        `${report.nCells.toLocaleString('en-US')} cells with a '${truth.key}' label: ` +
          `accuracy ${pct(report.accuracy)}, balanced ${pct(report.balancedAccuracy)}`,
      ]),
      confusionTable(report, (row, column) => this.select(row, column, labels, truth)),
      classTable(report),
    );
  }

  /** Selects the cells of one confusion-matrix entry: known label `row`, label `column`. */
  private select(row: string, column: string, labels: CurrentLabels, truth: CodedLabels): void {
    const knownCode = truth.names.indexOf(row);
    // the labels' codes that read as `column` (a code with no name reads 'Unknown')
    const isColumn = labels.categories.map((c) => c === column);
    const unknown = column === UNKNOWN_LABEL;
    const cells: number[] = [];
    for (let i = 0; i < labels.codes.length; i++) {
      if (truth.codes[i] !== knownCode) continue;
      const c = labels.codes[i];
      if (isColumn[c] ?? unknown) cells.push(i);
    }
    this.api.setSelection(cells);
    this.api.status(
      `${cells.length.toLocaleString('en-US')} cells: known ${row}, labelled ${column}`,
    );
  }
}

/** A column's values as codes into names (−1: missing); numbers become their text. */
function codedLabels(c: ObsColumn): { codes: Int32Array; names: string[] } {
  if (c.kind === 'categorical') return { codes: c.codes, names: [...c.categories] };
  const n = c.values.length;
  const codes = new Int32Array(n);
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let name: string | null;
    if (c.kind === 'string') name = c.values[i];
    else name = c.mask?.[i] ? null : String(c.kind === 'bool' ? c.values[i] === 1 : c.values[i]);
    if (name === null) {
      codes[i] = -1;
      continue;
    }
    let k = index.get(name);
    if (k === undefined) index.set(name, (k = index.size));
    codes[i] = k;
  }
  return { codes, names: [...index.keys()] };
}

function confusionTable(
  report: EvaluationReport,
  select: (row: string, column: string) => void,
): HTMLElement {
  const { rows, columns, counts } = report.confusion;
  const head = el('tr', {}, [
    el('th', { class: 'corner', title: 'rows: known labels · columns: labels' }, [
      'known \\ label',
    ]),
    ...columns.map((c) => el('th', { class: 'cm-column', title: c }, [el('span', {}, [c])])),
  ]);
  const body = rows.map((row, r) => {
    const total = counts[r].reduce((s, v) => s + v, 0);
    return el('tr', {}, [
      el('th', { class: 'cm-row', title: row }, [row]),
      ...columns.map((column, c) => {
        const count = counts[r][c];
        const share = total ? count / total : 0;
        const cell = el(
          'button',
          {
            class: `cm-cell${row === column ? ' diagonal' : ''}`,
            'data-row': row,
            'data-column': column,
            'data-count': String(count),
            title: `${count} cells known as ${row}, labelled ${column}: click to select them`,
            style: `background: rgba(58, 110, 165, ${(0.08 + 0.8 * share).toFixed(3)}); color: ${share > 0.5 ? '#fff' : '#222'}`,
          },
          [count ? String(count) : ''],
        );
        cell.onclick = () => select(row, column);
        return el('td', {}, [cell]);
      }),
    ]);
  });
  return el('table', { id: 'tl-confusion', class: 'confusion' }, [
    el('thead', {}, [head]),
    el('tbody', {}, body),
  ]);
}

function classTable(report: EvaluationReport): HTMLElement {
  const rows = report.classes.map((c) =>
    el('tr', { 'data-class': c.name }, [
      el('th', { title: c.name }, [c.name]),
      el('td', {}, [pct(c.precision)]),
      el('td', {}, [pct(c.recall)]),
      el('td', {}, [Number.isNaN(c.meanConfidence) ? '–' : c.meanConfidence.toFixed(2)]),
      el('td', {}, [String(c.support)]),
    ]),
  );
  return el('table', { id: 'tl-class-scores', class: 'class-scores small' }, [
    el('thead', {}, [
      el('tr', {}, [
        el('th', {}, ['class']),
        el('th', { title: 'of the cells labelled so, known as so' }, ['precision']),
        el('th', { title: 'of the cells known as so, labelled so' }, ['recall']),
        el('th', { title: 'mean confidence of the cells labelled so' }, ['conf.']),
        el('th', { title: 'cells known as so' }, ['cells']),
      ]),
    ]),
    el('tbody', {}, rows),
  ]);
}

function pct(v: number): string {
  return Number.isNaN(v) ? '–' : `${(100 * v).toFixed(1)}%`;
}

/**
 * The Compare section: the labels (predictions with the hand edits) against a label column the
 * query already holds, scored by core's evaluation (@scnym/core/scores, what `scnym evaluate`
 * and VS Code report): a confusion matrix whose cells select their cells on the plot, and
 * precision, recall and mean confidence per class.
 */
import type { ObsColumn } from '@scnym/core/anndata';
import { evaluatePredictions, type EvaluationReport } from '@scnym/core/scores';
import { UNKNOWN_LABEL } from '@scnym/core/vocabulary';
import type { ViewerApi } from '../../host/api.js';
import { el } from '../../ui/dom.js';
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
  /** The chosen column, a name (or null: no label) per cell. */
  private truth: { key: string; names: (string | null)[] } | null = null;

  constructor(private readonly api: ViewerApi) {
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
      const names = labelNames(await this.api.data().obsColumn(key));
      if (this.truthKey.value !== key) return; // another column was chosen meanwhile
      this.truth = { key, names };
    }
    this.draw();
  }

  private draw(): void {
    const { labels, truth } = this;
    if (!labels || !truth) {
      this.out.replaceChildren();
      return;
    }
    const predicted = predictedNames(labels);
    const report = evaluatePredictions({
      truth: truth.names,
      predicted,
      confidence: labels.confidence,
    });
    this.out.replaceChildren(
      el('div', { id: 'tl-compare-summary', class: 'small' }, [
        `${report.nCells.toLocaleString('en-US')} cells with a '${truth.key}' label: ` +
          `accuracy ${pct(report.accuracy)}, balanced ${pct(report.balancedAccuracy)}`,
      ]),
      confusionTable(report, (row, column) => this.select(row, column, predicted)),
      classTable(report),
    );
  }

  /** Selects the cells of one confusion-matrix entry: known label `row`, label `column`. */
  private select(row: string, column: string, predicted: readonly string[]): void {
    const names = this.truth!.names;
    const cells: number[] = [];
    for (let i = 0; i < names.length; i++) {
      if (names[i] === row && predicted[i] === column) cells.push(i);
    }
    this.api.setSelection(cells);
    this.api.status(
      `${cells.length.toLocaleString('en-US')} cells: known ${row}, labelled ${column}`,
    );
  }
}

/** A label per cell ('Unknown' where a cell has none). */
function predictedNames({ codes, categories }: CurrentLabels): string[] {
  const out = new Array<string>(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = categories[codes[i]] ?? UNKNOWN_LABEL;
  return out;
}

/** A column's values as names (null: missing); numbers become their text. */
function labelNames(c: ObsColumn): (string | null)[] {
  const n = c.kind === 'categorical' ? c.codes.length : c.values.length;
  const out = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    if (c.kind === 'categorical') out[i] = c.codes[i] < 0 ? null : c.categories[c.codes[i]];
    else if (c.kind === 'string') out[i] = c.values[i];
    else out[i] = c.mask?.[i] ? null : String(c.kind === 'bool' ? c.values[i] === 1 : c.values[i]);
  }
  return out;
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

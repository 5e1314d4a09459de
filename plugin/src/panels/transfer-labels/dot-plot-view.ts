/**
 * The Dot plot section: after Annotate, the worker finds the top genes of every class (gradient
 * saliency in up to 200 cells predicted as it); the plot has a row per group (the predicted
 * label, or any categorical obs column) and a column per marker: the fraction of the group's
 * cells expressing the gene and its mean log1p(CPM), from the server's gene-major cache (one
 * gene at a time, aggregated by core's groupExpression in one pass over the cells).
 */
import { dotPlotGenes, groupExpression, groupSizes } from '@scnym/core/scores';
import type { ViewerApi } from '../../host/api.js';
import { GENE_VALUES_LABEL } from '../../shared/genes.js';
import type { ClassMarkersRequest, FromWorker } from '../../shared/worker-messages.js';
import { el } from '../../ui/dom.js';
import { dotPlot } from '../../ui/dot-plot.js';
import { exportButtons } from '../../ui/export.js';
import { row } from './form-view.js';
import { CONFIDENCE, LABEL } from './keys.js';

export type ClassMarkers = Extract<FromWorker, { type: 'class-markers' }>;

/** Cells explained per class (the viewer's saliency sample size). */
const CELLS_PER_CLASS = 200;
/** Genes asked of the worker per class; the plot shows the first few of them. */
const TOP = 5;
/** Gene values kept for regrouping while they fit (float32 values: 64 MB). */
const KEEP_VALUES = 16_000_000;

interface Labels {
  codes: Int32Array;
  categories: readonly string[];
}

export class DotPlotView {
  readonly element: HTMLElement;
  private readonly groupBy = el('select', { id: 'tl-dotplot-group' });
  private readonly perClass = el(
    'select',
    { id: 'tl-dotplot-genes' },
    [1, 2, 3, 4, 5].map((n) => el('option', { value: n, selected: n === 2 }, [String(n)])),
  );
  private readonly chart = el('div', { id: 'tl-dotplot', class: 'chart dot-plot' });
  private labels: Labels | null = null;
  private markers: ClassMarkers['classes'] | null = null;
  private readonly values = new Map<string, Float32Array>();
  /** PNG and SVG downloads, shown with a plot. */
  private readonly exports: HTMLElement;
  /** A newer drawing makes an older one stop. */
  private drawing = 0;

  constructor(
    private readonly api: ViewerApi,
    private readonly ask: (request: ClassMarkersRequest) => void,
  ) {
    this.groupBy.onchange = () => void this.draw();
    this.perClass.onchange = () => void this.draw();
    // A gene's name or dot colours the cells by it (where the viewer reads genes).
    this.chart.onclick = (e) => {
      const name = (e.target as Element).closest('[data-gene]')?.getAttribute('data-gene');
      if (name && api.colorByGene) void api.colorByGene(name);
    };
    const name = () =>
      [api.data().dataset.name, 'dotplot', this.groupBy.value].filter(Boolean).join('.');
    this.exports = el('div', { class: 'buttons', hidden: true }, [
      exportButtons('tl-dotplot-export', () => this.chart.querySelector('svg'), name),
    ]);
    this.element = el('div', { class: 'section', id: 'tl-dotplot-section' }, [
      el('h3', {}, ['Dot plot']),
      el('div', { class: 'small muted' }, [
        'Top marker genes of every class: dot size is the fraction of the group’s cells ' +
          'expressing the gene, colour its mean log1p(CPM) in the group.',
      ]),
      row('Group by', this.groupBy),
      row('Genes per class', this.perClass),
      this.chart,
      this.exports,
    ]);
    // Where the viewer reads no genes (VS Code, Vitessce) there are no values to plot.
    this.element.hidden = !api.geneValues;
  }

  /** New predictions: the groups offered, then every class's markers asked of the worker. */
  start(labels: Labels, classNames: readonly string[]): void {
    if (!this.api.geneValues) return; // no gene reads here (the section is hidden)
    this.labels = labels;
    this.markers = null;
    this.values.clear();
    this.listGroups();
    const cells = sampleByCode(labels.codes, labels.categories.length, CELLS_PER_CLASS);
    const classes = classNames.map((className) => {
      const k = labels.categories.indexOf(className);
      return { className, cells: k >= 0 ? cells[k] : [] };
    });
    this.chart.textContent = 'finding the markers of every class…';
    this.ask({ type: 'class-markers', classes, top: TOP });
  }

  /** The labels after an edit: drawn again when they are the groups. */
  setLabels(labels: Labels): void {
    this.labels = labels;
    if (this.markers && this.groupBy.value === LABEL) void this.draw();
  }

  progress(message: string): void {
    this.chart.textContent = message;
  }

  show(m: ClassMarkers): void {
    this.markers = m.classes;
    void this.draw();
  }

  private listGroups(): void {
    const current = this.groupBy.value;
    const names = this.api
      .data()
      .columns()
      .filter((c) => c.kind === 'categorical' && c.name !== LABEL && c.name !== CONFIDENCE)
      .map((c) => c.name);
    this.groupBy.replaceChildren(
      el('option', { value: LABEL }, [`${LABEL} (predicted)`]),
      ...names.map((n) => el('option', { value: n }, [n])),
    );
    if (names.includes(current)) this.groupBy.value = current;
  }

  private async groups(key: string): Promise<Labels | null> {
    if (key === LABEL) return this.labels;
    const column = await this.api.data().obsColumn(key);
    return column.kind === 'categorical' ? column : null;
  }

  private async draw(): Promise<void> {
    const token = ++this.drawing;
    const markers = this.markers;
    if (!markers) return;
    delete this.chart.dataset.groupBy;
    this.exports.hidden = true;
    try {
      const key = this.groupBy.value;
      const groups = await this.groups(key);
      if (!groups) throw new Error(`obs/${key} is not categorical`);
      const genes = dotPlotGenes(markers, Number(this.perClass.value));
      const n = groups.categories.length;
      const sizes = groupSizes(groups.codes, n);
      const shown: string[] = [];
      const fraction: Float64Array[] = [];
      const mean: Float64Array[] = [];
      let reading = 0;
      let aggregating = 0;
      for (const [j, gene] of genes.entries()) {
        if (token !== this.drawing) return;
        this.chart.textContent = `reading genes: ${j} / ${genes.length}`;
        const t0 = performance.now();
        const values = this.values.get(gene) ?? (await this.read(gene, genes.length));
        const t1 = performance.now();
        if (!values) continue;
        const e = groupExpression(values, groups.codes, n, sizes);
        aggregating += performance.now() - t1;
        reading += t1 - t0;
        shown.push(gene);
        fraction.push(e.fraction);
        mean.push(e.mean);
      }
      if (token !== this.drawing) return;
      // Rows: the groups with cells.
      const rows = [...sizes.keys()].filter((g) => sizes[g] > 0);
      const pick = (a: Float64Array) => Float64Array.from(rows, (g) => a[g]);
      const plot = dotPlot(
        {
          groups: rows.map((g) => groups.categories[g]),
          sizes: Int32Array.from(rows, (g) => sizes[g]),
          genes: shown,
          fraction: fraction.map(pick),
          mean: mean.map(pick),
          valueLabel: GENE_VALUES_LABEL.log1p,
        },
        { cell: 14, fontSize: 10, attrs: { id: 'tl-dotplot-svg', class: 'chart' } },
      );
      const missing = genes.length - shown.length;
      this.chart.replaceChildren(
        el('div', { class: 'small muted', id: 'tl-dotplot-caption' }, [
          `${rows.length} groups × ${shown.length} genes · ${groups.codes.length.toLocaleString('en-US')} cells`,
          missing ? ` · ${missing} markers not in the query` : '',
        ]),
        el('div', { class: 'dot-plot-scroll' }, [plot]),
      );
      this.exports.hidden = false;
      // What is shown and how long its genes took (read from the server; aggregated here).
      Object.assign(this.chart.dataset, {
        groupBy: key,
        readMs: reading.toFixed(1),
        aggregateMs: aggregating.toFixed(1),
      });
    } catch (err) {
      if (token === this.drawing) this.chart.textContent = `dot plot: ${(err as Error).message}`;
    }
  }

  /** One gene's log1p(CPM), kept for the next drawing while the plot's genes fit in memory. */
  private async read(gene: string, nGenes: number): Promise<Float32Array | undefined> {
    const got = await this.api.geneValues!(gene, 'log1p');
    if (got && got.values.length * Math.max(nGenes, TOP) <= KEEP_VALUES) {
      this.values.set(gene, got.values);
    }
    return got?.values;
  }
}

/** Per code, up to `max` of its cells, evenly spaced: one pass to count, one to pick. */
function sampleByCode(codes: Int32Array, nCodes: number, max: number): number[][] {
  const counts = groupSizes(codes, nCodes);
  const stride = Array.from(counts, (c) => Math.max(1, Math.ceil(c / max)));
  const seen = new Int32Array(nCodes);
  const out: number[][] = Array.from({ length: nCodes }, () => []);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c < 0 || c >= nCodes) continue;
    if (seen[c]++ % stride[c] === 0 && out[c].length < max) out[c].push(i);
  }
  return out;
}

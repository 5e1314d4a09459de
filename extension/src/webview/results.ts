/**
 * The results page: a summary line, predicted label counts, the confidence histogram, scores
 * per class and the least confident cells, with a button opening the dataset in the viewer.
 * It draws from the saved webview state at once (a hidden tab coming back) and again from each
 * 'show' message. The data-testid attributes are a contract with the end-to-end test.
 */
import type { ClassRow, FromResultsView, ResultsModel, ToResultsView } from '../messages.js';
import { el, histogram, svg } from '@scnym/plugin/ui';
import {
  fixed,
  integer,
  isNumber,
  mount,
  onMessage,
  pageRoot,
  percent,
  seconds,
  section,
  setPageState,
  swatch,
  table,
  vscodeApi,
} from './common.js';

interface State {
  results: ResultsModel;
}

const vscode = vscodeApi<State>();
const post = (message: FromResultsView) => vscode.postMessage(message);

function summary(r: ResultsModel): HTMLElement {
  const parts = [
    `${integer(r.nCells)} cells`,
    `mean confidence ${fixed(r.meanConfidence)}`,
    `${integer(r.nBelow)} (${percent(r.nCells ? r.nBelow / r.nCells : NaN)}) below ${fixed(r.threshold, 2)}`,
  ];
  const t = r.training;
  if (t) {
    const val = isNumber(t.valAccuracy) ? `, validation accuracy ${percent(t.valAccuracy)}` : '';
    parts.push(
      `trained with ${t.backend} in ${seconds(t.seconds)} (${integer(t.epochs)} epochs, ` +
        `${integer(t.nReference)} reference cells, ${integer(t.nGenes)} genes${val})`,
    );
  }
  const e = r.evaluation;
  if (e) {
    parts.push(
      `against ${e.truthKey} (${integer(e.nCells)} cells): accuracy ${percent(e.accuracy)}, ` +
        `balanced ${percent(e.balancedAccuracy)}, macro F1 ${fixed(e.macroF1)}, ` +
        `ECE ${fixed(e.ece)}`,
    );
  }
  return el('p', { class: 'summary', 'data-testid': 'summary' }, [parts.join(' · ')]);
}

function labelCell(c: ClassRow): HTMLElement {
  return el('span', { class: 'label' }, [swatch(c.color), c.label]);
}

/** A share bar in the class's colour (SVG fill is an attribute, not an inline style). */
function shareBar(c: ClassRow): SVGElement {
  const width = isNumber(c.fraction) ? Math.max(0, Math.min(1, c.fraction)) * 100 : 0;
  return svg(
    'svg',
    { class: 'share', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': true },
    [
      svg('rect', { class: 'track', x: 0, y: 0, width: 100, height: 10 }),
      svg('rect', { x: 0, y: 0, width, height: 10, fill: c.color }),
    ],
  );
}

function labelCounts(r: ResultsModel): HTMLElement {
  return table(
    'label-counts',
    [{ title: 'Label', width: '40%' }, { title: 'Cells', numeric: true }, { title: 'Share' }],
    r.classes.map((c) => ({
      attrs: { 'data-label': c.label, 'data-count': c.count },
      cells: [
        labelCell(c),
        integer(c.count),
        el('span', { class: 'share-cell' }, [shareBar(c), percent(c.fraction)]),
      ],
    })),
  );
}

const HIST = { width: 640, height: 200, left: 44, right: 12, top: 12, bottom: 34 };

/** Bars per confidence bin; bins below the threshold are drawn in the warning colour. */
function histogramChart(r: ResultsModel): SVGElement {
  return histogram(r.histogram, {
    frame: HIST,
    threshold: r.threshold,
    title: 'confidence',
    binTitle: (lo, hi, n, last) =>
      `${fixed(lo, 2)}–${fixed(hi, 2)}${last ? ' (inclusive)' : ''}: ${integer(n)} cells`,
    labels: 'axes',
    attrs: {
      class: 'chart histogram',
      'data-testid': 'confidence-histogram',
      role: 'img',
      'aria-label': `Confidence histogram of ${r.nCells} cells`,
    },
  });
}

function perClass(r: ResultsModel): HTMLElement {
  const scored = r.classes.some((c) => c.support !== undefined || c.precision !== undefined);
  const columns = [
    { title: 'Label', width: scored ? '22%' : '40%' },
    { title: 'Cells', numeric: true },
    { title: '%', numeric: true },
    { title: 'Mean confidence', numeric: true },
    ...(scored
      ? [
          { title: 'Precision', numeric: true },
          { title: 'Recall', numeric: true },
          { title: 'F1', numeric: true },
          { title: 'Support', numeric: true },
        ]
      : []),
  ];
  return table(
    'per-class',
    columns,
    r.classes.map((c) => ({
      attrs: { 'data-label': c.label },
      cells: [
        labelCell(c),
        integer(c.count),
        percent(c.fraction),
        fixed(c.meanConfidence),
        ...(scored ? [fixed(c.precision), fixed(c.recall), fixed(c.f1), integer(c.support)] : []),
      ],
    })),
  );
}

function lowConfidence(r: ResultsModel): HTMLElement {
  const color = new Map(r.classes.map((c) => [c.label, c.color]));
  const withRunnerUp = r.lowConfidence.some((c) => c.runnerUp !== undefined);
  return table(
    'low-confidence',
    [
      { title: 'Cell', width: '30%' },
      { title: 'Row', numeric: true },
      { title: 'Predicted' },
      { title: 'Confidence', numeric: true },
      ...(withRunnerUp ? [{ title: 'Runner-up' }] : []),
    ],
    r.lowConfidence.map((c) => ({
      attrs: { 'data-cell': c.cell, 'data-index': c.index },
      cells: [
        el('span', { class: 'mono' }, [c.cell]),
        integer(c.index),
        el('span', { class: 'label' }, [swatch(color.get(c.label) ?? 'transparent'), c.label]),
        fixed(c.confidence),
        ...(withRunnerUp ? [c.runnerUp ?? '—'] : []),
      ],
    })),
  );
}

function render(r: ResultsModel): void {
  const button = el('vscode-button', { 'data-testid': 'open-viewer' }, ['Open in Viewer']);
  button.addEventListener('click', () => post({ type: 'openViewer', path: r.path }));
  mount(
    pageRoot(),
    el('header', {}, [
      el('div', {}, [
        el('h1', {}, [`scNym results — ${r.dataset}`]),
        el('p', { class: 'subtitle' }, [`${r.path} · obs['${r.keyAdded}']`]),
      ]),
      button,
    ]),
    summary(r),
    section('Predicted labels', labelCounts(r)),
    section(
      'Confidence',
      histogramChart(r),
      el('p', { class: 'note' }, [
        `${integer(r.nBelow)} cells below ${r.threshold}; the last bin includes confidence 1.`,
      ]),
    ),
    section(
      r.evaluation ? `Per class (against ${r.evaluation.truthKey})` : 'Per class',
      perClass(r),
    ),
    section(`Least confident cells (${integer(r.lowConfidence.length)})`, lowConfidence(r)),
  );
  document.title = `scNym results — ${r.dataset}`;
  setPageState('ready');
}

function show(results: ResultsModel): void {
  vscode.setState({ results });
  try {
    render(results);
  } catch (err) {
    setPageState('error');
    mount(pageRoot(), el('p', { class: 'error' }, [`Cannot show the results: ${String(err)}`]));
  }
}

setPageState('loading');
const saved = vscode.getState();
if (saved?.results) show(saved.results);
else
  mount(pageRoot(), el('p', { class: 'note' }, [el('vscode-progress-ring'), 'Loading results…']));
onMessage<ToResultsView>((message) => {
  if (message?.type === 'show') show(message.results);
});
post({ type: 'ready' });

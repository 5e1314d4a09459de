/**
 * The saliency (marker genes) page: pick a class and an attribution method; a horizontal bar
 * chart shows the class's most salient genes. Changing the method asks the host to recompute
 * (it answers busy, then show or error); changing the class only redraws. The chosen class is
 * kept in the webview state with the model. data-testid attributes are a contract with the
 * end-to-end test; body[data-state] is 'ready', 'busy' or 'error'.
 */
import type {
  FromSaliencyView,
  SaliencyClass,
  SaliencyMethodName,
  SaliencyModel,
  ToSaliencyView,
} from '../messages.js';
import {
  fixed,
  h,
  integer,
  isNumber,
  mount,
  onMessage,
  pageRoot,
  seconds,
  section,
  setPageState,
  svg,
  tooltip,
  vscodeApi,
} from './common.js';

interface State {
  saliency: SaliencyModel;
  className?: string;
}

const METHODS: [SaliencyMethodName, string][] = [
  ['gradient', 'Vanilla gradient'],
  ['integrated', 'Integrated gradients'],
  ['expected', 'Expected gradients'],
];

const vscode = vscodeApi<State>();
const post = (message: FromSaliencyView) => vscode.postMessage(message);

let state: State | undefined;
/** The status line (busy ring and message, or the error), kept across redraws. */
const status = h('div', { class: 'status', 'data-testid': 'status', role: 'status' });
let chartHolder: HTMLElement | undefined;
let methodSelect: HTMLElement & { value?: string };

function save(): void {
  if (state) vscode.setState(state);
}

function select(testId: string, options: [string, string][], value: string): HTMLElement {
  return h(
    'vscode-single-select',
    { 'data-testid': testId },
    ...options.map(([v, label]) => h('vscode-option', { value: v, selected: v === value }, label)),
  );
}

function currentClass(model: SaliencyModel, name: string | undefined): SaliencyClass | undefined {
  return model.classes.find((c) => c.name === name) ?? model.classes[0];
}

const ROW = 20;
const CHART = { width: 640, right: 64, top: 8, bottom: 26 };

/** One g[data-gene] per gene: name, bar from the zero line (scores may be negative), value. */
function chart(c: SaliencyClass | undefined): SVGElement {
  const genes = c?.genes ?? [];
  const scores = (c?.scores ?? []).map((s) => (isNumber(s) ? s : 0));
  const longest = Math.max(4, ...genes.map((g) => g.length));
  const left = Math.min(220, 16 + longest * 7.5);
  const plotW = CHART.width - left - CHART.right;
  const height = CHART.top + Math.max(1, genes.length) * ROW + CHART.bottom;
  const lo = Math.min(0, ...scores);
  let hi = Math.max(0, ...scores);
  if (hi === lo) hi = lo + 1;
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * plotW;
  const el = svg('svg', {
    class: 'chart saliency',
    'data-testid': 'saliency-chart',
    'data-class': c?.name ?? '',
    viewBox: `0 0 ${CHART.width} ${height}`,
    role: 'img',
    'aria-label': c ? `Top ${genes.length} genes for ${c.name}` : 'No class',
  });
  genes.forEach((gene, i) => {
    const s = scores[i];
    const y = CHART.top + i * ROW;
    const x0 = Math.min(x(0), x(s));
    el.append(
      svg(
        'g',
        { class: 'gene', 'data-gene': gene, 'data-score': s },
        tooltip(`${gene}: ${s.toPrecision(4)}`),
        svg(
          'text',
          {
            class: 'gene-label',
            x: left - 6,
            y: y + ROW / 2,
            'text-anchor': 'end',
            'dominant-baseline': 'central',
          },
          gene,
        ),
        svg('rect', {
          x: x0,
          y: y + 3,
          width: Math.abs(x(s) - x(0)),
          height: ROW - 6,
          fill: c!.color,
        }),
        svg(
          'text',
          {
            class: 'value',
            x: Math.max(x(0), x(s)) + 4,
            y: y + ROW / 2,
            'dominant-baseline': 'central',
          },
          s.toPrecision(3),
        ),
      ),
    );
  });
  const axis = CHART.top + Math.max(1, genes.length) * ROW;
  el.append(
    svg('line', { class: 'axis', x1: x(0), x2: x(0), y1: CHART.top, y2: axis }),
    svg('line', { class: 'axis', x1: left, x2: left + plotW, y1: axis, y2: axis }),
    svg(
      'text',
      { class: 'tick-label', x: left, y: axis + 14, 'text-anchor': 'start' },
      fixed(lo, 3),
    ),
    svg(
      'text',
      { class: 'tick-label', x: left + plotW, y: axis + 14, 'text-anchor': 'end' },
      fixed(hi, 3),
    ),
    svg(
      'text',
      { class: 'axis-title', x: left + plotW / 2, y: axis + 14, 'text-anchor': 'middle' },
      'mean attribution',
    ),
  );
  return el;
}

function chartSection(model: SaliencyModel, c: SaliencyClass | undefined): HTMLElement {
  const caption = !c
    ? 'No classes were explained.'
    : c.genes.length === 0
      ? `No cells predicted as ${c.name} were explained.`
      : `Top ${c.genes.length} genes for ${c.name}: mean ${methodName(model.method)} ` +
        `attribution over ${integer(c.nExplained)} of ${integer(c.nCells)} cells.`;
  return h('div', {}, h('p', { class: 'note' }, caption), chart(c));
}

function methodName(method: SaliencyMethodName): string {
  return (METHODS.find(([m]) => m === method)?.[1] ?? method).toLowerCase();
}

function render(model: SaliencyModel): void {
  const c = currentClass(model, state?.className);
  const classSelect = select(
    'class-select',
    model.classes.map((k) => [k.name, `${k.name} (${integer(k.nCells)} cells)`]),
    c?.name ?? '',
  );
  classSelect.addEventListener('change', () => {
    const name = (classSelect as HTMLElement & { value: string }).value;
    if (!state) return;
    state.className = name;
    save();
    chartHolder?.replaceChildren(chartSection(state.saliency, currentClass(state.saliency, name)));
  });
  methodSelect = select('method-select', METHODS, model.method);
  methodSelect.addEventListener('change', () => {
    const method = methodSelect.value as SaliencyMethodName;
    if (!state || method === state.saliency.method) return;
    // Busy at once, so nothing reads the old chart as the new method's.
    showBusy(`Computing ${methodName(method)} saliency…`);
    post({ type: 'method', method });
  });
  chartHolder = h('div', {}, chartSection(model, c));
  mount(
    pageRoot(),
    h(
      'header',
      {},
      h(
        'div',
        {},
        h('h1', {}, `scNym markers — ${model.dataset}`),
        h(
          'p',
          { class: 'subtitle' },
          `${model.path} · model ${model.model} · ${methodName(model.method)} in ${seconds(model.seconds)}`,
        ),
      ),
    ),
    h(
      'div',
      { class: 'controls' },
      h('label', {}, h('span', {}, 'Class'), classSelect),
      h('label', {}, h('span', {}, 'Method'), methodSelect),
      status,
    ),
    section('Marker genes', chartHolder),
  );
  document.title = `scNym markers — ${model.dataset}`;
}

function show(model: SaliencyModel): void {
  state = { saliency: model, className: currentClass(model, state?.className)?.name };
  save();
  try {
    render(model);
    status.replaceChildren();
    setPageState('ready');
  } catch (err) {
    showError(`Cannot show the markers: ${String(err)}`);
  }
}

/** Before any model arrives the status line is the whole page. */
function ensureStatus(): void {
  if (!status.isConnected) mount(pageRoot(), status);
}

function showBusy(message: string): void {
  ensureStatus();
  status.replaceChildren(h('vscode-progress-ring', {}), h('span', {}, message));
  setPageState('busy');
}

function showError(message: string): void {
  ensureStatus();
  status.replaceChildren(h('span', { class: 'error', 'data-testid': 'error' }, message));
  // The chart still shows the last model's method; say so in the switch too.
  if (state && methodSelect) methodSelect.value = state.saliency.method;
  setPageState('error');
}

setPageState('loading');
state = vscode.getState();
if (state?.saliency) show(state.saliency);
else
  mount(pageRoot(), h('p', { class: 'note' }, h('vscode-progress-ring', {}), 'Loading markers…'));
onMessage<ToSaliencyView>((message) => {
  if (message?.type === 'show') show(message.saliency);
  else if (message?.type === 'busy') showBusy(message.message);
  else if (message?.type === 'error') showError(message.message);
});
post({ type: 'ready' });

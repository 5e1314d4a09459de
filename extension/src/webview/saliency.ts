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
import { el, saliencyChart } from '@scnym/plugin/ui';
import {
  integer,
  isNumber,
  mount,
  onMessage,
  pageRoot,
  seconds,
  section,
  setPageState,
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
const status = el('div', { class: 'status', 'data-testid': 'status', role: 'status' });
let chartHolder: HTMLElement | undefined;
let methodSelect: HTMLElement & { value?: string };

function save(): void {
  if (state) vscode.setState(state);
}

function select(testId: string, options: [string, string][], value: string): HTMLElement {
  return el(
    'vscode-single-select',
    { 'data-testid': testId },
    options.map(([v, label]) => el('vscode-option', { value: v, selected: v === value }, [label])),
  );
}

function currentClass(model: SaliencyModel, name: string | undefined): SaliencyClass | undefined {
  return model.classes.find((c) => c.name === name) ?? model.classes[0];
}

const ROW = 20;
const WIDTH = 640;

/** One g[data-gene] per gene: name, bar from the zero line (scores may be negative), value. */
function chart(c: SaliencyClass | undefined): SVGElement {
  const genes = c?.genes ?? [];
  const scores = (c?.scores ?? []).map((s) => (isNumber(s) ? s : 0));
  return saliencyChart(genes, scores, {
    width: WIDTH,
    row: ROW,
    fontSize: 12,
    colour: () => c!.color,
    attrs: {
      class: 'chart saliency',
      'data-testid': 'saliency-chart',
      'data-class': c?.name ?? '',
      role: 'img',
      'aria-label': c ? `Top ${genes.length} genes for ${c.name}` : 'No class',
    },
  });
}

function chartSection(model: SaliencyModel, c: SaliencyClass | undefined): HTMLElement {
  const caption = !c
    ? 'No classes were explained.'
    : c.genes.length === 0
      ? `No cells predicted as ${c.name} were explained.`
      : `Top ${c.genes.length} genes for ${c.name}: mean ${methodName(model.method)} ` +
        `attribution over ${integer(c.nExplained)} of ${integer(c.nCells)} cells.`;
  return el('div', {}, [el('p', { class: 'note' }, [caption]), chart(c)]);
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
  chartHolder = el('div', {}, [chartSection(model, c)]);
  mount(
    pageRoot(),
    el('header', {}, [
      el('div', {}, [
        el('h1', {}, [`scNym markers — ${model.dataset}`]),
        el('p', { class: 'subtitle' }, [
          `${model.path} · model ${model.model} · ${methodName(model.method)} in ${seconds(model.seconds)}`,
        ]),
      ]),
    ]),
    el('div', { class: 'controls' }, [
      el('label', {}, [el('span', {}, ['Class']), classSelect]),
      el('label', {}, [el('span', {}, ['Method']), methodSelect]),
      status,
    ]),
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
  status.replaceChildren(el('vscode-progress-ring'), el('span', {}, [message]));
  setPageState('busy');
}

function showError(message: string): void {
  ensureStatus();
  status.replaceChildren(el('span', { class: 'error', 'data-testid': 'error' }, [message]));
  // The chart still shows the last model's method; say so in the switch too.
  if (state && methodSelect) methodSelect.value = state.saliency.method;
  setPageState('error');
}

setPageState('loading');
state = vscode.getState();
if (state?.saliency) show(state.saliency);
else
  mount(pageRoot(), el('p', { class: 'note' }, [el('vscode-progress-ring'), 'Loading markers…']));
onMessage<ToSaliencyView>((message) => {
  if (message?.type === 'show') show(message.saliency);
  else if (message?.type === 'busy') showBusy(message.message);
  else if (message?.type === 'error') showError(message.message);
});
post({ type: 'ready' });

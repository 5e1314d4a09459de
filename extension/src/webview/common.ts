/**
 * What the results and saliency pages share: the VS Code API handle, DOM and SVG builders that
 * only ever set text through textContent (never markup), number formats that survive the JSON
 * round trip of postMessage/setState (NaN arrives as null), and vscode-table construction.
 * The @vscode-elements custom elements are defined by elements.js, loaded before each page.
 */

export interface VsCodeApi<State> {
  postMessage(message: unknown): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<State>(): VsCodeApi<State>;

/** acquireVsCodeApi may be called once per page; each page calls this once. */
export function vscodeApi<State>(): VsCodeApi<State> {
  return acquireVsCodeApi<State>();
}

export function onMessage<T>(handler: (message: T) => void): void {
  window.addEventListener('message', (event: MessageEvent<T>) => handler(event.data));
}

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** An HTML (or custom) element; strings become text nodes. */
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag) as SVGElement;
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** A hover tooltip for an SVG shape. */
export function tooltip(text: string): SVGElement {
  const title = svg('title');
  title.textContent = text;
  return title;
}

/** A coloured square; the colour goes through the CSSOM, which the CSP allows. */
export function swatch(color: string): HTMLElement {
  const el = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  el.style.backgroundColor = color;
  return el;
}

export function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

const DASH = '—';

export function integer(v: unknown): string {
  return isNumber(v) ? Math.round(v).toLocaleString() : DASH;
}

export function fixed(v: unknown, digits = 3): string {
  return isNumber(v) ? v.toFixed(digits) : DASH;
}

export function percent(v: unknown, digits = 1): string {
  return isNumber(v) ? `${(v * 100).toFixed(digits)}%` : DASH;
}

export function seconds(v: unknown): string {
  if (!isNumber(v)) return DASH;
  return v < 60 ? `${v.toFixed(1)} s` : `${Math.floor(v / 60)} min ${Math.round(v % 60)} s`;
}

export interface Column {
  title: string;
  /** Initial width for vscode-table's `columns` (e.g. '30%', 'auto'). */
  width?: string;
  numeric?: boolean;
}

export interface Row {
  /** Attributes of the row element (data-* for tests and look-ups). */
  attrs: Attrs;
  cells: Child[];
}

/** A vscode-table with a header row and one vscode-table-row per row. */
export function table(testId: string, columns: Column[], rows: Row[]): HTMLElement {
  const header = h(
    'vscode-table-header',
    { slot: 'header' },
    ...columns.map((c) =>
      h('vscode-table-header-cell', { class: c.numeric ? 'numeric' : undefined }, c.title),
    ),
  );
  const body = h(
    'vscode-table-body',
    { slot: 'body' },
    ...rows.map((r) =>
      h(
        'vscode-table-row',
        r.attrs,
        ...r.cells.map((cell, i) =>
          h('vscode-table-cell', { class: columns[i]?.numeric ? 'numeric' : undefined }, cell),
        ),
      ),
    ),
  );
  const el = h(
    'vscode-table',
    {
      'data-testid': testId,
      zebra: true,
      'bordered-columns': true,
      resizable: true,
      columns: JSON.stringify(columns.map((c) => c.width ?? 'auto')),
    },
    header,
    body,
  );
  return el;
}

/** A titled section of a page. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', {}, h('h2', {}, title), ...children);
}

/** Replaces the page's content (the pages rebuild on each model; they are small). */
export function mount(root: HTMLElement, ...children: Child[]): void {
  root.replaceChildren();
  append(root, children);
}

/** The page root: a <main> created once. */
export function pageRoot(): HTMLElement {
  let main = document.querySelector('main');
  if (!main) {
    main = document.createElement('main');
    document.body.prepend(main);
  }
  return main;
}

export type PageState = 'loading' | 'ready' | 'busy' | 'error';

/** Tests (and the e2e test) wait on body[data-state]. */
export function setPageState(state: PageState): void {
  document.body.dataset.state = state;
}

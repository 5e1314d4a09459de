/**
 * What the results and saliency pages share: the VS Code API handle, number formats that
 * survive the JSON round trip of postMessage/setState (NaN arrives as null), and vscode-table
 * construction. Elements and charts come from the plugin's UI kit (text only ever as text
 * nodes, never markup). The @vscode-elements custom elements are defined by elements.js, loaded
 * before each page.
 */
import { appendChildren, el, type Attrs, type Child } from '@scnym/plugin/ui';

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

/** A coloured square; the colour goes through the CSSOM, which the CSP allows. */
export function swatch(color: string): HTMLElement {
  const square = el('span', { class: 'swatch', 'aria-hidden': 'true' });
  square.style.backgroundColor = color;
  return square;
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
  const header = el(
    'vscode-table-header',
    { slot: 'header' },
    columns.map((c) =>
      el('vscode-table-header-cell', { class: c.numeric ? 'numeric' : undefined }, [c.title]),
    ),
  );
  const body = el(
    'vscode-table-body',
    { slot: 'body' },
    rows.map((r) =>
      el(
        'vscode-table-row',
        r.attrs,
        r.cells.map((cell, i) =>
          el('vscode-table-cell', { class: columns[i]?.numeric ? 'numeric' : undefined }, [cell]),
        ),
      ),
    ),
  );
  return el(
    'vscode-table',
    {
      'data-testid': testId,
      zebra: true,
      'bordered-columns': true,
      resizable: true,
      columns: JSON.stringify(columns.map((c) => c.width ?? 'auto')),
    },
    [header, body],
  );
}

/** A titled section of a page. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return el('section', {}, [el('h2', {}, [title]), ...children]);
}

/** Replaces the page's content (the pages rebuild on each model; they are small). */
export function mount(root: HTMLElement, ...children: Child[]): void {
  root.replaceChildren();
  appendChildren(root, children);
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

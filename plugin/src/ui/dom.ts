/**
 * Element builders for the viewer and the VS Code webviews. Attributes go through setAttribute
 * and strings become text nodes, never markup: labels come from data files, and the webviews'
 * Content-Security-Policy allows no inline markup or styles.
 */

/** Attributes: `true` sets an empty one (`disabled`), `false`, null and undefined set none. */
export type Attrs = Readonly<Record<string, string | number | boolean | null | undefined>>;
/** A child: a node or text; null, undefined and false are left out (`cond && node`). */
export type Child = Node | string | null | undefined | false;

function setAttrs(node: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

/** Appends the children that are there (see Child). */
export function appendChildren(node: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
}

/** An HTML (or custom) element: `el('div', {class: 'x'}, ['text', child])`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  children?: readonly Child[],
): HTMLElementTagNameMap[K];
export function el(tag: string, attrs?: Attrs, children?: readonly Child[]): HTMLElement;
export function el(tag: string, attrs: Attrs = {}, children: readonly Child[] = []): HTMLElement {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  appendChildren(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  children?: readonly Child[],
): SVGElementTagNameMap[K];
export function svg(tag: string, attrs?: Attrs, children?: readonly Child[]): SVGElement;
export function svg(tag: string, attrs: Attrs = {}, children: readonly Child[] = []): SVGElement {
  const node = document.createElementNS(SVG_NS, tag) as SVGElement;
  setAttrs(node, attrs);
  appendChildren(node, children);
  return node;
}

/** The hover tooltip of an SVG shape (or group). */
export function svgTitle(text: string): SVGTitleElement {
  return svg('title', {}, [text]);
}

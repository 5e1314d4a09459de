/**
 * Charts as files: an <svg> on the page as a standalone SVG file (the colours and fonts the
 * page's CSS gives it written into it as attributes, on the background it is shown on, so it
 * looks in Inkscape or a paper as it does here, dark mode included), the same as a PNG at twice
 * the size, and the download of either; and the PNG/SVG buttons beside a chart.
 */
import { el } from './dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** What CSS may set on a chart's shapes and text that a file without the CSS needs. */
const STYLED = ['fill', 'stroke', 'stroke-width', 'font-size', 'font-family', 'font-weight'];

/** The first background colour that is not transparent, from `node` up; white if none. */
export function backgroundOf(node: Element | null): string {
  for (let n = node; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'transparent' && !/^rgba\(.*,\s*0\)$/.test(c)) return c;
  }
  return '#ffffff';
}

/** A chart as the text of an .svg file (see the module's comment). */
export function svgFile(chart: SVGSVGElement): string {
  const copy = chart.cloneNode(true) as SVGSVGElement;
  const from = [chart, ...chart.querySelectorAll('*')];
  const to = [copy, ...copy.querySelectorAll('*')];
  for (let i = 0; i < from.length; i++) {
    if (!(from[i] instanceof SVGGraphicsElement) || from[i] instanceof SVGSVGElement) continue;
    const style = getComputedStyle(from[i]);
    for (const name of STYLED) {
      const value = style.getPropertyValue(name);
      if (value) to[i].setAttribute(name, value);
    }
  }
  const box = chart.viewBox.baseVal;
  const [w, h] =
    box && box.width > 0 ? [box.width, box.height] : [chart.clientWidth, chart.clientHeight];
  copy.setAttribute('width', String(w));
  copy.setAttribute('height', String(h));
  copy.removeAttribute('id');
  const background = document.createElementNS(SVG_NS, 'rect');
  for (const [k, v] of Object.entries({ x: box?.x ?? 0, y: box?.y ?? 0, width: w, height: h })) {
    background.setAttribute(k, String(v));
  }
  background.setAttribute('fill', backgroundOf(chart));
  copy.insertBefore(background, copy.firstChild);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
}

/** An SVG file's text drawn into a PNG, `scale` pixels per SVG unit. */
export async function svgToPng(
  text: string,
  width: number,
  height: number,
  scale = 2,
): Promise<Blob | null> {
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * scale);
    canvas.height = Math.ceil(height * scale);
    canvas.getContext('2d')!.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise((done) => canvas.toBlob(done, 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Saves a blob under `name` through the browser's download. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  el('a', { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Downloads a chart as `${name}.svg`. */
export function downloadSvg(chart: SVGSVGElement, name: string): void {
  download(new Blob([svgFile(chart)], { type: 'image/svg+xml' }), `${name}.svg`);
}

/** Downloads a chart as `${name}.png` (twice its size on the page). */
export async function downloadPng(chart: SVGSVGElement, name: string): Promise<void> {
  const box = chart.viewBox.baseVal;
  const blob = await svgToPng(svgFile(chart), box.width, box.height);
  if (blob) download(blob, `${name}.png`);
}

/**
 * "PNG" and "SVG" buttons for the chart `find()` returns (none shown: the buttons do nothing),
 * downloaded as `name()` + the extension. `id` prefixes the buttons' ids.
 */
export function exportButtons(
  id: string,
  find: () => SVGSVGElement | null,
  name: () => string,
): HTMLElement {
  const png = el(
    'button',
    { id: `${id}-png`, class: 'small', title: 'Download the chart as a PNG image' },
    ['PNG'],
  );
  const svgButton = el(
    'button',
    { id: `${id}-svg`, class: 'small', title: 'Download the chart as an SVG (vector) image' },
    ['SVG'],
  );
  png.onclick = () => {
    const chart = find();
    if (chart) void downloadPng(chart, name());
  };
  svgButton.onclick = () => {
    const chart = find();
    if (chart) downloadSvg(chart, name());
  };
  return el('span', { class: 'export' }, [png, svgButton]);
}

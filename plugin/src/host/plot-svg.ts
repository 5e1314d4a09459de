/**
 * The plot as an SVG file. A million points as SVG circles would be a file of about 100 MB that
 * editors choke on, so the points are the PNG the plot exports (as shown: pan, zoom and hidden
 * categories included, at the screen's pixel density) embedded as an image; around it, in
 * vectors, a frame with the embedding's axis names, a title, and the legend of the colour
 * column (the categories drawn, with their cell counts, or the ramp with its range).
 */
import { MISSING_COLOR, viridis } from '../ui/colors.js';
import { svg } from '../ui/dom.js';
import { formatValue, NUMERIC_STEPS, type ColourColumn } from './columns.js';

export interface PlotSvgInput {
  /** The plot's PNG (what Scatter.png gives) and its size in CSS px. */
  png: Blob;
  width: number;
  height: number;
  background: string;
  title: string;
  /** The embedding's key: its axes are named `${key} 1` and `${key} 2`. */
  embedding: string;
  colourName: string | null;
  colour: ColourColumn | null;
  hidden: ReadonlySet<number>;
}

const PAD = 40;
const LEGEND_W = 200;
const ROW = 16;

export async function plotSvg(p: PlotSvgInput): Promise<string> {
  const href = await dataUrl(p.png);
  const dark = luminance(p.background) < 0.4;
  const ink = dark ? '#dddddd' : '#222222';
  const soft = dark ? '#999999' : '#666666';
  const legend = legendRows(p.colour, p.hidden);
  const plotX = PAD;
  const plotY = PAD;
  const width = plotX + p.width + 16 + LEGEND_W;
  const legendH = 30 + (legend.kind === 'ramp' ? 40 : legend.rows.length * ROW);
  const height = Math.max(plotY + p.height + PAD, plotY + legendH);
  const text = (x: number, y: number, s: string, attrs: Record<string, string | number> = {}) =>
    svg('text', { x, y, fill: ink, 'font-family': 'sans-serif', 'font-size': 12, ...attrs }, [s]);
  const root = svg('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
  });
  const image = svg('image', {
    x: plotX,
    y: plotY,
    width: p.width,
    height: p.height,
    preserveAspectRatio: 'none',
  });
  // xlink:href: what SVG 1.1 editors (Inkscape, Illustrator) and browsers all read.
  image.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', href);
  root.append(
    svg('rect', { x: 0, y: 0, width, height, fill: p.background }),
    text(plotX, 24, p.title, { 'font-size': 14, 'font-weight': 'bold' }),
    image,
    svg('rect', {
      x: plotX,
      y: plotY,
      width: p.width,
      height: p.height,
      fill: 'none',
      stroke: soft,
      'stroke-width': 1,
    }),
    text(plotX + p.width / 2, plotY + p.height + 18, `${p.embedding} 1`, {
      'text-anchor': 'middle',
      fill: soft,
    }),
    text(0, 0, `${p.embedding} 2`, {
      'text-anchor': 'middle',
      fill: soft,
      transform: `translate(${plotX - 10} ${plotY + p.height / 2}) rotate(-90)`,
    }),
  );
  const lx = plotX + p.width + 16;
  const legendGroup = svg('g', { class: 'legend' }, [
    text(lx, plotY + 12, p.colourName ?? 'No colour', { 'font-weight': 'bold' }),
  ]);
  if (legend.kind === 'ramp') {
    const stops = viridis(NUMERIC_STEPS);
    legendGroup.append(
      svg('defs', {}, [
        svg(
          'linearGradient',
          { id: 'ramp', x1: 0, x2: 1, y1: 0, y2: 0 },
          stops.map((c, i) => svg('stop', { offset: i / (stops.length - 1), 'stop-color': c })),
        ),
      ]),
      svg('rect', { x: lx, y: plotY + 22, width: LEGEND_W - 20, height: 12, fill: 'url(#ramp)' }),
      text(lx, plotY + 48, formatValue(legend.min), { 'font-size': 11 }),
      text(lx + LEGEND_W - 20, plotY + 48, formatValue(legend.max), {
        'font-size': 11,
        'text-anchor': 'end',
      }),
    );
  } else {
    legend.rows.forEach((r, i) => {
      const y = plotY + 30 + i * ROW;
      legendGroup.append(
        svg('circle', { cx: lx + 5, cy: y - 4, r: 5, fill: r.color }),
        text(lx + 16, y, `${r.name} (${r.count.toLocaleString('en-US')})`, { 'font-size': 11 }),
      );
    });
  }
  root.append(legendGroup);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(root)}\n`;
}

type LegendRows =
  | { kind: 'ramp'; min: number; max: number }
  | { kind: 'rows'; rows: { name: string; color: string; count: number }[] };

/** The categories drawn (not hidden, with cells) and their counts, or the ramp's range. */
function legendRows(col: ColourColumn | null, hidden: ReadonlySet<number>): LegendRows {
  if (!col) return { kind: 'rows', rows: [] };
  if (col.kind === 'numeric') return { kind: 'ramp', min: col.min, max: col.max };
  const missing = col.categories.length;
  const counts = new Int32Array(missing + 1);
  for (let i = 0; i < col.codes.length; i++) {
    const c = col.codes[i];
    counts[c < 0 || c > missing ? missing : c]++;
  }
  const rows = col.categories.map((name, i) => ({ name, color: col.colors[i], count: counts[i] }));
  rows.push({ name: '(missing)', color: MISSING_COLOR, count: counts[missing] });
  return {
    kind: 'rows',
    rows: rows.filter((r, i) => r.count > 0 && !hidden.has(i === missing ? -1 : i)),
  };
}

function dataUrl(blob: Blob): Promise<string> {
  return new Promise((done, fail) => {
    const reader = new FileReader();
    reader.onload = () => done(reader.result as string);
    reader.onerror = () => fail(reader.error ?? new Error('the plot image could not be read'));
    reader.readAsDataURL(blob);
  });
}

/** 0 (black) to 1 (white) for '#rrggbb' or 'rgb(r, g, b)'; 1 if unreadable. */
function luminance(colour: string): number {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(colour);
  const rgb = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(colour);
  const parts = hex ? hex.slice(1).map((h) => parseInt(h, 16)) : rgb?.slice(1).map(Number);
  if (!parts) return 1;
  return (0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]) / 255;
}

/**
 * A histogram of values in [0, 1] as SVG bars: the confidence histograms of the viewer panel
 * and the results webview. Each bar has the number ramp's colour at its bin's middle (the plot's
 * colour for those cells); bins whose upper edge is at or below the threshold are `below`,
 * outlined in the alert colour, and the threshold is a dashed line.
 */
import { ALERT, rampColor } from './colors.js';
import { svg, svgTitle, type Attrs } from './dom.js';

/** `counts[i]` values fell in [edges[i], edges[i + 1]). */
export interface Bins {
  edges: readonly number[];
  counts: readonly number[];
}

/** `n` equal bins over [0, 1]; a value of 1 falls in the last. */
export function unitBins(values: ArrayLike<number>, n: number): Bins {
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) counts[Math.min(n - 1, Math.floor(values[i] * n))]++;
  return { edges: Array.from({ length: n + 1 }, (_, i) => i / n), counts };
}

/** An SVG's size and the margins around its plot. */
export interface Frame {
  width: number;
  height: number;
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export interface HistogramOptions {
  frame: Frame;
  threshold: number;
  /** The x axis's title. */
  title: string;
  /** A bin's tooltip. */
  binTitle(lo: number, hi: number, count: number, last: boolean): string;
  /**
   * 'axes': axis, ticks at quarters, the largest count and the threshold marked, coloured by the
   * page's CSS (.bar, .bar.below, .axis, …); 'ends': only 0, 1 and the title, in 10 px text.
   */
  labels: 'axes' | 'ends';
  /** Attributes of the <svg> (class, id, test id, width and height, aria). */
  attrs?: Attrs;
}

export function histogram(bins: Bins, o: HistogramOptions): SVGSVGElement {
  const f = o.frame;
  const { edges, counts } = bins;
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const axis = f.top + plotH;
  const max = Math.max(1, ...counts); // one number per bin
  const x = (v: number) => f.left + v * plotW;
  const chart = svg('svg', { ...o.attrs, viewBox: `0 0 ${f.width} ${f.height}` });
  counts.forEach((n, i) => {
    const [x0, x1] = [x(edges[i]), x(edges[i + 1])];
    const below = edges[i + 1] <= o.threshold;
    const height = (n / max) * plotH;
    const title = o.binTitle(edges[i], edges[i + 1], n, i === counts.length - 1);
    chart.append(
      svg(
        'rect',
        {
          class: below ? 'bar below' : 'bar',
          'data-bin': i,
          'data-count': n,
          x: x0 + 0.5,
          y: axis - height,
          width: Math.max(0, x1 - x0 - 1),
          height,
          // Attributes, not inline styles (a webview's CSP refuses those); no page CSS sets them.
          fill: rampColor((edges[i] + edges[i + 1]) / 2),
          stroke: below ? ALERT : undefined,
          'stroke-width': below ? 1.5 : undefined,
        },
        [svgTitle(title)],
      ),
    );
  });
  const t = o.threshold;
  const marked = Number.isFinite(t) && t > 0 && t < 1;
  if (o.labels === 'ends') {
    const text = (at: number, label: string) =>
      svg('text', { x: at, y: f.height - 2, 'font-size': 10 }, [label]);
    chart.append(text(x(0), '0'), text(x(1) - 8, '1'), text(x(0.5) - 30, o.title));
    if (marked) {
      chart.append(
        svg('line', {
          class: 'threshold',
          x1: x(t),
          x2: x(t),
          y1: f.top,
          y2: axis,
          stroke: ALERT,
          'stroke-dasharray': '3 2',
        }),
      );
    }
    return chart;
  }
  chart.append(svg('line', { class: 'axis', x1: x(0), x2: x(1), y1: axis, y2: axis }));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(
      svg('line', { class: 'tick', x1: x(t), x2: x(t), y1: axis, y2: axis + 4 }),
      svg('text', { class: 'tick-label', x: x(t), y: axis + 16, 'text-anchor': 'middle' }, [
        String(t),
      ]),
    );
  }
  const yLabel = (y: number, label: string) =>
    svg('text', { class: 'tick-label', x: f.left - 6, y, 'text-anchor': 'end' }, [label]);
  chart.append(
    yLabel(f.top + 10, max.toLocaleString()),
    yLabel(axis, '0'),
    svg('text', { class: 'axis-title', x: x(0.5), y: f.height - 2, 'text-anchor': 'middle' }, [
      o.title,
    ]),
  );
  if (marked) {
    chart.append(
      svg('line', { class: 'threshold', x1: x(t), x2: x(t), y1: f.top, y2: axis }),
      svg('text', { class: 'threshold-label', x: x(t) + 4, y: f.top + 10 }, [`threshold ${t}`]),
    );
  }
  return chart;
}

/**
 * A horizontal bar chart, one row per item (marker genes by saliency): the item's name at the
 * left, a bar from the zero line (leftwards for a negative value), optionally the value at the
 * bar's end and an axis. The viewer panel's compact chart and the saliency webview's.
 */
import { svg, svgTitle, type Attrs } from './dom.js';

export interface BarItem {
  name: string;
  value: number;
  color: string;
}

export interface BarChartOptions {
  width: number;
  /** Margins around the bars; `left` holds the names. */
  margin: { top: number; right: number; bottom: number; left: number };
  /** A row's height, and its bar's offset and height in it. */
  row: number;
  bar: { y: number; height: number };
  /** Text in a row: y offset of its baseline, or of its middle when `central`. */
  text: { y: number; central?: boolean; size?: number };
  /** Space between a name and the plot. */
  nameGap: number;
  /** The thinnest bar drawn, so that a tiny value still shows. */
  minBar?: number;
  /** The value after each bar. */
  values?: boolean;
  /** Draws the zero line, the baseline with the extremes, and this title under it. */
  axisTitle?: string;
  /** Sets width and height on the <svg> (a page without chart CSS sizes it so). */
  sized?: boolean;
  /** Attributes of the <svg>, of each row's <g>, of each bar and of each name. */
  attrs?: Attrs;
  rowAttrs?(item: BarItem, i: number): Attrs;
  barAttrs?(item: BarItem, i: number): Attrs;
  nameAttrs?: Attrs;
  /** A row's tooltip. */
  title(item: BarItem, i: number): string;
}

export function barChart(items: readonly BarItem[], o: BarChartOptions): SVGSVGElement {
  const m = o.margin;
  const values = items.map((d) => (Number.isFinite(d.value) ? d.value : 0));
  const plotW = o.width - m.left - m.right;
  const rows = Math.max(1, items.length);
  const height = m.top + rows * o.row + m.bottom;
  let [lo, hi] = [0, 0];
  for (const v of values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  if (hi === lo) hi = lo + 1;
  const x = (v: number) => m.left + ((v - lo) / (hi - lo)) * plotW;
  const font = { 'font-size': o.text.size, 'dominant-baseline': o.text.central && 'central' };
  const chart = svg('svg', {
    ...o.attrs,
    width: o.sized && o.width,
    height: o.sized && height,
    viewBox: `0 0 ${o.width} ${height}`,
  });
  items.forEach((item, i) => {
    const v = values[i];
    const y = m.top + i * o.row;
    const name = svg(
      'text',
      { ...o.nameAttrs, x: m.left - o.nameGap, y: y + o.text.y, 'text-anchor': 'end', ...font },
      [item.name],
    );
    const bar = svg('rect', {
      ...o.barAttrs?.(item, i),
      x: Math.min(x(0), x(v)),
      y: y + o.bar.y,
      width: Math.max(o.minBar ?? 0, Math.abs(x(v) - x(0))),
      height: o.bar.height,
      fill: item.color,
    });
    const value =
      o.values &&
      svg('text', { class: 'value', x: Math.max(x(0), x(v)) + 4, y: y + o.text.y, ...font }, [
        v.toPrecision(3),
      ]);
    chart.append(svg('g', o.rowAttrs?.(item, i), [svgTitle(o.title(item, i)), name, bar, value]));
  });
  if (o.axisTitle !== undefined) {
    const axis = m.top + rows * o.row;
    const label = (at: number, anchor: string, text: string) =>
      svg('text', { class: 'tick-label', x: at, y: axis + 14, 'text-anchor': anchor }, [text]);
    chart.append(
      svg('line', { class: 'axis', x1: x(0), x2: x(0), y1: m.top, y2: axis }),
      svg('line', { class: 'axis', x1: m.left, x2: m.left + plotW, y1: axis, y2: axis }),
      label(m.left, 'start', lo.toFixed(3)),
      label(m.left + plotW, 'end', hi.toFixed(3)),
      svg(
        'text',
        { class: 'axis-title', x: m.left + plotW / 2, y: axis + 14, 'text-anchor': 'middle' },
        [o.axisTitle],
      ),
    );
  }
  return chart;
}

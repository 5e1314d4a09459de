/**
 * The marker-gene chart of the viewer panel and VS Code's saliency page, one definition: a row
 * per gene (its name in a margin as wide as the longest name needs), a bar from the zero line
 * (scores may be negative), the score after it, and an axis titled "mean attribution".
 */
import { barChart } from './bar-chart.js';
import type { Attrs } from './dom.js';

export interface SaliencyChartOptions {
  width: number;
  /** A row's height (the bar is 6 px less). */
  row: number;
  /** Text size in px: sets the names' margin (and the text, when `sized`). */
  fontSize: number;
  /** A bar's colour. */
  colour(score: number, i: number): string;
  /** Sets the <svg>'s size and font size (a page without chart CSS). */
  sized?: boolean;
  attrs?: Attrs;
}

export function saliencyChart(
  genes: readonly string[],
  scores: readonly number[],
  o: SaliencyChartOptions,
): SVGSVGElement {
  const longest = genes.reduce((n, g) => Math.max(n, g.length), 4);
  // About 0.6 em per character of a sans-serif name; never more than 40 % of the width.
  const left = Math.min(o.width * 0.4, 8 + longest * o.fontSize * 0.62);
  return barChart(
    genes.map((name, i) => ({ name, value: scores[i], color: o.colour(scores[i], i) })),
    {
      width: o.width,
      // Right: the values ("-0.000123" at most), bottom: the axis's labels.
      margin: { top: 4, right: o.fontSize * 4.6, bottom: 20, left },
      row: o.row,
      bar: { y: 3, height: o.row - 6 },
      text: { y: o.row / 2, central: true, size: o.sized ? o.fontSize : undefined },
      nameGap: 6,
      values: true,
      axisTitle: 'mean attribution',
      sized: o.sized,
      attrs: o.attrs,
      rowAttrs: (item) => ({ class: 'gene', 'data-gene': item.name, 'data-score': item.value }),
      barAttrs: (item) => ({ class: 'saliency-bar', 'data-gene': item.name }),
      nameAttrs: { class: 'gene-label' },
      title: (item) => `${item.name}: ${item.value.toPrecision(4)}`,
    },
  );
}

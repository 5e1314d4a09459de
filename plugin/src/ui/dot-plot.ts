/**
 * A dot plot (scanpy's `sc.pl.dotplot`): a row per group of cells, a column per gene; a dot's area
 * is the fraction of the group's cells that express the gene, its colour the gene's mean in the
 * group on the viridis ramp (0 to the plot's largest mean). Gene names stand over the columns,
 * group names left of the rows, and the size and colour legends under the grid. The numbers come
 * from core's groupExpression; this only draws them.
 */
import { rampColor, rampColors } from '@scnym/core/vocabulary';
import { svg, svgTitle, type Attrs } from './dom.js';

export interface DotPlotData {
  /** Row names (groups) and each group's cell count. */
  groups: readonly string[];
  sizes: ArrayLike<number>;
  /** Column names (genes). */
  genes: readonly string[];
  /** Per gene (column), per group (row): fraction expressing and mean. */
  fraction: readonly ArrayLike<number>[];
  mean: readonly ArrayLike<number>[];
  /** What the mean is of, for the colour legend and the tooltips ("log1p(CPM)"). */
  valueLabel: string;
}

export interface DotPlotOptions {
  /** A row's height and a column's width; the largest dot's diameter is a little less. */
  cell: number;
  fontSize: number;
  attrs?: Attrs;
}

const LEGEND_FRACTIONS = [0.2, 0.4, 0.6, 0.8, 1];
/** Between the size legend's dots: room for "100%". */
const LEGEND_STEP = 28;
let rampIds = 0;

export function dotPlot(d: DotPlotData, o: DotPlotOptions): SVGSVGElement {
  const charW = o.fontSize * 0.66; // about 0.6 em per character of a sans-serif name, and some
  const longest = (names: readonly string[]) => names.reduce((n, s) => Math.max(n, s.length), 3);
  const left = 12 + longest(d.groups) * charW;
  const top = 8 + longest(d.genes) * charW;
  const gridW = d.genes.length * o.cell;
  const gridH = d.groups.length * o.cell;
  const legendTop = top + gridH + 14;
  const width = Math.max(left + gridW + 8, 250);
  const maxR = o.cell / 2 - 1;
  // The legends' titles, dots and labels.
  const height = legendTop + 2 * o.fontSize + 2 * maxR + 16;
  const radius = (f: number) => (f > 0 ? Math.max(0.75, maxR * Math.sqrt(f)) : 0);
  let maxMean = 0;
  for (const m of d.mean) for (let g = 0; g < m.length; g++) maxMean = Math.max(maxMean, m[g] || 0);
  const colour = (m: number) => rampColor(maxMean > 0 ? m / maxMean : 0);
  const font = { 'font-size': o.fontSize };

  const chart = svg('svg', {
    ...o.attrs,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    'data-max-mean': maxMean,
  });
  // Faint lines through the rows and columns.
  for (let g = 0; g < d.groups.length; g++) {
    const y = top + (g + 0.5) * o.cell;
    chart.append(
      svg('line', { class: 'grid', x1: left, x2: left + gridW, y1: y, y2: y }),
      svg(
        'text',
        {
          class: 'group-label',
          x: left - 6,
          y,
          'text-anchor': 'end',
          'dominant-baseline': 'central',
          ...font,
        },
        [d.groups[g]],
      ),
    );
  }
  d.genes.forEach((gene, j) => {
    const x = left + (j + 0.5) * o.cell;
    chart.append(
      svg('line', { class: 'grid', x1: x, x2: x, y1: top, y2: top + gridH }),
      svg('g', { 'data-gene': gene }, [
        svgTitle(`${gene}: colour the cells by it`),
        svg(
          'text',
          {
            class: 'gene-label',
            transform: `translate(${x} ${top - 6}) rotate(-90)`,
            'dominant-baseline': 'central',
            ...font,
          },
          [gene],
        ),
      ]),
    );
    for (let g = 0; g < d.groups.length; g++) {
      const f = d.fraction[j][g];
      const m = d.mean[j][g];
      const pct = Number.isFinite(f) ? (100 * f).toFixed(1) : '–';
      const tip =
        `${gene} in ${d.groups[g]}: ${pct}% of ${d.sizes[g].toLocaleString('en-US')} cells ` +
        `express it; mean ${d.valueLabel} ${Number.isFinite(m) ? m.toFixed(3) : '–'}`;
      chart.append(
        svg(
          'circle',
          {
            class: 'dot',
            'data-gene': gene,
            'data-group': d.groups[g],
            'data-fraction': f,
            'data-mean': m,
            cx: x,
            cy: top + (g + 0.5) * o.cell,
            r: radius(f).toFixed(2),
            fill: colour(m),
            stroke: '#888',
            'stroke-width': 0.5,
          },
          [svgTitle(tip)],
        ),
      );
    }
  });

  // Size legend: dots for 20–100 %, then the colour ramp from 0 to the largest mean.
  const title = (x: number, text: string) =>
    svg('text', { class: 'axis-title', x, y: legendTop + o.fontSize, ...font }, [text]);
  const dotsY = legendTop + o.fontSize + 6 + maxR;
  const size = svg('g', { class: 'size-legend' }, [
    title(left > 60 ? 8 : left, 'fraction of cells'),
  ]);
  const legendX = left > 60 ? 8 : left;
  LEGEND_FRACTIONS.forEach((f, i) => {
    const cx = legendX + maxR + i * LEGEND_STEP;
    size.append(
      svg('circle', { cx, cy: dotsY, r: radius(f).toFixed(2), fill: '#999', 'data-fraction': f }),
      svg(
        'text',
        {
          class: 'tick-label',
          x: cx,
          y: dotsY + maxR + o.fontSize + 2,
          'text-anchor': 'middle',
          ...font,
        },
        [`${Math.round(f * 100)}%`],
      ),
    );
  });
  const rampX = legendX + (LEGEND_FRACTIONS.length - 1) * LEGEND_STEP + 2 * maxR + 20;
  const rampW = Math.max(60, Math.min(120, width - rampX - 8));
  const id = `dot-plot-ramp-${++rampIds}`;
  const stops = rampColors(9);
  const gradient = svg(
    'linearGradient',
    { id, x1: 0, x2: 1, y1: 0, y2: 0 },
    stops.map((c, i) => svg('stop', { offset: i / (stops.length - 1), 'stop-color': c })),
  );
  const ramp = svg('g', { class: 'colour-legend' }, [
    svg('defs', {}, [gradient]),
    title(rampX, `mean ${d.valueLabel}`),
    svg('rect', { x: rampX, y: dotsY - 5, width: rampW, height: 10, fill: `url(#${id})` }),
    svg('text', { class: 'tick-label', x: rampX, y: dotsY + maxR + o.fontSize + 2, ...font }, [
      '0',
    ]),
    svg(
      'text',
      {
        class: 'tick-label',
        x: rampX + rampW,
        y: dotsY + maxR + o.fontSize + 2,
        'text-anchor': 'end',
        ...font,
      },
      [maxMean.toFixed(2)],
    ),
  ]);
  chart.append(size, ramp);
  return chart;
}

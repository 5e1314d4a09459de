/**
 * The UI kit of the viewer and the VS Code webviews: element builders, colours, and the two
 * charts. Plain DOM, nothing from the host or VS Code; bundlers take it as `@scnym/plugin/ui`.
 */
export { appendChildren, el, svg, svgTitle, type Attrs, type Child } from './dom.js';
export { ACCENT, ALERT, MISSING_COLOR, categoryColors, viridis } from './colors.js';
export { histogram, unitBins, type Bins, type Frame, type HistogramOptions } from './histogram.js';
export { barChart, type BarChartOptions, type BarItem } from './bar-chart.js';
export { saliencyChart, type SaliencyChartOptions } from './saliency-chart.js';

/**
 * The colours the viewer and its panels draw with: core's category palette (the one the CLI
 * writes to uns, so a saved file looks the same in scanpy), the grey of missing values, the two
 * chart colours, and the viridis ramp for numbers (core's, shared by every confidence chart).
 */
export {
  UNKNOWN_COLOR as MISSING_COLOR,
  categoryColors,
  labelColors,
} from '@scnym/core/vocabulary';

/** Points with no colour column, the lasso, bars and lines (also styles.css's primary button). */
export const ACCENT = '#3a6ea5';
/** What a threshold marks: bins below it, negative scores. */
export const ALERT = '#d62728';

/**
 * `n` colours along the number ramp (viridis), low → high: core's, which the confidence
 * histograms and Vitessce's confidence bins share with the plot.
 */
export { rampColors as viridis, rampColor } from '@scnym/core/vocabulary';

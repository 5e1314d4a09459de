/**
 * The colours the viewer and its panels draw with: core's category palette (the one the CLI
 * writes to uns, so a saved file looks the same in scanpy), the grey of missing values, the two
 * chart colours, and a viridis ramp for numbers.
 */
export { UNKNOWN_COLOR as MISSING_COLOR, categoryColors } from '@scnym/core/vocabulary';

/** Points with no colour column, the lasso, bars and lines (also styles.css's primary button). */
export const ACCENT = '#3a6ea5';
/** What a threshold marks: bins below it, negative scores. */
export const ALERT = '#d62728';

const VIRIDIS = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [109, 205, 89],
  [180, 222, 44],
  [253, 231, 37],
];

function hex(r: number, g: number, b: number): string {
  return '#' + [r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
}

/** `n` colours along viridis, low → high. */
export function viridis(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = (i / Math.max(1, n - 1)) * (VIRIDIS.length - 1);
    const k = Math.min(VIRIDIS.length - 2, Math.floor(t));
    const f = t - k;
    const [a, b] = [VIRIDIS[k], VIRIDIS[k + 1]];
    out.push(hex(a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f));
  }
  return out;
}

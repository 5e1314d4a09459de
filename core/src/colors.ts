/** Label colours: the palette scanpy uses for ≤ 20 categories (tab20 order), grey for Unknown. */
export const CATEGORY_PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#279e68',
  '#d62728',
  '#aa40fc',
  '#8c564b',
  '#e377c2',
  '#b5bd61',
  '#17becf',
  '#aec7e8',
  '#ffbb78',
  '#98df8a',
  '#ff9896',
  '#c5b0d5',
  '#c49c94',
  '#f7b6d2',
  '#dbdb8d',
  '#9edae5',
  '#ad494a',
  '#8c6d31',
];
export const UNKNOWN_COLOR = '#bdbdbd';

/**
 * A colour per label that follows the label's name, so `B cells` reads the same in every column a
 * front end shows (the file's cell types, the predictions): a name in `assigned` keeps its colour,
 * 'Unknown' is always grey, and a new name takes the first palette colour no name has yet (once
 * all are taken, the first one this column does not use yet, then in turn). New names are added
 * to `assigned`, which a front end keeps for the whole page.
 */
export function labelColors(names: readonly string[], assigned: Map<string, string>): string[] {
  const taken = new Set(assigned.values());
  const inColumn = new Set<string>();
  for (const name of names) {
    const color = assigned.get(name);
    if (color !== undefined) inColumn.add(color);
  }
  let turn = 0;
  return names.map((name) => {
    let color = name === 'Unknown' ? UNKNOWN_COLOR : assigned.get(name);
    if (color === undefined) {
      color =
        CATEGORY_PALETTE.find((c) => !taken.has(c)) ??
        CATEGORY_PALETTE.find((c) => !inColumn.has(c)) ??
        CATEGORY_PALETTE[turn++ % CATEGORY_PALETTE.length];
      assigned.set(name, color);
      taken.add(color);
    }
    inColumn.add(color);
    return color;
  });
}

/** One colour per category of one column alone (`labelColors` with nothing assigned yet). */
export function categoryColors(categories: readonly string[]): string[] {
  return labelColors(categories, new Map());
}

/**
 * The ramp numbers are drawn with (viridis, low → high): the viewer's plot and legend colour the
 * confidence with it, and its histogram, Vitessce's confidence bins and VS Code's histogram use
 * the same colours, so a bin reads the same everywhere.
 */
export const CONFIDENCE_RAMP: readonly (readonly [number, number, number])[] = [
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

/** The ramp's colour at `t` in [0, 1] (clamped; not finite: the low end), as #rrggbb. */
export function rampColor(t: number): string {
  const stops = CONFIDENCE_RAMP;
  const u = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) * (stops.length - 1) : 0;
  const k = Math.min(stops.length - 2, Math.floor(u));
  const f = u - k;
  const [a, b] = [stops[k], stops[k + 1]];
  return (
    '#' +
    a
      .map((v, j) =>
        Math.round(v + (b[j] - v) * f)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')
  );
}

/** `n` colours evenly along the ramp, low → high. */
export function rampColors(n: number): string[] {
  return Array.from({ length: n }, (_, i) => rampColor(i / Math.max(1, n - 1)));
}

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

/** One colour per category, in category order; 'Unknown' is always grey. */
export function categoryColors(categories: readonly string[]): string[] {
  return categories.map((c, i) =>
    c === 'Unknown' ? UNKNOWN_COLOR : CATEGORY_PALETTE[i % CATEGORY_PALETTE.length],
  );
}

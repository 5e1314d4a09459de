/**
 * The regl-scatterplot under the viewer: its settings for n points, point colours from a colour
 * column (category codes in valueA, numbers scaled to [0, 1] in valueB), and hidden categories
 * as a filter.
 */
import createScatterplot from 'regl-scatterplot';
import { ACCENT, MISSING_COLOR, viridis } from '../ui/colors.js';
import { NUMERIC_STEPS, type ColourColumn } from './columns.js';

export type Scatterplot = ReturnType<typeof createScatterplot>;

export function createScatter(
  canvas: HTMLCanvasElement,
  n: number,
  background: string,
): Scatterplot {
  return createScatterplot({
    canvas,
    width: 'auto',
    height: 'auto',
    pointSize: pointSize(n, canvas),
    pointSizeSelected: 2,
    pointOutlineWidth: 1,
    opacity: n > 200_000 ? 0.8 : 0.9,
    opacityInactiveScale: 0.4,
    backgroundColor: background,
    lassoColor: ACCENT,
    lassoOnLongPress: false,
    deselectOnEscape: true,
    deselectOnDblClick: false,
    performanceMode: n >= 1_000_000,
  } as Parameters<typeof createScatterplot>[0]);
}

/** Points shrink as there are more of them per pixel. */
export function pointSize(n: number, canvas: HTMLCanvasElement): number {
  const area = Math.max(1, (canvas.clientWidth || 800) * (canvas.clientHeight || 600));
  return Math.max(1.5, Math.min(8, Math.sqrt(area / Math.max(1, n)) * 0.35));
}

/** Sets the colour mapping for `col` and returns the points' values for draw(). */
export async function setColours(
  scatter: Scatterplot,
  col: ColourColumn | null,
  n: number,
): Promise<{ valueA: Float32Array; valueB: Float32Array }> {
  const valueA = new Float32Array(n);
  const valueB = new Float32Array(n);
  if (col?.kind === 'categorical') {
    const missing = col.categories.length;
    for (let i = 0; i < n; i++) valueA[i] = col.codes[i] < 0 ? missing : col.codes[i];
    await scatter.set({ colorBy: 'valueA', pointColor: [...col.colors, MISSING_COLOR] });
  } else if (col?.kind === 'numeric') {
    const span = col.max - col.min || 1;
    for (let i = 0; i < n; i++) {
      const v = col.values[i];
      valueB[i] = Number.isFinite(v) ? Math.min(1, Math.max(0, (v - col.min) / span)) : 0;
    }
    await scatter.set({ colorBy: 'valueB', pointColor: viridis(NUMERIC_STEPS) });
  } else {
    await scatter.set({ colorBy: null, pointColor: ACCENT });
  }
  return { valueA, valueB };
}

/** Shows only the points whose category is not in `hidden`. */
export async function applyHidden(
  scatter: Scatterplot,
  col: ColourColumn | null,
  hidden: ReadonlySet<number>,
): Promise<void> {
  if (!col || col.kind !== 'categorical' || hidden.size === 0) {
    await scatter.unfilter({ preventEvent: true });
    return;
  }
  const keep: number[] = [];
  for (let i = 0; i < col.codes.length; i++) if (!hidden.has(col.codes[i])) keep.push(i);
  await scatter.filter(keep, { preventEvent: true });
}

/**
 * Embeddings: the obsm keys that can be drawn, and an embedding's first two columns scaled into
 * the scatterplot's [-1, 1] square (aspect kept, a 5 % margin, non-finite points at the centre).
 */
import { embeddingChoices } from '@scnym/core/vocabulary';
import type { DatasetSummary } from '../shared/worker-messages.js';

/** The obsm entries to offer: core's rule (X_* with two or more columns, not scNym's latent). */
export function embeddingKeys(summary: DatasetSummary): string[] {
  return embeddingChoices(
    summary.obsm,
    summary.columns.map((c) => c.name),
  );
}

/** `data` holds n rows of (x, y). */
export function normalisedXY(
  data: ArrayLike<number>,
  n: number,
): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const a = data[2 * i];
    const b = data[2 * i + 1];
    x[i] = a;
    y[i] = b;
    if (Number.isFinite(a) && Number.isFinite(b)) {
      if (a < x0) x0 = a;
      if (a > x1) x1 = a;
      if (b < y0) y0 = b;
      if (b > y1) y1 = b;
    }
  }
  const half = Math.max(x1 - x0, y1 - y0, 1e-9) / 2 / 0.95;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  for (let i = 0; i < n; i++) {
    x[i] = Number.isFinite(x[i]) ? (x[i] - cx) / half : 0;
    y[i] = Number.isFinite(y[i]) ? (y[i] - cy) / half : 0;
  }
  return { x, y };
}

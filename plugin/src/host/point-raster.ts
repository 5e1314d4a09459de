/**
 * Points drawn into pixels on the CPU: the stamp a point leaves at a size (the pixels it covers,
 * with their coverage), one pass over the points' typed arrays that blends each point's colour
 * into an RGBA image, and the points inside a lasso. No WebGL: without a GPU (SwiftShader, then
 * the page's compositor reads every WebGL frame back on the main thread) a frame of a million
 * points held the page for about a second; this draws it in tens of milliseconds.
 */

/** The pixels a point covers, as offsets from its pixel, and how much of each (0–1). */
export interface Stamp {
  dx: Int32Array;
  dy: Int32Array;
  cover: Float32Array;
  /** No offset is farther than this from the centre (in either direction). */
  reach: number;
}

/**
 * A square of `size` pixels (rounded) for small points, where a disc would be a blur; above
 * that a disc with an antialiased edge.
 */
export function stamp(size: number): Stamp {
  const dx: number[] = [];
  const dy: number[] = [];
  const cover: number[] = [];
  if (size < 2.5) {
    const side = Math.max(1, Math.round(size));
    const from = -Math.floor((side - 1) / 2);
    for (let j = 0; j < side; j++)
      for (let i = 0; i < side; i++) {
        dx.push(from + i);
        dy.push(from + j);
        cover.push(1);
      }
  } else {
    const r = size / 2;
    const reach = Math.ceil(r);
    for (let j = -reach; j <= reach; j++)
      for (let i = -reach; i <= reach; i++) {
        const c = Math.min(1, Math.max(0, r + 0.5 - Math.hypot(i, j)));
        if (c <= 0) continue;
        dx.push(i);
        dy.push(j);
        cover.push(c);
      }
  }
  const reach = dx.reduce((m, v, k) => Math.max(m, Math.abs(v), Math.abs(dy[k])), 0);
  return {
    dx: Int32Array.from(dx),
    dy: Int32Array.from(dy),
    cover: Float32Array.from(cover),
    reach,
  };
}

/** Data → pixel: px = x0 + x·scale, py = y0 − y·scale (y up). */
export interface Transform {
  x0: number;
  y0: number;
  scale: number;
}

export interface PointLayer {
  x: Float32Array;
  y: Float32Array;
  /** Each point's palette entry. */
  colour: Uint16Array;
  /** The palette as r, g, b bytes per entry. */
  rgb: Uint8Array;
  /** 1 for a palette entry whose points are not drawn (a hidden category). */
  hidden: Uint8Array;
}

/**
 * Blends the points of `layer` into `image` with opacity `alpha`, in index order (later on
 * top). With `selected`, only the points whose flag equals `which` are drawn.
 */
export function drawPoints(
  image: ImageData,
  layer: PointLayer,
  t: Transform,
  s: Stamp,
  alpha: number,
  selected: Uint8Array | null = null,
  which = 1,
): void {
  const { x, y, colour, rgb, hidden } = layer;
  const { width: w, height: h, data } = image;
  const { dx, dy, cover, reach } = s;
  const m = dx.length;
  for (let i = 0; i < x.length; i++) {
    if (selected && selected[i] !== which) continue;
    const c = colour[i];
    if (hidden[c]) continue;
    const px = Math.floor(t.x0 + x[i] * t.scale);
    const py = Math.floor(t.y0 - y[i] * t.scale);
    if (px < -reach || py < -reach || px >= w + reach || py >= h + reach) continue;
    const inside = px >= reach && py >= reach && px < w - reach && py < h - reach;
    const r = rgb[3 * c];
    const g = rgb[3 * c + 1];
    const b = rgb[3 * c + 2];
    for (let k = 0; k < m; k++) {
      const qx = px + dx[k];
      const qy = py + dy[k];
      if (!inside && (qx < 0 || qy < 0 || qx >= w || qy >= h)) continue;
      const a = alpha * cover[k];
      const o = (qy * w + qx) * 4;
      data[o] += (r - data[o]) * a;
      data[o + 1] += (g - data[o + 1]) * a;
      data[o + 2] += (b - data[o + 2]) * a;
    }
  }
}

/**
 * The shown points whose pixel is inside `mask` (w × h, non-zero inside: the lasso filled), in
 * index order.
 */
export function pointsInMask(
  layer: PointLayer,
  t: Transform,
  mask: Uint8Array,
  w: number,
  h: number,
): number[] {
  const { x, y, colour, hidden } = layer;
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (hidden[colour[i]]) continue;
    const px = Math.floor(t.x0 + x[i] * t.scale);
    const py = Math.floor(t.y0 - y[i] * t.scale);
    if (px >= 0 && py >= 0 && px < w && py < h && mask[py * w + px]) out.push(i);
  }
  return out;
}

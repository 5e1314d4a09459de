/**
 * The scatterplot under the viewer: pan (drag) and zoom (wheel), a lasso (in lasso mode, or
 * shift-drag), a click selecting a point, Escape clearing the selection, hover, hidden
 * categories, and the selection drawn over the other points faded. Per-point state lives in
 * typed arrays (coordinates, palette entries, the selection's flags); each change is drawn once,
 * at the next animation frame. Hover (a uniform grid) and the lasso (a pixel mask) work on those
 * arrays, whichever painter draws the points (painter.ts):
 *
 * - On a GPU, WebGL with regl (webgl-painter.ts): the arrays uploaded once per change, a frame
 *   is a draw call, so pan and zoom stay smooth at a million points.
 * - Without one, the CPU (point-raster.ts) into a 2-D canvas: there the browser draws WebGL
 *   with SwiftShader and composites the page on the CPU, reading every WebGL frame back on the
 *   main thread — about a second per frame of a million points, the page frozen for each
 *   redraw, hover and lasso move — while the CPU raster draws the same frame in tens of
 *   milliseconds.
 *
 * 'auto' (the default) picks WebGL only for a hardware renderer; a lost WebGL context falls back
 * to the CPU. The canvas's data-renderer says which painter draws.
 */
import { ACCENT, MISSING_COLOR, viridis } from '../ui/colors.js';
import { NUMERIC_STEPS, type ColourColumn } from './columns.js';
import { DEFAULT_RENDERER, type Renderer } from '../shared/config.js';
import { CpuPainter, createPainter, type PointPainter, type PointState } from './painter.js';
import { PointGrid } from './point-grid.js';
import { pointsInMask, type PointLayer, type Transform } from './point-raster.js';

export type MouseMode = 'panZoom' | 'lasso';

export interface ScatterEvents {
  /** The user selected these cells (lasso or click), in index order. */
  select(cells: number[]): void;
  /** The user cleared the selection (Escape). */
  deselect(): void;
  pointOver(i: number): void;
  pointOut(): void;
}

/** Each point's palette entry and the palette (CSS colours). */
export interface PointColours {
  colour: Uint16Array;
  palette: string[];
}

/** Unselected points are drawn this much fainter while there is a selection. */
const INACTIVE = 0.4;
/** A mouse that moves less than this (CSS px) between down and up clicked. */
const CLICK_SLOP = 3;
/** How far from a point (CSS px, at least) the mouse still hovers it. */
const HOVER_RADIUS = 4;
const ZOOM_LIMITS = [0.5, 2000] as const;

export class Scatter {
  private readonly ctx: CanvasRenderingContext2D;
  private painter: PointPainter = new CpuPainter();
  /** What changed since the painter last painted. */
  private changed: PointState['changed'] = {
    points: true,
    colours: true,
    hidden: true,
    selected: true,
  };
  private x: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private grid: PointGrid | null = null;
  /** The points' x0 x1 y0 y1 (data units). */
  private extent = [0, 0, 0, 0];
  private colour: Uint16Array = new Uint16Array(0);
  private rgb: Uint8Array;
  private hidden = new Uint8Array(1);
  private selected: Uint8Array | null = null;
  /** r, g, b bytes. */
  private readonly background: Uint8Array;
  private mode: MouseMode = 'panZoom';
  /** Zoom and pan (device px) around the plot's centre. */
  private view = { zoom: 1, panX: 0, panY: 0 };
  private hovered = -1;
  /** A press: a lasso or a pan, where it started and where the mouse was last (CSS px). */
  private drag: {
    lasso: boolean;
    x: number;
    y: number;
    lastX: number;
    lastY: number;
    moved: boolean;
  } | null = null;
  /** The lasso being drawn: CSS px pairs. */
  private lasso: number[] = [];
  private mouse: { x: number; y: number } | null = null;
  private stale = { points: true, hover: false };
  private frame: number | null = null;
  private drawn: (() => void)[] = [];

  /**
   * A scatterplot on `canvas` (the top one: the mouse, the hover ring and the lasso; WebGL draws
   * its points on a canvas of its own under it) with the painter `renderer` asks for.
   */
  static async create(
    canvas: HTMLCanvasElement,
    background: string,
    events: ScatterEvents,
    renderer: Renderer = DEFAULT_RENDERER,
  ): Promise<Scatter> {
    const scatter = new Scatter(canvas, background, events);
    scatter.usePainter(await createPainter(renderer, canvas, () => scatter.contextLost()));
    return scatter;
  }

  private constructor(
    private readonly canvas: HTMLCanvasElement,
    background: string,
    private readonly events: ScatterEvents,
  ) {
    this.ctx = canvas.getContext('2d')!;
    canvas.dataset.renderer = this.painter.kind;
    this.background = parseColours([background], this.ctx);
    this.rgb = parseColours([ACCENT], this.ctx);
    new ResizeObserver(() => this.redraw()).observe(canvas);
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointerleave', () => this.leave());
    canvas.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    window.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.selected) {
        this.select(null);
        this.events.deselect();
      }
    });
  }

  /** New coordinates (scaled into [-1, 1]²): the view is reset and the hover forgotten. */
  setPoints(x: Float32Array, y: Float32Array): Promise<void> {
    this.x = x;
    this.y = y;
    this.grid = new PointGrid(x, y);
    this.extent = extent(x, y);
    if (this.colour.length !== x.length) this.colour = new Uint16Array(x.length);
    if (this.selected && this.selected.length !== x.length) this.selected = null;
    this.changed.points = true;
    this.view = { zoom: 1, panX: 0, panY: 0 };
    this.setHovered(-1);
    return this.redraw();
  }

  setColours({ colour, palette }: PointColours): Promise<void> {
    this.colour = colour;
    this.rgb = parseColours(palette, this.ctx);
    this.hidden = new Uint8Array(palette.length);
    this.changed.colours = true;
    return this.redraw();
  }

  /** Hides the points of these palette entries (−1: the last, the missing values'). */
  setHidden(entries: ReadonlySet<number>): Promise<void> {
    this.hidden.fill(0);
    for (const e of entries) this.hidden[e < 0 ? this.hidden.length - 1 : e] = 1;
    this.changed.hidden = true;
    return this.redraw();
  }

  /** Shows these cells as selected (null or none: no selection); no event. */
  select(cells: ArrayLike<number> | null): Promise<void> {
    if (!cells || cells.length === 0) this.selected = null;
    else {
      this.selected = new Uint8Array(this.x.length);
      for (let k = 0; k < cells.length; k++) this.selected[cells[k]] = 1;
    }
    this.changed.selected = true;
    return this.redraw();
  }

  setMode(mode: MouseMode): void {
    this.mode = mode;
  }

  /** Draws at the next frame; resolves once drawn. */
  redraw(): Promise<void> {
    this.stale.points = true;
    return this.schedule();
  }

  /** Which painter draws the points. */
  renderer(): PointPainter['kind'] {
    return this.painter.kind;
  }

  // ------------------------------------------------------------------ drawing

  private usePainter(painter: PointPainter): void {
    this.painter.destroy();
    this.painter = painter;
    this.canvas.dataset.renderer = painter.kind;
    this.changed = { points: true, colours: true, hidden: true, selected: true };
    void this.redraw();
  }

  /** The WebGL context was lost (the GPU reset, too many contexts): the CPU draws from now on. */
  private contextLost(): void {
    console.warn('scatterplot: the WebGL context was lost; drawing on the CPU');
    this.usePainter(new CpuPainter());
  }

  private schedule(): Promise<void> {
    const done = new Promise<void>((ok) => this.drawn.push(ok));
    this.frame ??= requestAnimationFrame(() => this.draw());
    return done;
  }

  private draw(): void {
    this.frame = null;
    const { canvas } = this;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      // Fit on resize: the view's scale follows the shorter side, and the pan with it, so an
      // unzoomed plot fits the new size and a zoomed one keeps its centre.
      const k = Math.min(w, h) / Math.max(1, Math.min(canvas.width, canvas.height));
      this.view = { zoom: this.view.zoom, panX: this.view.panX * k, panY: this.view.panY * k };
      canvas.width = w;
      canvas.height = h;
      this.stale.points = true;
    }
    if (this.stale.points) this.paint(w, h);
    if (this.stale.hover && this.mouse) this.findHovered();
    this.stale = { points: false, hover: false };
    this.painter.under(this.ctx);
    this.drawOverlay();
    const drawn = this.drawn;
    this.drawn = [];
    for (const ok of drawn) ok();
  }

  private paint(w: number, h: number): void {
    const state = { ...this.layer(), selected: this.selected, changed: this.changed };
    const frame = {
      transform: this.transform(),
      width: w,
      height: h,
      size: this.pointSize() * (window.devicePixelRatio || 1),
      alpha: this.x.length > 200_000 ? 0.8 : 0.9,
      inactive: INACTIVE,
      background: this.background,
    };
    try {
      this.painter.paint(state, frame);
    } catch (err) {
      if (this.painter.kind === 'cpu') throw err;
      // A GPU driver refusing what regl asks: the CPU draws from now on.
      console.warn('scatterplot: WebGL failed, drawing on the CPU:', err);
      this.usePainter(new CpuPainter());
      this.painter.paint({ ...state, changed: this.changed }, frame);
    }
    this.changed = { points: false, colours: false, hidden: false, selected: false };
    this.canvas.dataset.bounds = this.pointBounds(frame.transform, frame.size).join(' ');
  }

  /** The drawn points' box in device px (left top right bottom), for tests and checks. */
  private pointBounds(t: Transform, size: number): number[] {
    const e = this.extent;
    const r = size / 2;
    return [
      t.x0 + e[0] * t.scale - r,
      t.y0 - e[3] * t.scale - r,
      t.x0 + e[1] * t.scale + r,
      t.y0 - e[2] * t.scale + r,
    ].map((v) => Math.round(v));
  }

  /** The points as the plot shows them, without the hover ring or the lasso, as a PNG. */
  png(): Promise<Blob | null> {
    const { width: w, height: h } = this.canvas;
    const out = document.createElement('canvas');
    [out.width, out.height] = [w, h];
    const ctx = out.getContext('2d')!;
    // Painted now: a WebGL drawing buffer is readable until this task ends.
    this.paint(w, h);
    this.painter.under(ctx);
    const points = this.painter.points?.();
    if (points) ctx.drawImage(points, 0, 0);
    return new Promise((done) => out.toBlob(done, 'image/png'));
  }

  /** Back to the whole embedding, fitted to the canvas. */
  resetView(): Promise<void> {
    this.view = { zoom: 1, panX: 0, panY: 0 };
    return this.redraw();
  }

  /** The hovered point's ring and the lasso, over the points. */
  private drawOverlay(): void {
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    if (this.hovered >= 0) {
      const t = this.transform();
      const r = (Math.max(this.pointSize(), HOVER_RADIUS) / 2 + 3) * dpr;
      ctx.beginPath();
      ctx.arc(
        t.x0 + this.x[this.hovered] * t.scale,
        t.y0 - this.y[this.hovered] * t.scale,
        r,
        0,
        7,
      );
      ctx.lineWidth = 2 * dpr;
      ctx.strokeStyle = '#222';
      ctx.stroke();
    }
    if (this.lasso.length >= 4) {
      ctx.beginPath();
      ctx.moveTo(this.lasso[0] * dpr, this.lasso[1] * dpr);
      for (let k = 2; k < this.lasso.length; k += 2)
        ctx.lineTo(this.lasso[k] * dpr, this.lasso[k + 1] * dpr);
      ctx.closePath();
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeStyle = ACCENT;
      ctx.fillStyle = 'rgba(58, 110, 165, 0.08)';
      ctx.fill();
      ctx.stroke();
    }
  }

  private layer(): PointLayer {
    return { x: this.x, y: this.y, colour: this.colour, rgb: this.rgb, hidden: this.hidden };
  }

  /** Data → device px for the canvas's size and the view. */
  private transform(): Transform {
    const { width: w, height: h } = this.canvas;
    return {
      x0: w / 2 + this.view.panX,
      y0: h / 2 + this.view.panY,
      scale: (Math.min(w, h) / 2) * this.view.zoom,
    };
  }

  /** CSS px: smaller as there are more points per pixel. */
  private pointSize(): number {
    return pointSize(this.x.length, this.canvas);
  }

  // ------------------------------------------------------------------ the mouse

  private down(e: PointerEvent): void {
    if (e.button !== 0) return;
    this.canvas.setPointerCapture(e.pointerId);
    const [x, y] = [e.offsetX, e.offsetY];
    this.drag = {
      lasso: this.mode === 'lasso' || e.shiftKey,
      x,
      y,
      lastX: x,
      lastY: y,
      moved: false,
    };
    this.lasso = [];
  }

  private move(e: PointerEvent): void {
    this.mouse = { x: e.offsetX, y: e.offsetY };
    const drag = this.drag;
    if (!drag) {
      this.stale.hover = true;
      void this.schedule();
      return;
    }
    if (Math.hypot(e.offsetX - drag.x, e.offsetY - drag.y) >= CLICK_SLOP) drag.moved = true;
    if (drag.lasso) {
      const n = this.lasso.length;
      if (n === 0 || Math.hypot(e.offsetX - this.lasso[n - 2], e.offsetY - this.lasso[n - 1]) >= 2)
        this.lasso.push(e.offsetX, e.offsetY);
      void this.schedule();
    } else if (drag.moved) {
      const dpr = window.devicePixelRatio || 1;
      this.view.panX += (e.offsetX - drag.lastX) * dpr;
      this.view.panY += (e.offsetY - drag.lastY) * dpr;
      void this.redraw();
    }
    drag.lastX = e.offsetX;
    drag.lastY = e.offsetY;
  }

  private up(e: PointerEvent): void {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    if (drag.lasso && drag.moved && this.lasso.length >= 6) {
      const cells = this.inLasso();
      this.lasso = [];
      void this.select(cells);
      this.events.select(cells);
    } else if (!drag.moved) {
      this.mouse = { x: e.offsetX, y: e.offsetY };
      this.findHovered();
      if (this.hovered >= 0) {
        const cells = [this.hovered];
        void this.select(cells);
        this.events.select(cells);
      }
    }
    this.lasso = [];
    void this.schedule();
  }

  private leave(): void {
    this.mouse = null;
    if (!this.drag) this.setHovered(-1);
    void this.schedule();
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const dpr = window.devicePixelRatio || 1;
    const factor = Math.exp(-e.deltaY * (e.deltaMode === 0 ? 0.002 : 0.05));
    const zoom = Math.min(ZOOM_LIMITS[1], Math.max(ZOOM_LIMITS[0], this.view.zoom * factor));
    // The point under the mouse stays there.
    const { width: w, height: h } = this.canvas;
    const mx = e.offsetX * dpr - w / 2;
    const my = e.offsetY * dpr - h / 2;
    const k = zoom / this.view.zoom;
    this.view = {
      zoom,
      panX: mx - (mx - this.view.panX) * k,
      panY: my - (my - this.view.panY) * k,
    };
    void this.redraw();
  }

  /** The shown point under the mouse (within the hover radius), and the events if it changed. */
  private findHovered(): void {
    if (!this.grid || !this.mouse) return this.setHovered(-1);
    const dpr = window.devicePixelRatio || 1;
    const t = this.transform();
    const qx = (this.mouse.x * dpr - t.x0) / t.scale;
    const qy = (t.y0 - this.mouse.y * dpr) / t.scale;
    const radius = (Math.max(this.pointSize() / 2, HOVER_RADIUS) * dpr) / t.scale;
    const hidden = this.hidden;
    const colour = this.colour;
    this.setHovered(this.grid.nearest(qx, qy, radius, (i) => hidden[colour[i]] === 1));
  }

  private setHovered(i: number): void {
    if (i === this.hovered) return;
    this.hovered = i;
    if (i >= 0) this.events.pointOver(i);
    else this.events.pointOut();
  }

  /** The shown points inside the lasso: the lasso filled into a mask of the canvas's pixels. */
  private inLasso(): number[] {
    const { width: w, height: h } = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const maskCanvas = new OffscreenCanvas(w, h);
    const m = maskCanvas.getContext('2d', { willReadFrequently: true })!;
    m.beginPath();
    m.moveTo(this.lasso[0] * dpr, this.lasso[1] * dpr);
    for (let k = 2; k < this.lasso.length; k += 2)
      m.lineTo(this.lasso[k] * dpr, this.lasso[k + 1] * dpr);
    m.closePath();
    m.fillStyle = '#000';
    m.fill();
    const rgba = m.getImageData(0, 0, w, h).data;
    const mask = new Uint8Array(w * h);
    for (let p = 0; p < mask.length; p++) mask[p] = rgba[4 * p + 3] >= 128 ? 1 : 0;
    return pointsInMask(this.layer(), this.transform(), mask, w, h);
  }
}

/** Points shrink as there are more of them per pixel (CSS px). */
export function pointSize(n: number, canvas: HTMLCanvasElement): number {
  const area = Math.max(1, (canvas.clientWidth || 800) * (canvas.clientHeight || 600));
  return Math.max(1.5, Math.min(8, Math.sqrt(area / Math.max(1, n)) * 0.35));
}

/**
 * Each point's palette entry for a colour column: a category's code (missing: the last entry),
 * or a number's step on the viridis ramp (missing or not finite: the last entry); without a
 * column, one colour.
 */
export function pointColours(col: ColourColumn | null, n: number): PointColours {
  const colour = new Uint16Array(n);
  if (col?.kind === 'categorical') {
    const missing = col.categories.length;
    const codes = col.codes;
    for (let i = 0; i < n; i++) {
      const c = codes[i];
      colour[i] = c < 0 || c >= missing ? missing : c;
    }
    return { colour, palette: [...col.colors, MISSING_COLOR] };
  }
  if (col?.kind === 'numeric') {
    const span = col.max - col.min || 1;
    const top = NUMERIC_STEPS - 1;
    const values = col.values;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      colour[i] = Number.isFinite(v)
        ? Math.round(Math.min(1, Math.max(0, (v - col.min) / span)) * top)
        : NUMERIC_STEPS;
    }
    return { colour, palette: [...viridis(NUMERIC_STEPS), MISSING_COLOR] };
  }
  return { colour, palette: [ACCENT] };
}

/** CSS colours as r, g, b bytes, through the canvas's own parser (any CSS colour works). */
function parseColours(colours: readonly string[], ctx: CanvasRenderingContext2D): Uint8Array {
  const out = new Uint8Array(3 * colours.length);
  colours.forEach((c, k) => {
    ctx.fillStyle = '#000';
    ctx.fillStyle = c;
    const s = String(ctx.fillStyle);
    const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(s);
    const rgb = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s);
    const parts = hex
      ? hex.slice(1).map((h) => parseInt(h, 16))
      : rgb
        ? rgb.slice(1).map(Number)
        : [0, 0, 0];
    out.set(parts, 3 * k);
  });
  return out;
}

/** x0 x1 y0 y1 of the points, in one pass (no spreading of per-cell arrays). */
function extent(x: Float32Array, y: Float32Array): number[] {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < x.length; i++) {
    if (x[i] < x0) x0 = x[i];
    if (x[i] > x1) x1 = x[i];
    if (y[i] < y0) y0 = y[i];
    if (y[i] > y1) y1 = y[i];
  }
  return x.length ? [x0, x1, y0, y1] : [0, 0, 0, 0];
}

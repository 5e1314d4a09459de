/**
 * What paints the scatterplot's points: the step Scatter calls with the points' state and the
 * view, behind which it keeps all interaction (pan, zoom, lasso, hover, selection). Two
 * painters: WebGL with regl on a GPU (webgl-painter.ts, loaded only when used) and the CPU
 * raster (point-raster.ts) without one, where WebGL would run on a software rasteriser
 * (SwiftShader, llvmpipe) that holds the page for about a second per frame of a million points.
 */
import type { Renderer } from '../shared/config.js';
import { drawPoints, stamp, type PointLayer, type Transform } from './point-raster.js';

/** The points and what changed in them since the painter last painted. */
export interface PointState extends PointLayer {
  /** 1 for a selected point; null: no selection. */
  selected: Uint8Array | null;
  changed: { points: boolean; colours: boolean; hidden: boolean; selected: boolean };
}

export interface PaintFrame {
  transform: Transform;
  /** Device px. */
  width: number;
  height: number;
  /** A point's size, device px. */
  size: number;
  alpha: number;
  /** Unselected points are drawn with alpha × this while there is a selection. */
  inactive: number;
  /** r, g, b bytes. */
  background: Uint8Array;
}

export interface PointPainter {
  readonly kind: Exclude<Renderer, 'auto'>;
  /** Draws the points (uploading what changed first). */
  paint(state: PointState, frame: PaintFrame): void;
  /** Draws what the overlay canvas shows under the hover ring and the lasso. */
  under(ctx: CanvasRenderingContext2D): void;
  /** The canvas the points are on when it is not the overlay (WebGL's), for an export. */
  points?(): HTMLCanvasElement;
  destroy(): void;
}

/** The points blended into an ImageData on the CPU, put on the overlay canvas under the rest. */
export class CpuPainter implements PointPainter {
  readonly kind = 'cpu';
  private image: ImageData | null = null;

  paint(state: PointState, frame: PaintFrame): void {
    const { width: w, height: h } = frame;
    if (this.image?.width !== w || this.image.height !== h) this.image = new ImageData(w, h);
    const image = this.image;
    const [r, g, b] = frame.background;
    new Uint32Array(image.data.buffer).fill(new Uint32Array(Uint8Array.of(r, g, b, 255).buffer)[0]);
    if (state.x.length === 0) return;
    const s = stamp(frame.size);
    const t = frame.transform;
    if (!state.selected) drawPoints(image, state, t, s, frame.alpha);
    else {
      drawPoints(image, state, t, s, frame.alpha * frame.inactive, state.selected, 0);
      drawPoints(image, state, t, s, 1, state.selected, 1);
    }
  }

  under(ctx: CanvasRenderingContext2D): void {
    if (this.image) ctx.putImageData(this.image, 0, 0);
  }

  destroy(): void {
    this.image = null;
  }
}

/**
 * Whether a WebGL renderer string (WEBGL_debug_renderer_info's unmasked one) names a software
 * rasteriser: slower than the CPU raster, so 'auto' does not use it.
 */
export function softwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|software|softpipe|mesa offscreen/i.test(renderer);
}

/**
 * A WebGL context on `canvas` for the points, or null. With `hardwareOnly` ('auto'), only a GPU's:
 * the browser must not flag a major performance caveat, and the unmasked renderer must not be a
 * software rasteriser.
 */
export function pointsContext(
  canvas: HTMLCanvasElement,
  hardwareOnly: boolean,
): WebGLRenderingContext | null {
  const gl = canvas.getContext('webgl', {
    alpha: false,
    antialias: false,
    depth: false,
    stencil: false,
    premultipliedAlpha: true,
    preserveDrawingBuffer: false,
    failIfMajorPerformanceCaveat: hardwareOnly,
  });
  if (!gl || !hardwareOnly) return gl;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  if (!softwareRenderer(renderer)) return gl;
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return null;
}

/**
 * The painter for `renderer`: WebGL on its own canvas under `overlay` when asked for ('webgl')
 * or when there is a GPU ('auto') and the context and shaders can be made; else the CPU's.
 * `lost` is called if the WebGL context is lost later (the caller falls back to the CPU).
 */
export async function createPainter(
  renderer: Renderer,
  overlay: HTMLCanvasElement,
  lost: () => void,
): Promise<PointPainter> {
  if (renderer === 'cpu') return new CpuPainter();
  const canvas = document.createElement('canvas');
  canvas.className = 'plot-points';
  const gl = pointsContext(canvas, renderer === 'auto');
  if (gl) {
    try {
      const { WebglPainter } = await import('./webgl-painter.js');
      const painter = new WebglPainter(canvas, gl, lost);
      overlay.before(canvas);
      return painter;
    } catch (err) {
      // E.g. a page whose CSP forbids eval (regl compiles its commands with new Function).
      console.warn('scatterplot: WebGL unavailable, drawing on the CPU:', err);
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } else if (renderer === 'webgl')
    console.warn('scatterplot: no WebGL context, drawing on the CPU');
  return new CpuPainter();
}

/**
 * The points painted on the GPU with regl, on a canvas under the overlay. The typed arrays are
 * uploaded once per change (x, y as float buffers; each point's palette entry and selection
 * flag as uint16 / uint8 attributes); the palette is a texture whose alpha says whether an
 * entry is shown (hidden categories are discarded in the fragment shader); a frame is one or two
 * gl.POINTS draws with the view as uniforms. The look follows the CPU raster (point-raster.ts):
 * a square below 2.5 px, else an antialiased disc, on the same pixel; the selection drawn over
 * the other points, faded.
 */
import createREGL from 'regl';
import type { PaintFrame, PointPainter, PointState } from './painter.js';

/** The palette texture's width: entry k is at (k mod 256, ⌊k / 256⌋). */
const PALETTE_WIDTH = 256;

const VERT = `
precision highp float;
attribute float x, y, colour, selected;
uniform vec3 transform;
uniform vec2 canvasSize;
uniform float side, offset, which, useSelection, paletteRows;
varying vec2 texel;
void main() {
  if (useSelection > 0.5 && abs(selected - which) > 0.5) {
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
    gl_PointSize = 0.0;
    return;
  }
  // The pixel the CPU raster puts the point on (point-raster.ts), then the stamp's centre.
  vec2 p = floor(vec2(transform.x + x * transform.z, transform.y - y * transform.z)) + offset;
  gl_Position = vec4(p.x / canvasSize.x * 2.0 - 1.0, 1.0 - p.y / canvasSize.y * 2.0, 0.0, 1.0);
  gl_PointSize = side;
  texel = vec2(
    (mod(colour, ${PALETTE_WIDTH}.0) + 0.5) / ${PALETTE_WIDTH}.0,
    (floor(colour / ${PALETTE_WIDTH}.0) + 0.5) / paletteRows
  );
}`;

const FRAG = `
precision mediump float;
uniform sampler2D palette;
uniform float alpha, disc, radius, sprite;
varying vec2 texel;
void main() {
  vec4 c = texture2D(palette, texel);
  if (c.a < 0.5) discard;
  float cover = 1.0;
  if (disc > 0.5) {
    cover = clamp(radius + 0.5 - length(gl_PointCoord - 0.5) * sprite, 0.0, 1.0);
    if (cover <= 0.0) discard;
  }
  gl_FragColor = vec4(c.rgb, alpha * cover);
}`;

interface DrawProps {
  count: number;
  transform: [number, number, number];
  canvasSize: [number, number];
  side: number;
  offset: number;
  which: number;
  useSelection: number;
  alpha: number;
  disc: number;
  radius: number;
}

export class WebglPainter implements PointPainter {
  readonly kind = 'webgl';
  private readonly regl: createREGL.Regl;
  private readonly x: createREGL.Buffer;
  private readonly y: createREGL.Buffer;
  private readonly colour: createREGL.Buffer;
  private readonly selected: createREGL.Buffer;
  private readonly palette: createREGL.Texture2D;
  private paletteRows = 1;
  private count = 0;
  private readonly drawPoints: createREGL.DrawCommand<createREGL.DefaultContext, DrawProps>;
  private readonly onLost: () => void;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    gl: WebGLRenderingContext,
    lost: () => void,
  ) {
    this.regl = createREGL({ gl });
    const regl = this.regl;
    this.x = regl.buffer({ type: 'float', usage: 'static', length: 0 });
    this.y = regl.buffer({ type: 'float', usage: 'static', length: 0 });
    this.colour = regl.buffer({ type: 'uint16', usage: 'static', length: 0 });
    this.selected = regl.buffer({ type: 'uint8', usage: 'static', length: 0 });
    this.palette = regl.texture({ width: 1, height: 1, min: 'nearest', mag: 'nearest' });
    const prop = <K extends keyof DrawProps>(k: K) => regl.prop<DrawProps, K>(k);
    this.drawPoints = regl<object, object, DrawProps>({
      vert: VERT,
      frag: FRAG,
      primitive: 'points',
      count: prop('count'),
      attributes: {
        x: { buffer: this.x, type: 'float' },
        y: { buffer: this.y, type: 'float' },
        colour: { buffer: this.colour, type: 'uint16' },
        selected: { buffer: this.selected, type: 'uint8' },
      },
      uniforms: {
        transform: prop('transform'),
        canvasSize: prop('canvasSize'),
        side: prop('side'),
        offset: prop('offset'),
        which: prop('which'),
        useSelection: prop('useSelection'),
        alpha: prop('alpha'),
        disc: prop('disc'),
        radius: prop('radius'),
        sprite: prop('side'),
        palette: this.palette,
        paletteRows: () => this.paletteRows,
      },
      depth: { enable: false },
      blend: {
        enable: true,
        func: {
          srcRGB: 'src alpha',
          dstRGB: 'one minus src alpha',
          srcAlpha: 'zero',
          dstAlpha: 'one',
        },
      },
    });
    this.onLost = () => lost();
    canvas.addEventListener('webglcontextlost', this.onLost);
  }

  paint(state: PointState, frame: PaintFrame): void {
    if (this.regl._gl.isContextLost()) return;
    this.upload(state);
    const { canvas, regl } = this;
    if (canvas.width !== frame.width || canvas.height !== frame.height) {
      canvas.width = frame.width;
      canvas.height = frame.height;
    }
    // The viewport follows the canvas's new size.
    regl.poll();
    const [r, g, b] = frame.background;
    regl.clear({ color: [r / 255, g / 255, b / 255, 1] });
    if (this.count === 0) return;
    // As the CPU's stamp: a square of the rounded size below 2.5 px, else a disc with an
    // antialiased edge, in an odd sprite centred on the point's pixel that holds the edge.
    const square = frame.size < 2.5;
    const side = square
      ? Math.max(1, Math.round(frame.size))
      : 2 * Math.ceil(frame.size / 2 + 0.5) + 1;
    const t = frame.transform;
    const props: DrawProps = {
      count: this.count,
      transform: [t.x0, t.y0, t.scale],
      canvasSize: [frame.width, frame.height],
      side,
      // The square covers floor((side − 1) / 2) pixels left of the point's pixel.
      offset: square ? side / 2 - Math.floor((side - 1) / 2) : 0.5,
      which: 0,
      useSelection: 0,
      alpha: frame.alpha,
      disc: square ? 0 : 1,
      radius: frame.size / 2,
    };
    if (!state.selected) this.drawPoints(props);
    else {
      this.drawPoints({ ...props, useSelection: 1, which: 0, alpha: frame.alpha * frame.inactive });
      this.drawPoints({ ...props, useSelection: 1, which: 1, alpha: 1 });
    }
  }

  /** Uploads what changed since the last paint. */
  private upload(state: PointState): void {
    const { changed } = state;
    const n = state.x.length;
    if (changed.points || this.count !== n) {
      this.x({ data: state.x, type: 'float', usage: 'static' });
      this.y({ data: state.y, type: 'float', usage: 'static' });
      this.count = n;
    }
    if (changed.colours || changed.points) {
      this.colour({ data: state.colour, type: 'uint16', usage: 'static' });
    }
    if (changed.colours || changed.hidden) this.uploadPalette(state.rgb, state.hidden);
    if (changed.selected || changed.points) {
      // Zeros without a selection: the attribute is bound either way.
      this.selected({
        data: state.selected ?? new Uint8Array(n),
        type: 'uint8',
        usage: 'static',
      });
    }
  }

  /** The palette as RGBA texels; alpha 0 for a hidden entry. */
  private uploadPalette(rgb: Uint8Array, hidden: Uint8Array): void {
    const entries = rgb.length / 3;
    const rows = Math.max(1, Math.ceil(entries / PALETTE_WIDTH));
    const texels = new Uint8Array(PALETTE_WIDTH * rows * 4);
    for (let k = 0; k < entries; k++) {
      texels.set(rgb.subarray(3 * k, 3 * k + 3), 4 * k);
      texels[4 * k + 3] = hidden[k] ? 0 : 255;
    }
    this.palette({
      width: PALETTE_WIDTH,
      height: rows,
      data: texels,
      min: 'nearest',
      mag: 'nearest',
    });
    this.paletteRows = rows;
  }

  under(ctx: CanvasRenderingContext2D): void {
    // The points are on this painter's canvas, under the overlay.
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  }

  points(): HTMLCanvasElement {
    return this.canvas;
  }

  destroy(): void {
    this.canvas.removeEventListener('webglcontextlost', this.onLost);
    if (!this.regl._gl.isContextLost()) this.regl.destroy();
    this.canvas.remove();
  }
}

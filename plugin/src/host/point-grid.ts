/**
 * A uniform grid over the points of an embedding (scaled into [-1, 1]²), for finding the point
 * under the mouse without looking at every point: the points sorted by cell (a counting sort,
 * three passes over typed arrays) and where each cell's run starts.
 */
export class PointGrid {
  private readonly side: number;
  /** Cell k's points are order[start[k]] … order[start[k + 1] − 1]. */
  private readonly start: Int32Array;
  private readonly order: Int32Array;

  constructor(
    private readonly x: Float32Array,
    private readonly y: Float32Array,
  ) {
    const n = x.length;
    // About 8 points a cell on average.
    this.side = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 8))));
    const cells = this.side * this.side;
    const cellOf = new Int32Array(n);
    const start = new Int32Array(cells + 1);
    for (let i = 0; i < n; i++) {
      const k = this.cell(x[i], y[i]);
      cellOf[i] = k;
      start[k + 1]++;
    }
    for (let k = 0; k < cells; k++) start[k + 1] += start[k];
    const next = start.slice(0, cells);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[next[cellOf[i]]++] = i;
    this.start = start;
    this.order = order;
  }

  /**
   * The point nearest to (qx, qy) within `radius` (data units) that `skip` does not rule out,
   * or −1.
   */
  nearest(qx: number, qy: number, radius: number, skip: (i: number) => boolean): number {
    const lo = (v: number) => this.index(v - radius);
    const hi = (v: number) => this.index(v + radius);
    let best = -1;
    let bestD = radius * radius;
    for (let gy = lo(qy); gy <= hi(qy); gy++) {
      for (let gx = lo(qx); gx <= hi(qx); gx++) {
        const k = gy * this.side + gx;
        for (let p = this.start[k]; p < this.start[k + 1]; p++) {
          const i = this.order[p];
          const d = (this.x[i] - qx) ** 2 + (this.y[i] - qy) ** 2;
          if (d <= bestD && !skip(i)) {
            best = i;
            bestD = d;
          }
        }
      }
    }
    return best;
  }

  private index(v: number): number {
    const g = Math.floor(((v + 1) / 2) * this.side);
    return g < 0 ? 0 : g >= this.side ? this.side - 1 : g;
  }

  private cell(x: number, y: number): number {
    return this.index(y) * this.side + this.index(x);
  }
}

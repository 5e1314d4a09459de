/**
 * Mean distance to the k nearest of a few thousand points in a few dimensions, exactly. The points
 * are grouped by a few rounds of k-means (√n groups, seeded from their order along the first
 * coordinate, so the same points give the same groups), each group with its centre and radius. A
 * query visits the groups nearest first and stops at the first whose every point must be further
 * than the k-th distance found (its centre's distance less its radius: the triangle inequality),
 * and abandons a distance once its partial sum is too large. Cells lie in clusters, so a query
 * visits a group or two: ~8 µs at 5,000 points in 10 dimensions, where a walk along the first
 * coordinate alone took 60.
 */

const KMEANS_ROUNDS = 8;
const MAX_GROUPS = 128;

export class NearestPoints {
  /** Points grouped: group g's are rows start[g] … start[g + 1] − 1, row-major n × dim. */
  private readonly points: Float64Array;
  private readonly start: Int32Array;
  private readonly centres: Float64Array;
  private readonly radius: Float64Array;
  /** Each point's distance from its group's centre; a group's points are in descending order of it. */
  private readonly rho: Float64Array;
  readonly n: number;
  readonly groups: number;
  /** Per query: the k best squared distances (ascending), and the groups' bounds and order. */
  private readonly best: Float64Array;
  private readonly bound: Float64Array;
  private readonly order: Int32Array;
  private readonly centre: Float64Array;

  constructor(
    coords: ArrayLike<number>,
    readonly dim: number,
    readonly k: number,
  ) {
    const n = Math.floor(coords.length / dim);
    if (!(k >= 1 && k <= n)) throw new RangeError(`${k} neighbours among ${n} points`);
    this.n = n;
    const groups = Math.max(1, Math.min(MAX_GROUPS, Math.round(Math.sqrt(n))));
    this.groups = groups;
    const { assignment, centres } = kMeans(coords, n, dim, groups);
    // Points grouped in place, then each group's centre (its mean) and radius.
    const count = new Int32Array(groups + 1);
    for (let i = 0; i < n; i++) count[assignment[i] + 1]++;
    for (let g = 0; g < groups; g++) count[g + 1] += count[g];
    this.start = Int32Array.from(count);
    const centreDistance = (i: number) => {
      const g = assignment[i];
      let d2 = 0;
      for (let d = 0; d < dim; d++) d2 += (coords[i * dim + d] - centres[g * dim + d]) ** 2;
      return Math.sqrt(d2);
    };
    const distanceOf = Float64Array.from({ length: n }, (_, i) => centreDistance(i));
    const placed = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => assignment[a] - assignment[b] || distanceOf[b] - distanceOf[a] || a - b,
    );
    this.points = new Float64Array(n * dim);
    // A hair wider than measured, so that rounding never prunes a point it should not.
    this.rho = new Float64Array(n);
    placed.forEach((i, at) => {
      for (let d = 0; d < dim; d++) this.points[at * dim + d] = coords[i * dim + d];
      this.rho[at] = distanceOf[i] * (1 + 1e-12) + 1e-12;
    });
    this.centres = centres;
    this.radius = new Float64Array(groups);
    for (let g = 0; g < groups; g++)
      this.radius[g] = this.start[g + 1] > this.start[g] ? this.rho[this.start[g]] : 0;
    this.best = new Float64Array(k);
    this.bound = new Float64Array(groups);
    this.order = new Int32Array(groups);
    this.centre = new Float64Array(groups);
  }

  /** Mean Euclidean distance from `query` (dim values from `offset`) to its k nearest points. */
  meanDistance(query: ArrayLike<number>, offset = 0): number {
    const { points, start, centres, radius, rho, dim, k, groups, best, bound, order, centre } =
      this;
    best.fill(Infinity);
    // Each group's lower bound on its points' distances, and the groups in ascending order of it
    // (insertion sort: ~100 groups, nearly free beside the distances).
    for (let g = 0; g < groups; g++) {
      let d2 = 0;
      for (let d = 0; d < dim; d++) d2 += (query[offset + d] - centres[g * dim + d]) ** 2;
      centre[g] = Math.sqrt(d2);
      const gap = centre[g] - radius[g];
      const b = gap > 0 ? gap * gap : 0;
      let j = g;
      while (j > 0 && bound[j - 1] > b) {
        bound[j] = bound[j - 1];
        order[j] = order[j - 1];
        j--;
      }
      bound[j] = b;
      order[j] = g;
    }
    for (let j = 0; j < groups; j++) {
      if (bound[j] >= best[k - 1]) break; // this group and every later one are too far
      const g = order[j];
      const dc = centre[g];
      for (let i = start[g]; i < start[g + 1]; i++) {
        const worst = best[k - 1];
        // |dc − ρ| bounds the distance from below; beyond the centre's distance it only grows as
        // ρ falls, so the rest of the group (nearer its centre) is too far as well.
        const below = dc - rho[i];
        if (below > 0 && below * below >= worst) break;
        const at = i * dim;
        let d2 = 0;
        for (let d = 0; d < dim && d2 < worst; d++) {
          const diff = query[offset + d] - points[at + d];
          d2 += diff * diff;
        }
        if (d2 >= worst) continue;
        let s = k - 1;
        while (s > 0 && best[s - 1] > d2) {
          best[s] = best[s - 1];
          s--;
        }
        best[s] = d2;
      }
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.sqrt(best[j]);
    return sum / k;
  }
}

/**
 * Lloyd's k-means, deterministic: the first centres are the points at evenly spaced ranks along
 * the first coordinate; an emptied group keeps its last centre.
 */
function kMeans(
  coords: ArrayLike<number>,
  n: number,
  dim: number,
  groups: number,
): { assignment: Int32Array; centres: Float64Array } {
  const byFirst = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => coords[a * dim] - coords[b * dim] || a - b,
  );
  const centres = new Float64Array(groups * dim);
  for (let g = 0; g < groups; g++) {
    const i = byFirst[Math.floor(((g + 0.5) * n) / groups)];
    for (let d = 0; d < dim; d++) centres[g * dim + d] = coords[i * dim + d];
  }
  const assignment = new Int32Array(n);
  const sums = new Float64Array(groups * dim);
  const sizes = new Float64Array(groups);
  for (let round = 0; round <= KMEANS_ROUNDS; round++) {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD2 = Infinity;
      for (let g = 0; g < groups; g++) {
        let d2 = 0;
        for (let d = 0; d < dim && d2 < bestD2; d++)
          d2 += (coords[i * dim + d] - centres[g * dim + d]) ** 2;
        if (d2 < bestD2) {
          bestD2 = d2;
          best = g;
        }
      }
      assignment[i] = best;
    }
    // Each centre becomes its group's mean (after the last round: the centre the radius is from).
    sums.fill(0);
    sizes.fill(0);
    for (let i = 0; i < n; i++) {
      const g = assignment[i];
      sizes[g]++;
      for (let d = 0; d < dim; d++) sums[g * dim + d] += coords[i * dim + d];
    }
    for (let g = 0; g < groups; g++) {
      if (sizes[g] === 0) continue;
      for (let d = 0; d < dim; d++) centres[g * dim + d] = sums[g * dim + d] / sizes[g];
    }
  }
  return { assignment, centres };
}

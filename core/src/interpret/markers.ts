/** Per-class aggregation of attributions into ranked marker genes. */

export interface RankedGene {
  /** 1 = strongest. */
  rank: number;
  gene: string;
  score: number;
}

/**
 * Genes ordered by score: `descending` (default) gives the genes that push most toward the
 * class, ascending the ones that push most away from it (toward the contrast, if any).
 */
export function rankGenes(
  scores: ArrayLike<number>,
  genes: readonly string[],
  top: number,
  order: 'descending' | 'ascending' = 'descending',
): RankedGene[] {
  if (scores.length !== genes.length) {
    throw new RangeError(`${scores.length} scores for ${genes.length} genes`);
  }
  const sign = order === 'descending' ? -1 : 1;
  const index = Array.from({ length: genes.length }, (_, i) => i)
    .filter((i) => Number.isFinite(scores[i]))
    .sort((a, b) => sign * (scores[a] - scores[b]) || a - b);
  return index.slice(0, Math.max(0, top)).map((i, r) => ({
    rank: r + 1,
    gene: genes[i],
    score: scores[i],
  }));
}

/** Running per-gene mean of attribution rows (cells × genes, row-major). */
export class AttributionMean {
  private readonly sum: Float64Array;
  private n = 0;

  constructor(readonly nGenes: number) {
    this.sum = new Float64Array(nGenes);
  }

  add(rows: Float32Array): void {
    const nRows = rows.length / this.nGenes;
    for (let r = 0; r < nRows; r++) {
      const base = r * this.nGenes;
      for (let g = 0; g < this.nGenes; g++) this.sum[g] += rows[base + g];
    }
    this.n += nRows;
  }

  get count(): number {
    return this.n;
  }

  mean(): Float32Array {
    return Float32Array.from(this.sum, (s) => (this.n ? s / this.n : NaN));
  }
}

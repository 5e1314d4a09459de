/**
 * A dot plot's numbers (scanpy's `sc.pl.dotplot`): per group of cells and gene, the fraction of
 * the group's cells that express the gene (value > 0) and the gene's mean over all the group's
 * cells (zeros included). One pass over a gene's values per gene, typed arrays only: a million
 * cells × 30 genes is 30 linear scans. Dependency-free (no TF.js), for the viewer's page and VS
 * Code as well as Node; exported through `@scnym/core/scores` too.
 */

/** Cells per group: `codes[i]` is cell i's group (0 ≤ code < nGroups; anything else: no group). */
export function groupSizes(codes: ArrayLike<number>, nGroups: number): Int32Array {
  const sizes = new Int32Array(nGroups);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c >= 0 && c < nGroups) sizes[c]++;
  }
  return sizes;
}

export interface GroupExpression {
  /** Fraction of the group's cells with a value > 0 (NaN for an empty group). */
  fraction: Float64Array;
  /** Mean value over the group's cells, zeros included (NaN for an empty group). */
  mean: Float64Array;
}

/**
 * One gene's fraction expressing and mean per group. `values[i]` is the gene in cell i (e.g. its
 * log1p(CPM) as the gene-major cache serves it); `sizes` from groupSizes (computed once for all
 * the genes of a plot).
 */
export function groupExpression(
  values: ArrayLike<number>,
  codes: ArrayLike<number>,
  nGroups: number,
  sizes: Int32Array = groupSizes(codes, nGroups),
): GroupExpression {
  if (values.length !== codes.length) {
    throw new RangeError(`${values.length} values for ${codes.length} cells`);
  }
  const expressing = new Float64Array(nGroups);
  const sum = new Float64Array(nGroups);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v > 0)) continue; // zeros add nothing to the sum; NaN is not expressed
    const c = codes[i];
    if (c < 0 || c >= nGroups) continue;
    expressing[c]++;
    sum[c] += v;
  }
  const fraction = new Float64Array(nGroups);
  const mean = new Float64Array(nGroups);
  for (let g = 0; g < nGroups; g++) {
    fraction[g] = sizes[g] > 0 ? expressing[g] / sizes[g] : NaN;
    mean[g] = sizes[g] > 0 ? sum[g] / sizes[g] : NaN;
  }
  return { fraction, mean };
}

/**
 * The dot plot's columns: the top `perClass` genes of each class's markers in class order, each
 * gene once (where two classes share a marker it stays under the first).
 */
export function dotPlotGenes(
  markers: readonly { readonly genes: readonly string[] }[],
  perClass: number,
): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of markers) {
    let taken = 0;
    for (const gene of m.genes) {
      if (taken >= perClass) break;
      if (seen.has(gene)) continue;
      seen.add(gene);
      out.push(gene);
      taken++;
    }
  }
  return out;
}

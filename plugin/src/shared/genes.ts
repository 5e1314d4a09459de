/**
 * What `GET /api/genes` answers (the server's gene-major cache of the query) and how a gene's
 * values are asked for: `GET /api/genes/<index>?values=log1p|raw`, little-endian float32 per cell.
 */

/** log1p(CPM): what the model sees (core's normalisation); raw: the matrix's stored values. */
export type GeneValues = 'log1p' | 'raw';

export const GENE_VALUES_LABEL: Record<GeneValues, string> = {
  log1p: 'log1p(CPM)',
  raw: 'raw',
};

export interface GeneStatus {
  state: 'building' | 'ready' | 'failed';
  /** Rows read of all rows, while building. */
  done: number;
  total: number;
  /** What the values come from (X, layers/counts or raw/X), when ready. */
  matrix?: string;
  /** Seconds the build took, when ready. */
  buildSeconds?: number;
  /** Gene names by naming (var_names, then the matrix's string var columns), when ready. */
  names?: Record<string, string[]>;
  error?: string;
}

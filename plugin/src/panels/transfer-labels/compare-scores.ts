/**
 * The Compare section's scoring, run in the panel's worker: the labels (a code per cell) against a
 * column of known labels (codes too), by core's evaluatePredictions. At a million cells one
 * scoring takes about a second, after every hand edit: on the page's main thread that froze the
 * page. Requests that queue up while one is scored are answered once, for the latest.
 */
import { evaluatePredictions, type EvaluationReport } from '@scnym/core/scores';
import { UNKNOWN_LABEL } from '@scnym/core/vocabulary';
import type { FromWorker, ScoreRequest } from '../../shared/worker-messages.js';

/** Labels as codes into names (−1 or out of range: missing, or 'Unknown' for the labels). */
export interface CodedLabels {
  codes: Int32Array;
  names: readonly string[];
}

/** Scores `labels` against `truth`; cells without a known label are left out. */
export function scoreLabels(
  truth: CodedLabels,
  labels: CodedLabels,
  confidence: Float32Array,
): EvaluationReport {
  const n = labels.codes.length;
  if (truth.codes.length !== n) {
    throw new RangeError(`${truth.codes.length} known labels for ${n} cells`);
  }
  const known = new Array<string | null>(n);
  const predicted = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    known[i] = truth.names[truth.codes[i]] ?? null;
    predicted[i] = labels.names[labels.codes[i]] ?? UNKNOWN_LABEL;
  }
  return evaluatePredictions({ truth: known, predicted, confidence });
}

/** The worker's side of Compare: answers the latest request once the queued ones are read. */
export class CompareScorer {
  private pending: ScoreRequest | null = null;

  constructor(private readonly post: (m: FromWorker) => void) {}

  request(m: ScoreRequest): void {
    const idle = this.pending === null;
    this.pending = m;
    // Messages already queued arrive before this timer: only the latest of them is scored.
    if (idle) setTimeout(() => this.answer(), 0);
  }

  private answer(): void {
    const m = this.pending;
    this.pending = null;
    if (!m) return;
    try {
      const report = scoreLabels(m.truth, m.labels, m.confidence);
      this.post({ type: 'scores', id: m.id, report });
    } catch (err) {
      this.post({ type: 'scores', id: m.id, report: null, error: (err as Error).message });
    }
  }
}

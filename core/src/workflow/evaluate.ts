/**
 * evaluate: predictions stored in a file scored against a column of known labels (TF-free:
 * core's scores).
 */
import type { AnnData } from '../anndata/types.js';
import { evaluateAnnData, type EvaluateRequest, type EvaluationReport } from '../evaluate.js';
import type { WorkflowControl } from './events.js';

export async function evaluate(
  data: AnnData,
  request: EvaluateRequest,
  control: WorkflowControl = {},
): Promise<EvaluationReport> {
  control.onEvent?.({ type: 'progress', stage: 'scoring', done: 0, total: 1 });
  const report = await evaluateAnnData(data, request);
  control.onEvent?.({ type: 'progress', stage: 'scoring', done: 1, total: 1 });
  return report;
}

/**
 * explain: the genes behind a class — over the cells predicted as it, an obs group, or a
 * selection of cells (a lasso) — by gradient, integrated or expected gradients (core's saliency,
 * in passes a cancel stops within one). explainClasses: the same for several classes, leaving
 * out those no cell is predicted as (with a warning).
 */
import type { AnnData } from '../anndata/types.js';
import { isScnymError, throwIfAborted } from '../errors.js';
import {
  saliencyAnnData,
  type SaliencyModel,
  type SaliencyRequest,
  type SaliencyResult,
} from '../interpret/saliency.js';
import { layerControl, type WorkflowControl } from './events.js';

export type ExplainRequest = SaliencyRequest;

export function explain(
  model: SaliencyModel,
  data: AnnData,
  request: ExplainRequest,
  control: WorkflowControl = {},
  /** Where expected gradients draw reference cells from (default: the data's other cells). */
  reference: AnnData | null = null,
): Promise<SaliencyResult> {
  return saliencyAnnData(model, data, request, layerControl(control), reference);
}

export async function explainClasses(
  model: SaliencyModel,
  data: AnnData,
  classNames: readonly string[],
  request: Omit<ExplainRequest, 'className'>,
  control: WorkflowControl = {},
  reference: AnnData | null = null,
): Promise<SaliencyResult[]> {
  const results: SaliencyResult[] = [];
  for (const [i, className] of classNames.entries()) {
    throwIfAborted(control.signal);
    control.onEvent?.({
      type: 'progress',
      stage: 'saliency',
      done: i,
      total: classNames.length,
      detail: className,
    });
    try {
      results.push(await explain(model, data, { ...request, className }, control, reference));
    } catch (err) {
      if (!isScnymError(err, 'no-cells')) throw err;
      control.onEvent?.({
        type: 'warning',
        message: `${className}: ${err.message.split('\n')[0]}`,
      });
    }
  }
  control.onEvent?.({
    type: 'progress',
    stage: 'saliency',
    done: classNames.length,
    total: classNames.length,
  });
  return results;
}

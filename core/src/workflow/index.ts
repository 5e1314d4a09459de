// The workflow every front end runs (the CLI, the viewer's worker, the VS Code extension's
// worker): one function per user action, each with one event stream and an AbortSignal.
export type { WorkflowControl, WorkflowEvent } from './events.js';
export {
  annotate,
  predictQuery,
  type AnnotateRequest,
  type AnnotateResult,
  type OutputRequest,
  type PredictionOutput,
  type PredictModel,
  type PredictQueryRequest,
} from './annotate.js';
export { explain, explainClasses, type ExplainRequest } from './explain.js';
export { evaluate } from './evaluate.js';

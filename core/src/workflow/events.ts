/**
 * The one event stream every workflow function reports on, whatever the front end: progress
 * (with the same words for the CLI's bar, the viewer's panel and VS Code's notification),
 * training's own events (for live loss charts), warnings and notices. Cancellation is the
 * caller's AbortSignal; a cancelled workflow throws AbortError.
 */
import type { Control } from '../prepare.js';
import type { TrainEvent } from '../train/trainer.js';
import { LINEAR_HEAD_STAGE, trainingProgress, type ProgressEvent } from '../vocabulary.js';

export type WorkflowEvent =
  | ({ type: 'progress' } & ProgressEvent)
  | { type: 'training'; event: TrainEvent }
  /** Something the user should know about the result (missing genes, a fallback matrix, …). */
  | { type: 'warning'; message: string }
  /** Something that happened along the way (waiting for another writer, cleanup after a kill). */
  | { type: 'notice'; message: string };

export interface WorkflowControl {
  signal?: AbortSignal;
  onEvent?: (event: WorkflowEvent) => void;
}

/** The progress stages of the lower layers, in the words the user reads. */
const STAGE_WORDS: Record<string, string> = {
  reference: 'reading reference',
  query: 'reading query',
  predict: 'predicting',
  'saliency-read': 'reading cells',
  linear: LINEAR_HEAD_STAGE,
};

/** The lower layers' callbacks (prepare, train, predict, saliency), reporting as events. */
export function layerControl(control: WorkflowControl): Control & {
  onTrainEvent: (event: TrainEvent) => void;
  onNotice: (message: string) => void;
} {
  const emit = control.onEvent ?? (() => undefined);
  const training = trainingProgress();
  return {
    signal: control.signal,
    onProgress: (stage, done, total) =>
      emit({ type: 'progress', stage: STAGE_WORDS[stage] ?? stage, done, total }),
    onWarning: (message) => emit({ type: 'warning', message }),
    onNotice: (message) => emit({ type: 'notice', message }),
    onTrainEvent: (event) => {
      emit({ type: 'training', event });
      emit({ type: 'progress', ...training(event) });
    },
  };
}

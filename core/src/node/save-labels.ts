/**
 * Saves labels edited by hand (the VS Code viewer's relabels) into the dataset they were read
 * from: only scNym's label column and its colours, replaced all at once or not at all through the
 * writer every run uses (write-file.ts: atomic, one writer per file). Another writer of the
 * file is refused at once rather than waited for: the user is looking at a Save button.
 */
import { ScnymError } from '../errors.js';
import { labelAnnotations } from '../label-edits.js';
import { annotationKeys, keyAddedProblem } from '../vocabulary.js';
import type { WorkflowControl } from '../workflow/index.js';
import { layerControl } from '../workflow/events.js';
import { writeAnnotationsToFile } from './write-file.js';

export interface LabelsToSave {
  /** The prefix the labels are kept under (obs[keyAdded], uns[`${keyAdded}_colors`]). */
  keyAdded: string;
  /** A code per cell into `categories`; −1: no label. */
  codes: Int32Array;
  categories: readonly string[];
}

/** Writes the labels into `path`; resolves with the keys written ('obs/scNym', …). */
export async function saveLabelsFile(
  path: string,
  labels: LabelsToSave,
  control: WorkflowControl = {},
): Promise<string[]> {
  const bad = (problem: string, hint: string) =>
    new ScnymError(problem, {
      file: path,
      element: `obs/${labels.keyAdded}`,
      hint,
      code: 'bad-input',
    });
  const keyProblem = keyAddedProblem(labels.keyAdded);
  if (keyProblem) throw bad(keyProblem, 'set scnym.keyAdded to such a prefix');
  const { categories, codes } = labels;
  if (categories.some((c) => typeof c !== 'string' || c.trim() === '')) {
    throw bad('has an empty label', 'give every relabelled cell a non-empty label');
  }
  if (new Set(categories).size !== categories.length) {
    throw bad('has a label twice among its categories', 'each label must be listed once');
  }
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] < -1 || codes[i] >= categories.length) {
      throw bad(
        `cell ${i} has label code ${codes[i]}, outside the ${categories.length} labels`,
        'save the labels from the viewer again',
      );
    }
  }
  const annotations = labelAnnotations(labels.keyAdded, labels);
  control.onEvent?.({ type: 'progress', stage: 'saving', done: 0, total: 1 });
  await writeAnnotationsToFile(path, annotations, {
    overwrite: true,
    lockWaitMs: 0,
    signal: control.signal,
    onNotice: layerControl(control).onNotice,
  });
  control.onEvent?.({ type: 'progress', stage: 'saving', done: 1, total: 1 });
  const keys = annotationKeys(labels.keyAdded);
  return [`obs/${keys.label}`, `uns/${keys.colors}`];
}

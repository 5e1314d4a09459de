/** The webviews the commands open, behind one small interface (wired in extension.ts). */
import type { ResultsModel, SaliencyMethodName, SaliencyModel } from '../messages.js';

export interface Panels {
  showResults(results: ResultsModel): void;
  showSaliency(
    saliency: SaliencyModel,
    recompute: (method: SaliencyMethodName) => Promise<SaliencyModel>,
  ): void;
  openViewer(path: string): void;
  reloadViewers(path: string): void;
  /** Hand edits not saved in the viewers of a dataset. */
  unsavedEdits(path: string): number;
}

/**
 * Relabel in the VS Code viewer: the cells of the lasso selection get a label typed or chosen
 * (the plugin's Relabel section: undo and redo, Ctrl+Z and Ctrl+Shift+Z), a category can be
 * renamed from the legend, and Save writes the labels into the dataset through the extension
 * host (core's saveLabelsFile: obs[labelKey] and its colours, atomically). The labels edited
 * are the predictions, obs[labelKey] (scnym.keyAdded); the edits are core's LabelEdits.
 */
import { categoryColors, UNKNOWN_COLOR } from '@scnym/core/vocabulary';
import { LabelEdits } from '@scnym/core/label-edits';
import { RelabelView } from '@scnym/plugin/relabel-view';
import type { ViewerApi } from '@scnym/plugin/api';
import { el } from '@scnym/plugin/ui';
import type { FromViewerView, ToViewerView } from '../messages.js';

type Saved = Extract<ToViewerView, { type: 'saved' }>;

export class ViewerRelabel {
  private labels: LabelEdits | null = null;
  /** A save is out: edits wait for its answer (so the answer marks the right state saved). */
  private saving = false;
  private readonly relabel: RelabelView;
  private readonly saveButton = el('button', { id: 'vs-save', class: 'primary', disabled: true });
  private readonly saveInfo = el('div', { id: 'vs-save-info', class: 'small muted' });
  private readonly about = el('div', { id: 'vs-relabel-about', class: 'small muted' });
  readonly element: HTMLElement;

  constructor(
    private readonly viewer: ViewerApi,
    private readonly labelKey: string,
    datasetName: string,
    private readonly post: (m: FromViewerView) => void,
  ) {
    this.relabel = new RelabelView(viewer, {
      relabel: (cells, name) => this.edit((l) => l.relabel(cells, name)),
      undo: () => this.edit((l) => l.undo()),
      redo: () => this.edit((l) => l.redo()),
    });
    this.saveButton.textContent = `Save into ${datasetName}`;
    this.saveButton.onclick = () => this.save();
    this.element = el('div', { id: 'vs-relabel' }, [
      this.about,
      this.relabel.element,
      el('div', { class: 'section', id: 'vs-save-section' }, [
        el('h3', {}, ['Save']),
        el('div', { class: 'buttons' }, [this.saveButton]),
        this.saveInfo,
      ]),
    ]);
  }

  /** Reads the predictions; without them the section says how to get some. */
  async start(): Promise<void> {
    const key = this.labelKey;
    const info = this.viewer
      .data()
      .columns()
      .find((c) => c.name === key);
    if (info?.kind !== 'categorical') {
      this.about.textContent =
        `No scNym predictions (obs['${key}']) in this dataset to correct: run ` +
        '“scNym: Annotate Dataset…” or “scNym: Predict with Model…” on it first.';
      this.relabel.element.hidden = true;
      this.element.querySelector<HTMLElement>('#vs-save-section')!.hidden = true;
      return;
    }
    const column = await this.viewer.data().obsColumn(key);
    if (column.kind !== 'categorical') return;
    this.labels = new LabelEdits(Int32Array.from(column.codes), column.categories);
    this.about.textContent = `Corrects obs['${key}']: lasso cells, type or pick a label.`;
    this.viewer.renameCategories?.(
      key,
      (code, name) => void this.edit((l) => l.rename(code, name)),
    );
    this.publish();
  }

  /** The host's answer to a save. */
  saved(m: Saved): void {
    this.saving = false;
    document.body.dataset.saving = 'false';
    if ('error' in m) {
      this.saveInfo.textContent = `save failed: ${m.error}`;
      this.saveInfo.classList.add('error');
    } else {
      this.labels?.markSaved();
      this.saveInfo.classList.remove('error');
      this.saveInfo.textContent = `saved ${m.written.join(', ')}`;
      document.body.dataset.saved = String(Number(document.body.dataset.saved ?? 0) + 1);
    }
    this.showState();
  }

  private async edit(change: (labels: LabelEdits) => unknown): Promise<LabelEdits | null> {
    if (!this.labels) return null;
    if (this.saving) {
      this.relabel.say('saving… edit again once it is saved');
      return null;
    }
    change(this.labels);
    this.publish();
    await this.viewer.colorBy(this.labelKey);
    return this.labels;
  }

  /** The labels as they stand, to colour by and show in the legend and tooltips. */
  private publish(): void {
    const labels = this.labels!;
    const { codes, categories } = labels;
    // The colours Save writes (core's palette over the categories some cell holds), so the
    // plot looks the same before and after a save.
    const kept = labels.compact().categories;
    const palette = new Map(categoryColors(kept).map((c, i) => [kept[i], c]));
    this.viewer.addObsColumn(this.labelKey, {
      kind: 'categorical',
      codes,
      categories,
      colors: categories.map((c) => palette.get(c) ?? UNKNOWN_COLOR),
    });
    this.relabel.setClasses(categories);
    this.relabel.showHistory(labels);
    this.showState();
  }

  private showState(): void {
    const labels = this.labels;
    const unsaved = labels?.dirty ? Math.max(1, labels.edited) : 0;
    this.saveButton.disabled = !labels || !labels.dirty || this.saving;
    document.body.dataset.unsaved = String(unsaved);
    this.post({ type: 'edits', unsaved });
  }

  private save(): void {
    const labels = this.labels;
    if (!labels || this.saving) return;
    this.saving = true;
    document.body.dataset.saving = 'true';
    this.saveButton.disabled = true;
    this.saveInfo.classList.remove('error');
    this.saveInfo.textContent = 'saving…';
    // A copy: the page keeps editing its own.
    this.post({
      type: 'save',
      codes: Int32Array.from(labels.codes),
      categories: [...labels.categories],
    });
  }
}

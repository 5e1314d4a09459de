/**
 * The Transfer-labels panel's controller: it owns the state (the worker's result, the labels
 * with the hand edits), the training worker and its messages, and hands each section its part.
 * The sections are views: form, progress, confidence, markers, relabel, save.
 */
import { describeProgress, NOVELTY_COLOUR_RANGE } from '@scnym/core/vocabulary';
import type { ViewerApi } from '../../host/api.js';
import {
  withHint,
  type AnnotateRequest,
  type AnnotateResult,
  type FromWorker,
  type ToWorker,
} from '../../shared/worker-messages.js';
import { el } from '../../ui/dom.js';
import { CompareView } from './compare-view.js';
import { ConfidenceView } from './confidence-view.js';
import { DotPlotView } from './dot-plot-view.js';
import { FormView } from './form-view.js';
import { CONFIDENCE, LABEL, NOVELTY } from './keys.js';
import { LabelEdits } from './label-edits.js';
import { MarkersView } from './markers-view.js';
import type { TransferLabelsOptions } from './panel.js';
import { ProgressView } from './progress-view.js';
import { RelabelView } from './relabel-view.js';
import { savedPredictions } from './restore.js';
import { RetrainView } from './retrain-view.js';
import { SaveView, type Annotation } from './save-view.js';

export class TransferLabels {
  private worker: Worker | null = null;
  private result: AnnotateResult | null = null;
  /** Current labels (predictions, then hand edits, undoable). */
  private labels: LabelEdits | null = null;
  /** A saliency request is out: its progress goes to the marker chart, not the run's line. */
  private explaining = false;
  /** Where restored predictions came from, until their model is loaded. */
  private restoredFrom = '';
  /** Saves waiting for the model's files. */
  private filesWanted: ((files: Record<string, Uint8Array> | null) => void)[] = [];
  /** The dot plot's markers are being found: their progress goes to the dot plot. */
  private dotting = false;
  /** A run (Annotate or Retrain) is under way. */
  private busy = false;
  private readonly form: FormView;
  private readonly progress = new ProgressView();
  private readonly confidence: ConfidenceView;
  private readonly compare: CompareView;
  private readonly markers: MarkersView;
  private readonly dotPlot: DotPlotView;
  private readonly relabel: RelabelView;
  private readonly retrain: RetrainView;
  /**
   * A retrain under way: the hand labels (with the names shown), the renamed classes, and the
   * labels before it.
   */
  private retraining: {
    corrections: NonNullable<AnnotateRequest['corrections']>;
    renamed: [string, string][];
    before: { codes: Int32Array; categories: readonly string[] };
  } | null = null;
  private readonly save: SaveView;
  /** The sections that show a result (hidden while a run goes). */
  private readonly results: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: ViewerApi,
    private readonly options: TransferLabelsOptions,
  ) {
    const data = api.data();
    this.form = new FormView(data.config, data.dataset, options.dataWorkerUrl, (message) =>
      this.progress.say(message),
    );
    this.confidence = new ConfidenceView(api);
    this.compare = new CompareView(api, (request) => this.ensureWorker().postMessage(request));
    this.markers = new MarkersView(api, (request) => {
      this.explaining = true;
      this.post(request);
    });
    this.dotPlot = new DotPlotView(api, (request) => {
      this.dotting = true;
      this.post(request);
    });
    this.relabel = new RelabelView(api, {
      relabel: (cells, name) => this.edit((l) => l.relabel(cells, name)),
      undo: () => this.edit((l) => l.undo()),
      redo: () => this.edit((l) => l.redo()),
    });
    this.retrain = new RetrainView(api, () => this.startRetrain());
    this.save = new SaveView(api, data.config, options.token, () => this.annotation());
    api.renameCategories?.(LABEL, (code, name) => void this.edit((l) => l.rename(code, name)));
    this.results = el('div', { id: 'tl-results', hidden: '' }, [
      this.confidence.element,
      this.compare.element,
      this.markers.element,
      this.dotPlot.element,
      this.relabel.element,
      this.retrain.element,
      this.save.element,
    ]);
  }

  render(): void {
    const setup = el('div', { class: 'form' }, [
      ...this.form.elements(),
      ...this.progress.elements(),
    ]);
    this.root.replaceChildren(setup, this.results);
    this.form.start({
      annotate: () => this.annotate(),
      cancel: () => this.post({ type: 'cancel' }),
    });
    void this.restore();
  }

  /**
   * Predictions an earlier save left in the query are the current result, with their markers;
   * the model saved beside the query is loaded (markers, Save) when it is still the one recorded.
   */
  private async restore(): Promise<void> {
    const saved = await savedPredictions(this.api.data()).catch(() => null);
    if (!saved || this.result) return;
    await this.showResult(saved.result, saved.from);
    if (saved.markers) this.markers.restore(saved.markers);
    const model = saved.model;
    if (model?.available) {
      this.restoredFrom = saved.from;
      this.ensureWorker().postMessage({
        type: 'load-model',
        source: {
          kind: 'model',
          url: new URL('/saved-model/', location.href).href,
          name: model.record.path,
        },
        query: this.api.data().dataset,
        geneKey: 'auto',
        wasmPaths: this.options.wasmPaths,
        backend: backendFromUrl(),
      } satisfies ToWorker);
    } else {
      this.dotPlot.progress('the dot plot needs the model that made these predictions: Annotate');
    }
    this.progress.say(
      `${saved.from}; ${model?.problem ?? (model ? 'loading its model…' : 'no model recorded')}`,
    );
  }

  /** The model as files, from the worker (null when it holds none). */
  private modelFiles(): Promise<Record<string, Uint8Array> | null> {
    if (!this.worker) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.filesWanted.push(resolve);
      this.post({ type: 'model-files' });
    });
  }

  // ------------------------------------------------------------------ worker

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.options.workerUrl, { type: 'module' });
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.onWorker(e.data);
    worker.onerror = (e) => {
      this.fail(`the training worker failed: ${e.message || 'unknown error'}`);
      this.worker?.terminate();
      this.worker = null;
    };
    this.worker = worker;
    return worker;
  }

  private annotate(corrections?: AnnotateRequest['corrections']): void {
    const choice = this.form.choice();
    if ('missing' in choice) return this.fail(choice.missing);
    if (
      !corrections &&
      this.labels?.dirty &&
      !confirm(
        `${this.labels.edited} hand edits are not saved; annotating again replaces them. ` +
          'Annotate anyway?',
      )
    ) {
      return;
    }
    this.results.hidden = true; // no saliency or save of old results while a run is going
    // The worker drops the explanations of the old model (their messages never come).
    this.explaining = this.dotting = false;
    this.setBusy(true);
    this.progress.starting();
    this.ensureWorker().postMessage({
      type: 'annotate',
      query: this.api.data().dataset,
      ...choice,
      seed: 0,
      wasmPaths: this.options.wasmPaths,
      backend: backendFromUrl(),
      ...(corrections ? { corrections } : {}),
    } satisfies ToWorker);
  }

  private onWorker(m: FromWorker): void {
    switch (m.type) {
      case 'backend':
        this.api.status(`TensorFlow.js backend: ${m.name}`);
        break;
      case 'stage':
        if (this.dotting) this.dotPlot.progress(describeProgress(m).message);
        else if (this.explaining) this.markers.progress(describeProgress(m).message);
        else this.progress.show(m);
        break;
      case 'start':
      case 'progress':
      case 'epoch':
        this.progress.show(m);
        break;
      case 'warning':
        this.progress.say(`warning: ${m.message}`);
        break;
      case 'result':
        void this.showResult(m);
        break;
      case 'saliency':
        this.explaining = false;
        this.markers.show(m);
        break;
      case 'model-loaded':
        document.body.dataset.modelLoaded = 'true';
        this.progress.say(`${this.restoredFrom}; its model ${m.name} is loaded`);
        if (this.labels && this.result && !this.busy) {
          this.dotPlot.start(this.labels, this.result.classNames);
        }
        break;
      case 'model-files':
        for (const resolve of this.filesWanted.splice(0)) resolve(m.files);
        break;
      case 'scores':
        this.compare.showScores(m);
        break;
      case 'class-markers':
        this.dotting = false;
        this.dotPlot.show(m);
        break;
      case 'cancelled':
        if (this.explaining) this.markers.progress('cancelled');
        if (this.dotting) this.dotPlot.progress('cancelled');
        this.explaining = this.dotting = false;
        this.setBusy(false);
        this.progress.cancelled();
        this.keepEdits();
        break;
      case 'error':
        if (this.explaining) this.markers.progress('failed: see the message above');
        if (this.dotting) this.dotPlot.progress('failed: see the message above');
        this.explaining = this.dotting = false;
        this.fail(withHint(m.message, m.hint));
        break;
    }
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.form.setBusy(busy);
    this.retrain.setBusy(busy);
    document.body.dataset.annotating = busy ? 'true' : 'false';
  }

  private fail(message: string): void {
    this.setBusy(false);
    this.progress.error(message);
    this.api.status(message);
    this.keepEdits();
  }

  /** A retrain that did not finish leaves the labels as they were, hand edits and all. */
  private keepEdits(): void {
    if (!this.retraining) return;
    this.retraining = null;
    this.results.hidden = false;
    this.retrain.say('the retrain did not finish: your labels are as they were');
  }

  // ------------------------------------------------------------------ result

  private async showResult(m: AnnotateResult, restored?: string): Promise<void> {
    this.result = m;
    this.labels = new LabelEdits(m.codes, m.categories);
    const retrained = this.retraining;
    this.retraining = null;
    this.relabel.say('');
    if (retrained) {
      // The renames and the hand labels stay (undoable edits on the new prediction).
      const labels = this.labels;
      for (const [from, to] of retrained.renamed)
        labels.rename(labels.categories.indexOf(from), to);
      const { rows, codes, names } = retrained.corrections;
      names.forEach((name, k) => {
        const cells: number[] = [];
        for (let j = 0; j < rows.length; j++) if (codes[j] === k) cells.push(rows[j]);
        labels.relabel(cells, name);
      });
      this.retrain.showChanges(retrained.before, this.labels, rows.length);
    }
    this.setBusy(false);
    if (restored) document.body.dataset.restored = 'true';
    else {
      this.progress.done(m.seconds, m.backend);
      this.markers.clear(); // they explained the model before this one
    }
    document.body.dataset.annotated = 'true';
    document.body.dataset.backend = m.backend;
    document.body.dataset.annotateSeconds = m.seconds.toFixed(1);
    this.publishLabels();
    this.api.addObsColumn(CONFIDENCE, { kind: 'numeric', values: m.confidence, range: [0, 1] });
    if (m.novelty.length > 0) {
      this.api.addObsColumn(NOVELTY, {
        kind: 'numeric',
        values: m.novelty,
        range: [...NOVELTY_COLOUR_RANGE],
      });
    }
    await this.api.colorBy(LABEL);
    this.results.hidden = false;
    this.markers.setClasses(m.classNames);
    // Unless Annotate was pressed again meanwhile (then its result starts the dot plot); restored
    // predictions start it once their model is loaded (the markers are the model's).
    if (!this.busy && !restored) this.dotPlot.start(this.labels, m.classNames);
    this.relabel.setClasses(m.classNames);
    // The column added above, or the file's own (restored predictions).
    const novelty = this.api
      .data()
      .columns()
      .some((c) => c.name === NOVELTY);
    this.confidence.show(m.confidence, novelty);
    this.api.status(
      restored
        ? `${restored}: ${m.codes.length.toLocaleString('en-US')} cells`
        : `annotated ${m.codes.length.toLocaleString('en-US')} cells in ${m.seconds.toFixed(1)} s (${m.backend})`,
    );
  }

  private publishLabels(): void {
    const { labels, result } = this;
    if (!labels || !result) return;
    const { codes, categories } = labels;
    // No colours given: the host colours labels by name, as in the file's columns.
    this.api.addObsColumn(LABEL, { kind: 'categorical', codes, categories });
    this.compare.show({ codes, categories, confidence: result.confidence });
    this.dotPlot.setLabels({ codes, categories });
    this.relabel.showHistory(labels);
  }

  /** Retrains with the hand labels; returns why it cannot, or null when it started. */
  private startRetrain(): string | null {
    const labels = this.labels;
    if (!labels) return 'annotate first';
    const choice = this.form.choice();
    if (!('missing' in choice) && choice.source.kind !== 'reference') {
      return 'retraining needs a reference: choose one as the source, not a saved model';
    }
    const corrections = labels.corrections();
    if (corrections.rows.length === 0) return 'relabel some cells by hand first';
    const renamed = labels.renamed();
    // A class renamed here is trained on under the reference's name for it.
    const original = new Map(renamed.map(([from, to]) => [to, from]));
    this.retraining = {
      corrections,
      renamed,
      before: { codes: Int32Array.from(labels.codes), categories: [...labels.categories] },
    };
    this.retrain.say(`retraining with ${corrections.rows.length} hand-labelled cells…`);
    this.annotate({ ...corrections, names: corrections.names.map((n) => original.get(n) ?? n) });
    return null;
  }

  /** Applies a change to the labels (an edit, undo or redo) and shows the labels again. */
  private async edit(change: (labels: LabelEdits) => unknown): Promise<LabelEdits | null> {
    if (!this.labels) return null;
    change(this.labels);
    this.publishLabels();
    await this.api.colorBy(LABEL);
    return this.labels;
  }

  private annotation(): Annotation | null {
    return (
      this.result &&
      this.labels && {
        result: this.result,
        labels: this.labels,
        markers: this.markers.shown(),
        modelFiles: () => this.modelFiles(),
      }
    );
  }
}

/** `?backend=webgl|wasm|cpu` in the page URL forces a TF.js backend (default: auto). */
function backendFromUrl(): 'auto' | 'webgl' | 'wasm' | 'cpu' {
  const b = new URLSearchParams(location.search).get('backend');
  return b === 'webgl' || b === 'wasm' || b === 'cpu' ? b : 'auto';
}
